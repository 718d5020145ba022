"""Contract of every registered CFG schedule (plugins included)."""

import math

import pytest

import videoar.models.sampling  # noqa: F401  (registers the built-in schedules)
from videoar.models.sampling import BaseCFGSchedule
from videoar.registry import CFG_SCHEDULES


@pytest.mark.parametrize('name', sorted(CFG_SCHEDULES.module_dict))
def test_every_schedule_gives_a_finite_nonnegative_scale_per_block(name):
    try:
        schedule = CFG_SCHEDULES.build(dict(type=name))
    except TypeError as err:
        pytest.skip(f'{name} has required arguments: {err}')
    assert isinstance(schedule, BaseCFGSchedule)
    for frames, scales in ((1, 1), (5, 6), (9, 10)):
        table = schedule.table(frames, scales)
        assert len(table) == frames and all(len(row) == scales for row in table)
        for t in range(frames):
            for k in range(scales):
                gamma = schedule(t, k, frames, scales)
                assert isinstance(gamma, float) and math.isfinite(gamma) and gamma >= 0
                assert table[t][k] == gamma
