"""The (frame, scale) sequence layout, the residual pyramid and teacher forcing of a video."""

from .layout import LayoutCache, SequenceLayout, get_layout, normalize_scale_sizes
from .pyramid import (
    ResidualPyramid,
    blocks_to_sequence,
    flatten_labels,
    flatten_tokens,
    inputs_from_labels,
    labels_to_latent,
    unflatten_labels,
    unflatten_tokens,
)
from .teacher_forcing import (
    FramePyramid,
    build_teacher_forcing,
    draw_randint,
    draw_uniform,
    flip_labels,
)

__all__ = [
    'FramePyramid',
    'LayoutCache',
    'ResidualPyramid',
    'SequenceLayout',
    'blocks_to_sequence',
    'build_teacher_forcing',
    'draw_randint',
    'draw_uniform',
    'flatten_labels',
    'flatten_tokens',
    'flip_labels',
    'get_layout',
    'inputs_from_labels',
    'labels_to_latent',
    'normalize_scale_sizes',
    'unflatten_labels',
    'unflatten_tokens',
]
