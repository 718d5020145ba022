"""Positional encodings (POS_ENCODINGS): learned absolute, RoPE-2D, RoPE-3D, Multi-scale Temporal RoPE."""

from .base import (
    BasePositionalEncoding,
    apply_rotary,
    apply_rotary_tables,
    rotary_tables,
    rotate_half,
)
from .learned import LearnedAbsolutePE, resize_scale_table
from .rope import AxialRoPE, MultiScaleTemporalRoPE, RoPE2D, RoPE3D, default_axis_split

__all__ = [
    'AxialRoPE',
    'BasePositionalEncoding',
    'LearnedAbsolutePE',
    'MultiScaleTemporalRoPE',
    'RoPE2D',
    'RoPE3D',
    'apply_rotary',
    'apply_rotary_tables',
    'default_axis_split',
    'resize_scale_table',
    'rotary_tables',
    'rotate_half',
]
