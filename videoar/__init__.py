"""videoar: autoregressive video generation by next-frame and next-scale prediction."""

__version__ = '0.1.0'

from . import engine  # noqa: E402,F401  (mmengine/torch compatibility fixes)
