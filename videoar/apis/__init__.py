"""Python entry points: load a model, generate videos."""

from .inference import init_model, sample_videos

__all__ = ['init_model', 'sample_videos']
