"""videoar metrics (``METRICS``): reconstruction, FVD, class accuracy, VBench."""

from .class_accuracy import ClassAccuracy  # noqa: F401
from .fvd import FVD  # noqa: F401
from .reconstruction import PSNR, SSIM  # noqa: F401
from .vbench import VBench  # noqa: F401
