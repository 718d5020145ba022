"""Long videos by windows: length, no NaNs, and windows joining where the report says."""

import pytest
import torch

from videoar.models.sampling.video_cfg_schedules import TemporalSpatialCFG
from videoar.models.sequence import build_teacher_forcing
from videoar.pipelines import generate, plan_windows
from videoar.pipelines.long_video import WindowCFG
from videoar.utils import ConfigError


@pytest.fixture(scope='module')
def model(tiny_videoar):
    """Trained on 9 frames of 16 x 16 (3 latent frames), scales 1x1 and 2x2, a random head."""
    return tiny_videoar(
        quantizer=dict(scale_sizes=[(1, 1), (2, 2)]), resolution=(16, 16), random_head=True
    ).eval()


def test_plan_windows_indices():
    windows = plan_windows(9, window=5, overlap=1, temporal_stride=4)
    assert [(w['latent_start'], w['latent_end']) for w in windows] == [(0, 5), (4, 9)]
    second = windows[1]
    assert second['new_latent_start'] == 5 and second['prefix_latent_frames'] == 1
    assert second['prefix_pixel_range'] == [16, 17]  # the last frame of window 0, re-encoded
    assert (second['pixel_start'], second['new_pixel_start'], second['pixel_end']) == (16, 17, 33)
    assert second['num_frames'] == 17
    # overlap 2, a given prefix of 2 latent frames, and a short last window
    windows = plan_windows(8, window=4, overlap=2, initial_frames=2, temporal_stride=4)
    spans = [(w['latent_start'], w['new_latent_start'], w['latent_end']) for w in windows]
    assert spans == [(0, 2, 4), (2, 4, 6), (4, 6, 8)]
    assert windows[0]['new_pixel_start'] == 5 and windows[0]['prefix_pixel_range'] is None
    assert windows[1]['prefix_pixel_range'] == [8, 13]  # 1 + 4 * (2 - 1) frames before the join
    assert windows[-1]['pixel_end'] == 1 + 4 * 7
    with pytest.raises(ConfigError, match='overlap=3'):
        plan_windows(8, window=3, overlap=3)
    with pytest.raises(ConfigError, match='leave nothing to generate'):
        plan_windows(8, window=3, overlap=1, initial_frames=3)


def test_window_cfg_follows_the_whole_video():
    base = TemporalSpatialCFG()
    shifted = WindowCFG(base, offset=4, total_frames=9)
    assert shifted(1, 0, 5, 3) == base(5, 0, 9, 3) == pytest.approx(1.0 + 4.0 * 5 / 8)
    assert shifted.table(5, 3)[0] == base.table(9, 3)[4]


@pytest.mark.parametrize('overlap', [1, 2])
def test_long_video_has_the_requested_length_and_joins_where_reported(model, overlap):
    num_frames = 1 + 4 * 5  # 6 latent frames, twice the trained 3
    result = generate(model, classes=[1, 8], num_frames=num_frames, overlap=overlap,
                      long_mode='reencode',
                      cfg_schedule=TemporalSpatialCFG(), seed=0, keep_windows=True,
                      progress=False)  # fmt: skip
    video, latent, report = result['videos'], result['latents'], result['windows']
    assert len(result['window_outputs']) == 1  # one batch of two videos
    steps = report['num_sampling_steps']
    assert result['settings']['sampling_steps_per_video'] == steps
    assert video.shape == (2, 3, num_frames, 16, 16)
    assert torch.isfinite(video).all() and torch.isfinite(latent).all()
    assert latent.shape == (2, 4, 6, 2, 2)
    windows = report['windows']
    assert windows[-1]['latent_end'] == 6 and report['num_windows'] == len(windows)
    assert all(w['latent_end'] - w['latent_start'] <= 3 for w in windows)
    new_frames = sum(w['latent_end'] - w['new_latent_start'] for w in windows)
    assert new_frames == 6 and steps == 6 * model.num_scales
    assert report['joins']['pixel'] == [w['new_pixel_start'] for w in windows[1:]]
    # window 0 is the start of the video; every later window's new frames sit at its join
    parts = result['window_outputs'][0]
    assert torch.equal(video[:, :, : windows[0]['pixel_end']], parts[0]['video'])
    for spec, part in zip(windows[1:], parts[1:]):
        join, end = spec['new_pixel_start'], spec['pixel_end']
        drop = 1 + 4 * (overlap - 1)  # the re-decoded overlap
        assert part['video'].shape[2] == drop + (end - join)
        assert torch.equal(video[:, :, join:end], part['video'][:, :, drop:])
        # the window's prefix is the re-encoding of the pixel frames right before the join
        lo, hi = spec['prefix_pixel_range']
        assert hi == join and hi - lo == drop
        torch.testing.assert_close(part['prefix_latent'], model.encode(video[:, :, lo:hi]))
        tpf = 1 + 4  # tokens per latent frame (1x1 + 2x2)
        given = build_teacher_forcing(part['prefix_latent'], model.quantizer).labels
        assert torch.equal(part['labels'][:, : overlap * tpf], given)
        # the stitched latent holds the window's new latent frames at their global indices
        new = spec['latent_end'] - spec['new_latent_start']
        stitched = latent[:, :, spec['new_latent_start'] : spec['latent_end']]
        torch.testing.assert_close(stitched, part['latent'][:, :, -new:])


def test_generate_long_video_with_a_continued_start(model):
    clip = torch.rand(3, 5, 16, 16) * 2 - 1
    out = generate(model, classes=[4], init_video=clip, num_frames=25, overlap=1, seed=3,
                   cfg_schedule='LinearScaleCFG', progress=False)  # fmt: skip
    assert out['videos'].shape == (1, 3, 25, 16, 16) and torch.isfinite(out['videos']).all()
    report = out['windows']
    # 7 latent frames: window 0 = [0, 3) after 2 given frames, then [2, 5), [4, 7)
    assert [(w['latent_start'], w['latent_end']) for w in report['windows']] == [
        (0, 3),
        (2, 5),
        (4, 7),
    ]
    assert report['joins'] == dict(pixel=[9, 17], latent=[3, 5])
    assert out['settings']['long_video'] and out['settings']['sampling_steps_per_video'] == 5 * 2
    quantized = build_teacher_forcing(model.encode(out['init']), model.quantizer).reconstructed
    torch.testing.assert_close(out['latents'][:, :, :2], quantized, atol=1e-6, rtol=0)
