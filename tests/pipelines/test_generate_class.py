"""generate(): class-conditional and unconditional videos, validation before any work."""

import json

import pytest
import torch
from mmengine.config import Config

from videoar.models.sampling.sampler import sample_video
from videoar.models.sampling.video_cfg_schedules import TemporalSpatialCFG
from videoar.pipelines import GenerationError, generate, init_model
from videoar.pipelines.conditions import class_names_from_config, resolve_classes
from videoar.pipelines.init_frames import fit_to_resolution
from videoar.pipelines.long_video import WindowCFG

DATASET = dict(type='MovingDigits', split='train', length=16, num_frames=9, height=16, width=24)


@pytest.fixture
def config(tiny_videoar_config):
    """The tiny class-conditional VideoAR (9 frames of 16 x 24, 10 classes) and its dataset."""
    return dict(model=tiny_videoar_config(), train_dataloader=dict(dataset=DATASET))


@pytest.fixture
def model(config, randomise_head):
    torch.manual_seed(0)
    return randomise_head(init_model(config), seed=0)


def _forbid_sampling(model, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError('sampling started before the request was validated')

    monkeypatch.setattr(model.transformer, 'forward', fail)


def test_class_conditional_generation_by_index_and_name(model):
    out = generate(model, classes=[3, '7'], num_samples=2, cfg_schedule='TemporalSpatialCFG',
                   seed=0, progress=False)  # fmt: skip
    videos = out['videos']
    assert videos.shape == (4, 3, 9, 16, 24) and videos.abs().max() <= 1
    assert [c['class'] for c in out['conditions']] == [3, 3, 7, 7]
    assert out['settings']['classes'] == [3, 7] and out['settings']['class_names'] == ['3', '7']
    assert out['settings']['cfg_schedule']['type'] == 'TemporalSpatialCFG'
    assert out['windows']['num_windows'] == 1 and out['windows']['joins']['pixel'] == []
    assert out['settings']['sampling_steps_per_video'] == 3 * 3
    json.dumps(out['settings'])
    # the classes reach the sampler: the same seed through the model gives the same videos
    gen = torch.Generator().manual_seed(0)
    direct = sample_video(model, {'label': torch.tensor([3, 3, 7, 7])}, generator=gen,
                          cfg_schedule=WindowCFG(TemporalSpatialCFG(), 0, 3))  # fmt: skip
    assert torch.equal(direct['video'], videos)


def test_unconditional_generation_uses_the_null_condition(model):
    out = generate(model, num_samples=3, cfg_scale=3.0, seed=2, progress=False, batch_size=2)
    assert out['videos'].shape == (3, 3, 9, 16, 24)
    assert out['settings']['mode'] == 'unconditional'
    again = generate(model, num_samples=3, cfg_scale=3.0, seed=2, progress=False, batch_size=2)
    assert torch.equal(out['latents'], again['latents'])


def test_unknown_class_lists_the_valid_ones_before_any_work(model, monkeypatch):
    _forbid_sampling(model, monkeypatch)
    with pytest.raises(GenerationError, match=r'unknown class 12.*0\.\.9.*0=0, 1=1'):
        generate(model, classes=[3, 12], progress=False)
    with pytest.raises(GenerationError, match=r"unknown class 'seven'"):
        generate(model, classes=['seven'], progress=False)
    with pytest.raises(GenerationError, match='class-conditional.*give classes, not prompts'):
        generate(model, prompts=['digit 3 moving up'], progress=False)
    with pytest.raises(GenerationError, match='num_frames=10 is not of the form 1 \\+ 4\\*k'):
        generate(model, classes=[1], num_frames=10, progress=False)
    with pytest.raises(GenerationError, match='top_p'):
        generate(model, classes=[1], top_p=0.0, progress=False)
    with pytest.raises(GenerationError, match='cannot read init video .*missing.mp4.*no such file'):
        generate(model, classes=[1], init_video='missing.mp4', progress=False)


def test_class_names_come_from_the_dataset_metainfo_or_num_classes(config):
    assert class_names_from_config(Config(config)) == [str(i) for i in range(10)]
    named = Config(dict(model=config['model'], class_names=['a', 'b']))
    assert class_names_from_config(named) == ['a', 'b']
    names = ['ApplyEyeMakeup', 'Archery', 'Basketball']
    assert resolve_classes(['archery', 2, '0'], 3, names) == [1, 2, 0]
    with pytest.raises(GenerationError, match='0=ApplyEyeMakeup, 1=Archery'):
        resolve_classes(['Bowling'], 3, names)
    with pytest.raises(GenerationError, match=r'valid classes are 0\.\.4'):
        resolve_classes([5], 5, None)


def test_fit_to_resolution_resizes_the_shorter_side_and_center_crops():
    video = torch.linspace(-1, 1, 40).view(1, 1, 1, 40).expand(3, 2, 20, 40).contiguous()
    out = fit_to_resolution(video, (10, 10))
    assert out.shape == (3, 2, 10, 10)
    # scaled by 1/2 to 10 x 20, then the middle 10 columns (source columns 10..29) are kept
    assert out[0, 0, 0, 0] > video[0, 0, 0, 9] and out[0, 0, 0, -1] < video[0, 0, 0, 30]
    torch.testing.assert_close(out.mean(), torch.tensor(0.0), atol=1e-5, rtol=0)
    assert torch.equal(fit_to_resolution(out, (10, 10)), out)
