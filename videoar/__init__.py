"""videoar: autoregressive video generation by next-frame and next-scale prediction."""

from . import engine  # noqa: E402,F401  (mmengine/torch compatibility fixes)
from .version import __version__  # noqa: F401
