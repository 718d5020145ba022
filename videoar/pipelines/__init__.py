"""Python entry points: load a model, generate videos (see docs/generation.md)."""

from .generate import GenerationError, generate
from .inference import init_model, sample_videos
from .long_video import plan_windows, sample_windows

__all__ = [
    'GenerationError',
    'generate',
    'init_model',
    'plan_windows',
    'sample_videos',
    'sample_windows',
]
