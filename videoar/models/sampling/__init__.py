"""Sampling pieces: CFG schedules and per-bit / per-token samplers."""

from .cfg_schedules import BaseCFGSchedule, ConstantCFG
from .samplers import LabelSampler, filter_logits, sample_bits, sample_logits, sample_tokens

__all__ = [
    'BaseCFGSchedule',
    'ConstantCFG',
    'LabelSampler',
    'filter_logits',
    'sample_bits',
    'sample_logits',
    'sample_tokens',
]
