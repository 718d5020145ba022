"""videoar metrics (``METRICS``): reconstruction, FVD, class accuracy, VBench."""

from .reconstruction import PSNR, SSIM  # noqa: F401
