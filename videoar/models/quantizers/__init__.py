from .base import MultiScaleQuantizer, QuantizerOutput
from .bsq import MultiScaleBSQ
from .vq import MultiScaleVQ

__all__ = ['MultiScaleBSQ', 'MultiScaleQuantizer', 'MultiScaleVQ', 'QuantizerOutput']
