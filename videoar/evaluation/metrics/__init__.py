"""videoar metrics (``METRICS``): reconstruction, FVD, class accuracy, VBench."""

from .class_accuracy import ClassAccuracy
from .fvd import FVD, ReferenceStatsMismatchError
from .reconstruction import PSNR, SSIM
from .vbench import VBench

__all__ = ['PSNR', 'SSIM', 'FVD', 'ReferenceStatsMismatchError', 'ClassAccuracy', 'VBench']
