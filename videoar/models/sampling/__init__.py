"""Sampling: the block-loop sampler (``sample_video``), CFG schedules and per-bit / per-token
label samplers."""

from .cfg_schedules import BaseCFGSchedule, ConstantCFG, resolve_cfg_schedule
from .rolling import RollingWindow, relative_rotation
from .sampler import BlockRunner, sample_video
from .samplers import LabelSampler, filter_logits, sample_bits, sample_logits, sample_tokens
from .video_cfg_schedules import DecreasingCFG, LinearScaleCFG, TemporalSpatialCFG

__all__ = [
    'BaseCFGSchedule',
    'BlockRunner',
    'ConstantCFG',
    'DecreasingCFG',
    'LabelSampler',
    'LinearScaleCFG',
    'RollingWindow',
    'TemporalSpatialCFG',
    'filter_logits',
    'relative_rotation',
    'resolve_cfg_schedule',
    'sample_bits',
    'sample_logits',
    'sample_tokens',
    'sample_video',
]
