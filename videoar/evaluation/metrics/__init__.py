"""videoar metrics (``METRICS``): reconstruction, FVD, class accuracy, VBench."""

from .reconstruction import PSNR, SSIM  # noqa: F401
from .fvd import FVD  # noqa: F401
from .vbench import VBench  # noqa: F401
from .class_accuracy import ClassAccuracy  # noqa: F401
