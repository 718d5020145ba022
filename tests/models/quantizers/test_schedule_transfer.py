"""Quantizer weights move between scale schedules (curriculum stages at other resolutions)."""

import torch

from videoar.registry import QUANTIZERS


def _bsq(scales, init):
    return QUANTIZERS.build(
        dict(type='MultiScaleBSQ', embed_dim=4, scale_sizes=scales, scale_init=init)
    )


def test_bsq_scales_follow_their_sizes_across_schedules():
    trained = _bsq([1, 2, 3, 4], [0.9, 0.5, 0.3, 0.2])
    small = _bsq([1, 2], 1.0)
    small.load_state_dict(trained.state_dict())  # strict
    assert torch.allclose(small.log_scales.exp(), torch.tensor([0.9, 0.5]))
    assert small.scale_schedule.tolist() == [[1, 1], [2, 2]]

    bigger = _bsq([1, 2, 3, 4, 6], 1.0)
    bigger.load_state_dict(trained.state_dict())
    # (6, 6) is new: it takes the saved scale at the closest relative size, the final (4, 4)
    assert torch.allclose(bigger.log_scales.exp(), torch.tensor([0.9, 0.5, 0.3, 0.2, 0.2]))


def test_same_schedule_round_trip_is_unchanged_and_old_checkpoints_load():
    trained = _bsq([1, 2, 3], [0.7, 0.4, 0.1])
    copy = _bsq([1, 2, 3], 1.0)
    copy.load_state_dict(trained.state_dict())
    assert torch.allclose(copy.log_scales, trained.log_scales)
    old = {k: v for k, v in trained.state_dict().items() if k != 'scale_schedule'}
    again = _bsq([1, 2, 3], 1.0)
    again.load_state_dict(old)  # a checkpoint written before the schedule was saved
    assert torch.allclose(again.log_scales, trained.log_scales)
