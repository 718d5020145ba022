"""Video transforms on float clips ``(3, F, H, W)``.

Plain functions (used directly by the datasets, no pipeline needed) and thin registered
``TRANSFORMS`` wrappers for an mmengine-style ``pipeline``: each wrapper takes and returns a
results dict whose ``'inputs'`` is the clip ``(3, F, H, W)``; random ones draw from
``results['rng']`` (a ``numpy.random.Generator`` the dataset seeds per item) so that a pipeline
is as deterministic as the dataset.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from videoar.registry import TRANSFORMS
from videoar.utils.validation import ConfigError, check_positive


def _pair(size) -> tuple[int, int]:
    if isinstance(size, int):
        return size, size
    if len(size) != 2:
        raise ConfigError(f'a size must be an int or (height, width), got {size!r}.')
    return int(size[0]), int(size[1])


def resize_video(video: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize (antialiased when shrinking) of ``(3, F, H, W)`` to ``(3, F, *size)``."""
    height, width = size
    if video.shape[-2:] == (height, width):
        return video
    frames = video.permute(1, 0, 2, 3)  # (F, 3, H, W)
    shrink = height < video.shape[-2] or width < video.shape[-1]
    out = F.interpolate(
        frames.float(), size=(height, width), mode='bilinear', align_corners=False, antialias=shrink
    )
    return out.permute(1, 0, 2, 3).contiguous()


def resize_short_side(video: torch.Tensor, size: int) -> torch.Tensor:
    """Resize ``(3, F, H, W)`` so its shorter side is ``size`` (aspect kept)."""
    height, width = video.shape[-2:]
    scale = size / min(height, width)
    return resize_video(video, (max(1, round(height * scale)), max(1, round(width * scale))))


def resize_to_cover(video: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Smallest aspect-preserving resize whose ``(H, W)`` covers ``size`` (then crop to it)."""
    height, width = video.shape[-2:]
    scale = max(size[0] / height, size[1] / width)
    new = (
        max(size[0], math.ceil(height * scale - 1e-6)),
        max(size[1], math.ceil(width * scale - 1e-6)),
    )
    return resize_video(video, new)


def center_crop(video: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Central ``(h, w)`` window of ``(3, F, H, W)`` (needs ``H >= h`` and ``W >= w``)."""
    height, width = video.shape[-2:]
    if height < size[0] or width < size[1]:
        raise ValueError(f'cannot crop {size} out of a {height}x{width} clip; resize first.')
    top = (height - size[0]) // 2
    left = (width - size[1]) // 2
    return video[..., top : top + size[0], left : left + size[1]]


def random_crop(
    video: torch.Tensor, size: tuple[int, int], rng: np.random.Generator
) -> torch.Tensor:
    """A ``(h, w)`` window of ``(3, F, H, W)`` at a position drawn from ``rng``."""
    height, width = video.shape[-2:]
    if height < size[0] or width < size[1]:
        raise ValueError(f'cannot crop {size} out of a {height}x{width} clip; resize first.')
    top = int(rng.integers(0, height - size[0] + 1))
    left = int(rng.integers(0, width - size[1] + 1))
    return video[..., top : top + size[0], left : left + size[1]]


def resize_and_crop(
    video: torch.Tensor,
    size: tuple[int, int],
    crop: str = 'center',
    short_side: int | None = None,
    rng: np.random.Generator | None = None,
) -> torch.Tensor:
    """Resize (shorter side to ``short_side``, or just enough to cover ``size``) and crop."""
    if short_side is not None:
        video = resize_short_side(video, short_side)
        if video.shape[-2] < size[0] or video.shape[-1] < size[1]:
            video = resize_to_cover(video, size)
    else:
        video = resize_to_cover(video, size)
    if crop == 'random':
        return random_crop(video, size, rng if rng is not None else np.random.default_rng())
    return center_crop(video, size)


@TRANSFORMS.register_module()
class ResizeShortSide:
    """Resize ``results['inputs']`` ``(3, F, H, W)`` so its shorter side is ``size``."""

    def __init__(self, size: int):
        check_positive(size, 'ResizeShortSide size')
        self.size = int(size)

    def __call__(self, results: dict) -> dict:
        results['inputs'] = resize_short_side(results['inputs'], self.size)
        return results


@TRANSFORMS.register_module()
class VideoCenterCrop:
    """Central crop of ``results['inputs']`` to ``size`` (int or (h, w))."""

    def __init__(self, size):
        self.size = _pair(size)

    def __call__(self, results: dict) -> dict:
        results['inputs'] = center_crop(results['inputs'], self.size)
        return results


@TRANSFORMS.register_module()
class VideoRandomCrop:
    """Random crop of ``results['inputs']`` to ``size``, position from ``results['rng']``."""

    def __init__(self, size):
        self.size = _pair(size)

    def __call__(self, results: dict) -> dict:
        rng = results.get('rng')
        rng = np.random.default_rng() if rng is None else rng
        results['inputs'] = random_crop(results['inputs'], self.size, rng)
        return results


@TRANSFORMS.register_module()
class VideoRandomFlip:
    """Horizontal flip of the whole clip with probability ``prob`` (drawn from ``results['rng']``)."""

    def __init__(self, prob: float = 0.5):
        if not 0.0 <= prob <= 1.0:
            raise ConfigError(f'VideoRandomFlip prob must be in [0, 1], got {prob}.')
        self.prob = float(prob)

    def __call__(self, results: dict) -> dict:
        rng = results.get('rng')
        rng = np.random.default_rng() if rng is None else rng
        if rng.random() < self.prob:
            results['inputs'] = results['inputs'].flip(-1)
        return results
