"""The generation pipeline: load a model, generate videos (see docs/generation.md).

``generate(model_or_config, checkpoint=None, **options)`` is the one entry point; class, text
and unconditional generation, continuation, image-to-video and long videos are options of its
:class:`GenerationRequest`. ``plan_windows`` computes the window plan of a long video without a
model.
"""

from .errors import GenerationError
from .generation import generate
from .inference import init_model, load_config
from .long_video import plan_windows
from .request import GenerationRequest

__all__ = [
    'GenerationError',
    'GenerationRequest',
    'generate',
    'init_model',
    'load_config',
    'plan_windows',
]
