"""The video CFG schedules return their documented values at chosen (t, k)."""

import pytest

from videoar.models.sampling.video_cfg_schedules import (
    DecreasingCFG,
    LinearScaleCFG,
    TemporalSpatialCFG,
)
from videoar.registry import CFG_SCHEDULES
from videoar.utils import ConfigError, build_checked


def test_linear_scale_cfg_rises_over_scales_and_ignores_frames():
    schedule = LinearScaleCFG(max_scale=4.0)
    # K = 4: 1, 2, 3, 4 in every frame
    for t in (0, 3):
        assert [schedule(t, k, 5, 4) for k in range(4)] == pytest.approx([1.0, 2.0, 3.0, 4.0])
    assert LinearScaleCFG(max_scale=3.0, start=2.0)(1, 2, 2, 5) == pytest.approx(2.5)
    assert schedule(0, 0, 1, 1) == 4.0  # a single scale is the finest one


def test_temporal_spatial_cfg_matches_the_paper_example():
    schedule = TemporalSpatialCFG()  # 1 -> 5 over frames at k = 0, rising to 10 in each frame
    frames, scales = 5, 6
    table = schedule.table(frames, scales)
    # first-scale ramp over the frames
    assert [row[0] for row in table] == pytest.approx([1.0, 2.0, 3.0, 4.0, 5.0])
    # the in-frame maximum at the finest scale of every frame
    assert [row[-1] for row in table] == pytest.approx([10.0] * frames)
    # linear inside a frame: frame 0 steps by 9/5, frame 4 by 1
    assert table[0] == pytest.approx([1.0, 2.8, 4.6, 6.4, 8.2, 10.0])
    assert table[4] == pytest.approx([5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
    assert schedule(2, 3, frames, scales) == pytest.approx(3.0 + 7.0 * 3 / 5)
    assert schedule.first_scale(2, frames) == pytest.approx(3.0)
    # a single frame uses first_start; custom values
    assert schedule(0, 0, 1, 6) == pytest.approx(1.0)
    custom = TemporalSpatialCFG(first_start=2.0, first_end=4.0, max_scale=6.0)
    assert custom(1, 1, 3, 3) == pytest.approx(3.0 + 3.0 * 0.5)


def test_decreasing_cfg_is_linear_in_the_block_index():
    schedule = DecreasingCFG()  # 5 -> 3
    frames, scales = 5, 4  # 20 blocks
    assert schedule(0, 0, frames, scales) == pytest.approx(5.0)
    assert schedule(4, 3, frames, scales) == pytest.approx(3.0)
    assert schedule(2, 1, frames, scales) == pytest.approx(5.0 - 2.0 * 9 / 19)
    # non-increasing in sampling order, and the frame step equals K scale steps
    flat = [g for row in schedule.table(frames, scales) for g in row]
    assert all(a > b for a, b in zip(flat, flat[1:]))
    step = flat[0] - flat[1]
    assert schedule(1, 0, frames, scales) == pytest.approx(5.0 - scales * step)
    assert schedule(0, 0, 1, 1) == 5.0


@pytest.mark.parametrize('name', ['LinearScaleCFG', 'TemporalSpatialCFG', 'DecreasingCFG'])
def test_schedules_build_from_the_registry_and_are_not_trivial(name):
    schedule = build_checked(CFG_SCHEDULES, dict(type=name), 'cfg_schedule')
    assert not schedule.is_trivial(3, 3)
    with pytest.raises(ValueError, match='t=3'):
        schedule(3, 0, 3, 3)


def test_schedules_reject_negative_guidance_and_unknown_keys():
    with pytest.raises(ConfigError, match='max_scale'):
        TemporalSpatialCFG(max_scale=-1)
    with pytest.raises(ConfigError, match='did you mean'):
        build_checked(CFG_SCHEDULES, dict(type='DecreasingCFG', stat=4.0), 'cfg_schedule')
