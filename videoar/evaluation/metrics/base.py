"""Shared helpers of the video metrics: reading videos from the predict outputs.

The predict outputs of a model are a list of dicts (``docs/interfaces.md``): ``pred_video`` and
``gt_video`` float ``(3, F, H, W)`` in ``[-1, 1]``, ``label`` (int) and ``caption`` (str).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric


def sample_get(sample, key: str, default=None):
    """Read ``key`` from a predict output (a dict or an mmengine data element)."""
    if isinstance(sample, Mapping):
        return sample.get(key, default)
    return getattr(sample, key, default)


def as_video(value, key: str = 'video') -> torch.Tensor:
    """Convert a video to a float32 CPU tensor ``(3, F, H, W)`` (values kept as they are).

    Accepts torch tensors and numpy arrays. Raises ``ValueError`` for other shapes.
    """
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    if not isinstance(value, torch.Tensor):
        raise TypeError(f'{key} must be a tensor (3, F, H, W), got {type(value).__name__}.')
    if value.dim() != 4 or value.shape[0] != 3:
        raise ValueError(
            f'{key} must have shape (3, F, H, W) (channels first, values in [-1, 1]); '
            f'got {tuple(value.shape)}.'
        )
    return value.detach().to(device='cpu', dtype=torch.float32)


def get_video(sample, key: str, metric: str) -> torch.Tensor:
    """``sample[key]`` as a float32 ``(3, F, H, W)`` tensor; a clear error when it is missing."""
    value = sample_get(sample, key)
    if value is None:
        keys = sorted(sample) if isinstance(sample, Mapping) else dir(sample)
        raise KeyError(
            f'{metric} needs {key!r} in every predict output (a (3, F, H, W) video in [-1, 1]); '
            f'got keys {keys}. Reconstruction metrics need a model whose predict mode returns '
            f'the reference video as gt_video.'
        )
    return as_video(value, key)


def stack_videos(samples: Sequence, key: str, metric: str) -> torch.Tensor:
    """Stack ``sample[key]`` of a batch of predict outputs into ``(B, 3, F, H, W)``."""
    videos = [get_video(s, key, metric) for s in samples]
    shapes = {tuple(v.shape) for v in videos}
    if len(shapes) != 1:
        raise ValueError(f'{metric}: the {key} videos of one batch differ in shape: {shapes}.')
    return torch.stack(videos)


class VideoMetric(BaseMetric):
    """Base of the videoar metrics: no prefix by default (keys such as ``psnr``, ``fvd``)."""

    default_prefix = ''
