"""Training-time label corruption and self-correction (CORRECTORS)."""

from .base import BaseCorrector
from .correctors import BitwiseSelfCorrection, CrossFrameErrorCorrection, NoCorrection

__all__ = [
    'BaseCorrector',
    'BitwiseSelfCorrection',
    'CrossFrameErrorCorrection',
    'NoCorrection',
]
