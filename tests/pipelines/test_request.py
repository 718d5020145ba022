"""GenerationRequest: every option is checked before any sampling, with or without a model."""

import pytest
import torch

from videoar.models.sampling import ConstantCFG
from videoar.pipelines import GenerationError, GenerationRequest, generate
from videoar.pipelines import long_video as long_video_module
from videoar.registry import MODELS


@pytest.fixture(scope='module')
def model_config(tiny_videoar_config):
    """9 frames of 16 x 16 (3 latent frames), scales 1x1 and 2x2, a 1-layer transformer."""
    return tiny_videoar_config(
        quantizer=dict(scale_sizes=[(1, 1), (2, 2)]),
        transformer=dict(depth=1),
        resolution=(16, 16),
    )


@pytest.fixture(scope='module')
def model(model_config):
    torch.manual_seed(0)
    return MODELS.build(model_config).eval()


@pytest.fixture
def no_sampling(model, monkeypatch):
    """Fail the test if the sampler or the transformer runs."""

    def fail(*args, **kwargs):
        raise AssertionError('sampling started before the request was validated')

    monkeypatch.setattr(long_video_module, 'sample_video', fail)
    monkeypatch.setattr(model.transformer, 'forward', fail)
    return model


# (options, message) per option: every one is refused before any sampling
BAD_OPTIONS = [
    (dict(classes=[]), 'classes is empty'),
    (dict(classes=[10]), r'unknown class 10; valid classes are 0\.\.9'),
    (dict(classes=[True]), 'unknown class True'),
    (dict(prompts=['digit 3']), 'class-conditional.*give classes, not prompts'),
    (dict(prompts=[]), 'prompts is empty'),
    (dict(prompts=['a', 3]), 'prompt 1 must be a string'),
    (dict(classes=[1], prompts=['a']), 'give classes or prompts, not both'),
    (dict(num_samples=0), 'num_samples must be an int >= 1'),
    (dict(num_samples=1.5), 'num_samples must be an int >= 1'),
    (dict(num_frames=8), r'num_frames=8 is not of the form 1 \+ 4\*k'),
    (dict(cfg_schedule='NoSuchCFG'), 'cfg_schedule'),
    (dict(cfg_schedule=3), 'cfg_schedule must be a name, a dict or a schedule'),
    (dict(cfg_scale=2.0, cfg_schedule='ConstantCFG'), 'not both'),
    (dict(seed=0.5), 'seed must be an int or None'),
    (dict(init_video='missing.mp4'), r"cannot read init video 'missing\.mp4': no such file"),
    (dict(init_image='missing.png'), r"cannot read init image 'missing\.png': no such file"),
    (dict(init_video=torch.zeros(3, 5, 16, 16), init_image=torch.zeros(3, 16, 16)), 'not both'),
    (dict(init_video=torch.zeros(3, 5, 16, 16, dtype=torch.uint8)), 'must be float'),
    (dict(init_video=torch.zeros(2, 5, 16, 16)), r'must be \(3, F, H, W\)'),
    (dict(init_video=torch.zeros(2, 3, 5, 16, 16), num_samples=3), 'holds 2 videos for 3'),
    (dict(init_frames=5), 'init_frames needs init_video or init_image'),
    (dict(init_video=torch.zeros(3, 9, 16, 16), init_frames=4), r'init_frames=4 is not of'),
    (dict(init_video=torch.zeros(3, 9, 16, 16), init_frames=9), 'leaves nothing to generate'),
    (dict(init_video=torch.zeros(3, 5, 16, 16), num_frames=1), 'leave nothing to generate'),
    (dict(top_k=-1), 'top_k must be an int >= 0'),
    (dict(top_p=1.5), r'top_p must be in \(0, 1\]'),
    (dict(temperature=-0.1), 'temperature must be >= 0'),
    (dict(overlap=0), 'overlap must be an int >= 1'),
    (dict(num_frames=17, overlap=3), 'overlap=3 must be smaller than the window of 3'),
    (dict(schedule_span='clip'), r"schedule_span must be one of \('video', 'window'\)"),
    (dict(batch_size=0), 'batch_size must be an int >= 1'),
    (dict(colour='red'), r"unknown generation option\(s\) \['colour'\]"),
]


BAD_IDS = [f'{i}-{"-".join(options)}' for i, (options, _) in enumerate(BAD_OPTIONS)]


@pytest.mark.parametrize('options, message', BAD_OPTIONS, ids=BAD_IDS)
def test_every_option_is_checked_before_any_sampling(no_sampling, options, message):
    with pytest.raises(GenerationError, match=message):
        generate(no_sampling, progress=False, **options)


def test_a_request_checks_itself_without_a_model():
    request = GenerationRequest(classes=3, prompts=None, seed=None)
    assert request.classes == [3] and request.mode == 'class' and not request.has_init
    assert GenerationRequest(prompts='digit 3').prompts == ['digit 3']
    assert GenerationRequest().mode == 'unconditional'
    with pytest.raises(GenerationError, match='prompt 0 is empty'):
        GenerationRequest(prompts=['  '])
    with pytest.raises(GenerationError, match='top_p'):
        GenerationRequest(top_p=0.0)
    with pytest.raises(GenerationError, match="unknown generation option.*'frames'.*num_frames"):
        GenerationRequest.from_kwargs(frames=17)


def test_a_request_object_gives_the_same_videos_as_keywords(model):
    options = dict(classes=[2, 4], cfg_schedule=ConstantCFG(2.0), seed=1, progress=False)
    by_keywords = generate(model, **options)
    by_request = generate(model, request=GenerationRequest(**options))
    assert torch.equal(by_keywords['videos'], by_request['videos'])
    timing = ('seconds', 'seconds_per_video')
    assert {k: v for k, v in by_keywords['settings'].items() if k not in timing} == {
        k: v for k, v in by_request['settings'].items() if k not in timing
    }
    with pytest.raises(GenerationError, match='give a request or options, not both'):
        generate(model, request=GenerationRequest(**options), seed=2)


def test_class_checks_come_before_the_weights_are_loaded(model_config, tmp_path):
    """With a config, an unknown class is reported even when the checkpoint does not exist."""
    config = dict(model=model_config)
    missing = str(tmp_path / 'missing.pth')
    with pytest.raises(GenerationError, match='unknown class 11'):
        generate(config, missing, classes=[11], progress=False)
    with pytest.raises(GenerationError, match='class-conditional'):
        generate(config, missing, prompts=['digit 3'], progress=False)
    with pytest.raises(GenerationError, match='missing.pth.*does not exist'):
        generate(config, missing, classes=[1], progress=False)
