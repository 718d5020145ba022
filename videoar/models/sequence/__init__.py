"""The (frame, scale) sequence layout and the teacher-forcing pyramid of a video."""

from .layout import LayoutCache, SequenceLayout, get_layout, normalize_scale_sizes
from .teacher_forcing import (
    FramePyramid,
    block_input,
    build_teacher_forcing,
    draw_randint,
    draw_uniform,
    flatten_labels,
    flatten_tokens,
    flip_labels,
    unflatten_labels,
    unflatten_tokens,
)

__all__ = [
    'FramePyramid',
    'LayoutCache',
    'SequenceLayout',
    'block_input',
    'build_teacher_forcing',
    'draw_randint',
    'draw_uniform',
    'flatten_labels',
    'flatten_tokens',
    'flip_labels',
    'get_layout',
    'normalize_scale_sizes',
    'unflatten_labels',
    'unflatten_tokens',
]
