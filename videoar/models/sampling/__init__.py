"""Sampling pieces: CFG schedules and per-bit / per-token samplers."""

from .cfg_schedules import BaseCFGSchedule, ConstantCFG
from .samplers import LabelSampler, filter_logits, sample_bits, sample_logits, sample_tokens
from .video_cfg_schedules import DecreasingCFG, LinearScaleCFG, TemporalSpatialCFG

__all__ = [
    'BaseCFGSchedule',
    'ConstantCFG',
    'DecreasingCFG',
    'LabelSampler',
    'LinearScaleCFG',
    'TemporalSpatialCFG',
    'filter_logits',
    'sample_bits',
    'sample_logits',
    'sample_tokens',
]
