"""Continuation and image-to-video: given frames become the quantized prefix of the output."""

import numpy as np
import pytest
import torch

from videoar.datasets import MovingDigits
from videoar.io.video import from_uint8, read_video, to_uint8, write_video
from videoar.models.sequence import build_teacher_forcing
from videoar.pipelines import GenerationError, generate
from videoar.pipelines.init_frames import choose_init_frames, fit_to_resolution


@pytest.fixture(scope='module')
def model(tiny_videoar):
    """13 frames of 16 x 16 (4 latent frames), scales 1x1, 1x2 and 2x2, a random head."""
    return tiny_videoar(
        quantizer=dict(scale_sizes=[(1, 1), (1, 2), (2, 2)]),
        num_frames=13,
        resolution=(16, 16),
        random_head=True,
    ).eval()


@pytest.fixture(scope='module')
def clip():
    """A MovingDigits clip at another resolution than the model's: (3, 13, 24, 32)."""
    return MovingDigits(split='val', length=2, num_frames=13, height=24, width=32)[0]['inputs']


def _quantized(model, frames):
    """Encode (B, 3, F0, H, W) frames and quantize them per latent frame: (B, d, T0, h, w)."""
    return build_teacher_forcing(model.encode(frames), model.quantizer).reconstructed


def test_continuation_keeps_the_encoded_init_frames(model, clip):
    out = generate(model, classes=[2, 5], init_video=clip, init_frames=5, seed=0, cfg_scale=2.0,
                   progress=False)  # fmt: skip
    assert out['videos'].shape == (2, 3, 13, 16, 16)
    init = out['init']
    assert init.shape == (2, 3, 5, 16, 16)
    torch.testing.assert_close(init[0], fit_to_resolution(clip[:, :5], (16, 16)))
    # the first two latent frames of the output are the quantized encoding of the given frames
    given = _quantized(model, init)
    torch.testing.assert_close(out['latents'][:, :, :2], given, atol=1e-6, rtol=0)
    assert out['settings']['sampling_steps_per_video'] == 2 * 3  # only the two new frames
    # the decoded output's first 5 frames are the reconstruction of the given frames
    torch.testing.assert_close(out['videos'][:, :, :5], model.decode(given), atol=1e-5, rtol=1e-4)
    # the continuation differs between seeds, the given part does not
    other = generate(model, classes=[2, 5], init_video=clip, init_frames=5, seed=1,
                     cfg_scale=2.0, progress=False)  # fmt: skip
    torch.testing.assert_close(other['latents'][:, :, :2], given, atol=1e-6, rtol=0)
    assert not torch.equal(other['latents'][:, :, 2:], out['latents'][:, :, 2:])


def test_continuation_from_a_video_file_and_image_to_video_from_a_png(model, clip, tmp_path):
    path = tmp_path / 'init.mp4'
    write_video(path, clip, fps=8)
    out = generate(model, classes=[1], init_video=str(path), seed=0, progress=False)
    # default: as many given frames as leave one latent frame to generate (1 + 4 * 2 = 9)
    assert out['settings']['init_frames'] == 9 and out['settings']['continuation'] == 'video'
    expected = fit_to_resolution(from_uint8(read_video(path, num_frames=9)), (16, 16))
    torch.testing.assert_close(out['init'][0], expected)
    torch.testing.assert_close(out['latents'][:, :, :3], _quantized(model, out['init']),
                               atol=1e-6, rtol=0)  # fmt: skip

    from PIL import Image  # optional dependency

    png = tmp_path / 'first.png'
    Image.fromarray(to_uint8(clip[:, :1])[0]).save(png)
    still = generate(model, classes=[1], init_image=str(png), seed=0, progress=False)
    assert still['init'].shape == (1, 3, 1, 16, 16)
    assert still['settings']['continuation'] == 'image'
    image = torch.from_numpy(np.array(Image.open(png))).permute(2, 0, 1)[:, None].float()
    torch.testing.assert_close(still['init'][0], fit_to_resolution(image / 127.5 - 1, (16, 16)))
    torch.testing.assert_close(still['latents'][:, :, :1], _quantized(model, still['init']),
                               atol=1e-6, rtol=0)  # fmt: skip
    assert still['settings']['sampling_steps_per_video'] == 3 * 3


def test_unreadable_init_files_and_bad_frame_counts_are_refused(model, clip, tmp_path, monkeypatch):
    monkeypatch.setattr(
        model.transformer, 'forward', lambda *a, **k: pytest.fail('sampled before validating')
    )
    bad = tmp_path / 'broken.mp4'
    bad.write_bytes(b'this is not a video')
    with pytest.raises(GenerationError, match=r'broken\.mp4.*not a readable video container'):
        generate(model, classes=[1], init_video=str(bad), progress=False)
    empty = tmp_path / 'empty.mp4'
    empty.write_bytes(b'')
    with pytest.raises(GenerationError, match=r'empty\.mp4.*empty file'):
        generate(model, classes=[1], init_video=str(empty), progress=False)
    with pytest.raises(GenerationError, match=r'cannot read init image .*nope\.png.*no such file'):
        generate(model, classes=[1], init_image=str(tmp_path / 'nope.png'), progress=False)
    with pytest.raises(GenerationError, match=r'init_frames=4 is not of the form 1 \+ 4\*k'):
        generate(model, classes=[1], init_video=clip, init_frames=4, progress=False)
    with pytest.raises(GenerationError, match='leaves nothing to generate'):
        generate(model, classes=[1], init_video=clip, init_frames=13, progress=False)
    with pytest.raises(GenerationError, match='not both'):
        generate(model, classes=[1], init_video=clip, init_image=clip[:, 0], progress=False)


def test_choose_init_frames():
    assert choose_init_frames(13, 4, 3, None) == 9  # 3 of 4 latent frames, one left to make
    assert choose_init_frames(7, 4, 3, None) == 5  # as many as the video has
    assert choose_init_frames(1, 4, 3, None) == 1
    assert choose_init_frames(13, 4, 3, 5) == 5
    with pytest.raises(GenerationError, match='only 7 frames'):
        choose_init_frames(7, 4, 3, 9)
