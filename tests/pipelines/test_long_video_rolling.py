"""Long videos with the rolling KV cache (the default long-video mode of the pipeline)."""

import pytest
import torch

from videoar.models.sampling import sample_video
from videoar.pipelines import generate
from videoar.pipelines.errors import GenerationError


@pytest.fixture(scope='module')
def model(tiny_videoar):
    """Trained on 9 frames of 16 x 16 (3 latent frames), scales 1x1 and 2x2, a random head."""
    return tiny_videoar(
        quantizer=dict(scale_sizes=[(1, 1), (2, 2)]), resolution=(16, 16), random_head=True
    ).eval()


def test_rolling_long_video_is_one_rolling_sampling_run(model):
    num_frames = 1 + 4 * 6  # 7 latent frames, the trained window is 3
    out = generate(model, classes=[1, 8], num_frames=num_frames, cfg_scale=2.0, seed=0,
                   keep_windows=True, progress=False)  # fmt: skip
    report = out['windows']
    assert report['mode'] == 'rolling' and report['overlap'] == 0
    assert report['num_sampling_steps'] == 7 * model.num_scales
    assert out['videos'].shape == (2, 3, num_frames, 16, 16)
    assert torch.isfinite(out['videos']).all()
    part = out['window_outputs'][0]
    assert len(part) == 1
    # the same run through the sampler directly: same labels, and the video decodes the latent
    gen = torch.Generator().manual_seed(0)
    direct = sample_video(model, {'label': torch.tensor([1, 8])}, num_frames=num_frames,
                          cfg_scale=2.0, generator=gen, decode=False, window=3)  # fmt: skip
    assert torch.equal(part[0]['labels'], direct['labels'])
    torch.testing.assert_close(out['latents'], direct['latent'])
    torch.testing.assert_close(out['videos'], model.decode(direct['latent']).clamp(-1, 1))


def test_reencode_mode_is_kept_and_differs(model):
    kwargs = dict(classes=[3], num_frames=1 + 4 * 5, seed=1, progress=False)
    rolling = generate(model, **kwargs)
    reencode = generate(model, long_mode='reencode', **kwargs)
    assert reencode['windows']['mode'] == 'reencode' and reencode['windows']['num_windows'] == 3
    # the first window is the same run; later frames come from different caches
    assert torch.equal(rolling['latents'][:, :, :3], reencode['latents'][:, :, :3])
    assert not torch.equal(rolling['latents'][:, :, 3:], reencode['latents'][:, :, 3:])
    with pytest.raises((GenerationError, ValueError), match='long'):
        generate(model, long_mode='chunked', **kwargs)
