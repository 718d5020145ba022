"""Frame arrays: the two value conventions and grids of videos.

* On disk and in the readers: ``uint8`` frames ``(F, H, W, 3)``, RGB.
* In memory (datasets, models, metrics): ``float`` ``(3, F, H, W)`` in ``[-1, 1]``.

:func:`to_uint8` and :func:`from_uint8` convert between the two (``to_uint8(from_uint8(x))`` is
exact); :func:`as_uint8_frames` accepts either (what the writers take); :func:`make_grid` tiles
videos into one.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def to_uint8(video: torch.Tensor | np.ndarray) -> np.ndarray:
    """``(3, F, H, W)`` float in ``[-1, 1]`` -> ``(F, H, W, 3)`` uint8 (numpy), values clipped.

    A single image ``(3, H, W)`` gives ``(1, H, W, 3)``.
    """
    if isinstance(video, torch.Tensor):
        video = video.detach().to('cpu', torch.float32).numpy()
    video = np.asarray(video, dtype=np.float32)
    if video.ndim == 3:
        video = video[:, None]
    if video.ndim != 4 or video.shape[0] != 3:
        raise ValueError(f'to_uint8 expects a (3, F, H, W) float video, got shape {video.shape}.')
    out = np.clip(np.rint((video + 1.0) * 127.5), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(out.transpose(1, 2, 3, 0))


def from_uint8(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """``(F, H, W, 3)`` uint8 -> ``(3, F, H, W)`` float32 tensor in ``[-1, 1]``."""
    if isinstance(frames, torch.Tensor):
        frames = frames.cpu().numpy()
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(
            f'from_uint8 expects uint8 frames (F, H, W, 3), got {frames.dtype} {frames.shape}.'
        )
    video = torch.from_numpy(np.ascontiguousarray(frames)).permute(3, 0, 1, 2)
    return video.to(torch.float32).div_(127.5).sub_(1.0)


def as_uint8_frames(frames) -> np.ndarray:
    """Normalise a writer input (see the module docstring) to uint8 ``(F, H, W, 3)``."""
    if isinstance(frames, torch.Tensor):
        frames = frames.detach().cpu()
        frames = frames.numpy() if frames.dtype != torch.bfloat16 else frames.float().numpy()
    frames = np.asarray(frames)
    if frames.dtype == np.uint8:
        if frames.ndim == 3:  # (F, H, W) grey
            frames = np.repeat(frames[..., None], 3, axis=-1)
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f'uint8 frames must be (F, H, W, 3) or (F, H, W), got {frames.shape}.')
        return np.ascontiguousarray(frames)
    if np.issubdtype(frames.dtype, np.floating):
        if frames.ndim not in (3, 4) or frames.shape[0] != 3:
            raise ValueError(
                f'float videos must be (3, F, H, W) (or (3, H, W)) in [-1, 1], got {frames.shape}; '
                'pass uint8 (F, H, W, 3) for channels-last frames.'
            )
        return to_uint8(frames)
    raise ValueError(f'unsupported frame dtype {frames.dtype}; use uint8 or float.')


def make_grid(videos, nrow: int | None = None, padding: int = 2, pad_value: int = 0) -> np.ndarray:
    """Tile N videos into one uint8 video ``(F, H_grid, W_grid, 3)``.

    ``videos``: a float tensor/array ``(N, 3, F, H, W)`` in ``[-1, 1]``, or a sequence of videos
    each in a writer convention (all of the same ``H x W``). ``nrow`` videos per row (default
    ``ceil(sqrt(N))``), ``padding`` pixels between and around tiles, filled with ``pad_value``.
    ``H_grid = rows * H + (rows + 1) * padding`` and ``W_grid = nrow * W + (nrow + 1) * padding``.
    Shorter videos hold their last frame.
    """
    if isinstance(videos, (torch.Tensor, np.ndarray)) and np.ndim(videos) == 5:
        videos = list(videos)
    items = [as_uint8_frames(v) for v in videos]
    if not items:
        raise ValueError('make_grid: no videos given.')
    sizes = {v.shape[1:3] for v in items}
    if len(sizes) != 1:
        raise ValueError(f'make_grid: all videos need the same H x W, got {sorted(sizes)}.')
    (height, width), count = sizes.pop(), len(items)
    ncol = nrow or math.ceil(math.sqrt(count))
    ncol = max(1, min(ncol, count))
    rows = math.ceil(count / ncol)
    num_frames = max(len(v) for v in items)
    grid = np.full(
        (num_frames, rows * height + (rows + 1) * padding, ncol * width + (ncol + 1) * padding, 3),
        pad_value,
        np.uint8,
    )
    for n, video in enumerate(items):
        if len(video) < num_frames:
            video = np.concatenate([video, np.repeat(video[-1:], num_frames - len(video), 0)])
        r, c = divmod(n, ncol)
        top = padding + r * (height + padding)
        left = padding + c * (width + padding)
        grid[:, top : top + height, left : left + width] = video
    return grid


__all__ = ['as_uint8_frames', 'from_uint8', 'make_grid', 'to_uint8']
