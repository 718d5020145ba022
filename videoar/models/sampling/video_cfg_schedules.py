"""Guidance schedules over (latent frame t, scale k): VAR's linear ramp and VideoAR's schedules.

Notation: ``t = 0..T-1`` the 0-based latent frame, ``k = 0..K-1`` the 0-based scale, ``T`` and ``K``
the ``num_frames`` and ``num_scales`` given to ``__call__``. Ramps use the fractions

    u(t) = t / (T - 1)   (0 when T = 1)        v(k) = k / (K - 1)   (1 when K = 1)

so a ramp starts exactly at its first value on the first frame / coarsest scale and reaches its
last value on the last frame / finest scale. (A single-scale pyramid counts as its own finest
scale; a single frame as the first frame.) Logits are combined as
``uncond + gamma * (cond - uncond)``; ``gamma = 1`` is no guidance.

* :class:`LinearScaleCFG` (VAR): ``gamma(t, k) = start + (max_scale - start) * v(k)``, the same in
  every frame.
* :class:`TemporalSpatialCFG` (VideoAR, class-conditional): the first scale of
  frame ``t`` gets ``g0(t) = first_start + (first_end - first_start) * u(t)`` (1 -> 5 over the
  frames) and inside the frame the scale rises linearly to ``max_scale`` (10):
  ``gamma(t, k) = g0(t) + (max_scale - g0(t)) * v(k)``.
* :class:`DecreasingCFG` (VideoAR, text-to-video): guidance falls from ``start`` (5) to ``end``
  (3) jointly along time and scale, linearly in the block index ``b = t * K + k`` over all
  ``T * K`` blocks: ``gamma(t, k) = start + (end - start) * b / (T * K - 1)`` (``start`` when
  there is one block). Blocks are visited in this order, so guidance never increases during
  sampling.
"""

from __future__ import annotations

from videoar.registry import CFG_SCHEDULES
from videoar.utils import ConfigError

from .cfg_schedules import BaseCFGSchedule


def frame_fraction(t: int, num_frames: int) -> float:
    """``u(t) = t / (T - 1)``, ``0`` for a single frame."""
    _check_index(t, num_frames, 't', 'num_frames')
    return t / (num_frames - 1) if num_frames > 1 else 0.0


def scale_fraction(k: int, num_scales: int) -> float:
    """``v(k) = k / (K - 1)``, ``1`` for a single scale (it is the finest one)."""
    _check_index(k, num_scales, 'k', 'num_scales')
    return k / (num_scales - 1) if num_scales > 1 else 1.0


def _check_index(index: int, count: int, name: str, count_name: str) -> None:
    if count < 1 or not 0 <= index < count:
        raise ValueError(f'{name}={index} must lie in [0, {count_name}={count}).')


def _check_gamma(value: float, name: str) -> float:
    value = float(value)
    if value < 0:
        raise ConfigError(f'{name} must be >= 0 (1 = no guidance), got {value}.')
    return value


@CFG_SCHEDULES.register_module()
class LinearScaleCFG(BaseCFGSchedule):
    """VAR's schedule: guidance rises linearly over the scales, the same in every frame.

    ``gamma(t, k) = start + (max_scale - start) * k / (K - 1)`` (``max_scale`` when ``K = 1``).

    Args:
        max_scale: ``gamma`` at the finest scale.
        start: ``gamma`` at the coarsest scale (1 = no guidance, VAR's ``ratio = 0``).
    """

    def __init__(self, max_scale: float = 3.0, start: float = 1.0) -> None:
        self.max_scale = _check_gamma(max_scale, 'LinearScaleCFG.max_scale')
        self.start = _check_gamma(start, 'LinearScaleCFG.start')

    def __call__(self, t: int, k: int, num_frames: int, num_scales: int) -> float:
        _check_index(t, num_frames, 't', 'num_frames')
        return self.start + (self.max_scale - self.start) * scale_fraction(k, num_scales)


@CFG_SCHEDULES.register_module()
class TemporalSpatialCFG(BaseCFGSchedule):
    """VideoAR's temporal-spatial adaptive CFG for class-conditional video (UCF-101).

    First scale of frame ``t``: ``g0(t) = first_start + (first_end - first_start) * t / (T - 1)``
    (``first_start`` when ``T = 1``). Inside frame ``t``:
    ``gamma(t, k) = g0(t) + (max_scale - g0(t)) * k / (K - 1)`` (``max_scale`` when ``K = 1``).
    With the paper's values (1, 5, 10), ``T = 5`` and ``K = 6``: frame 0 goes 1, 2.8, ..., 10;
    frame 2 starts at 3; frame 4 goes 5, 6, 7, 8, 9, 10.

    Args:
        first_start: first-scale ``gamma`` of the first frame (1).
        first_end: first-scale ``gamma`` of the last frame (5).
        max_scale: ``gamma`` at the finest scale of every frame (10).
    """

    def __init__(
        self, first_start: float = 1.0, first_end: float = 5.0, max_scale: float = 10.0
    ) -> None:
        self.first_start = _check_gamma(first_start, 'TemporalSpatialCFG.first_start')
        self.first_end = _check_gamma(first_end, 'TemporalSpatialCFG.first_end')
        self.max_scale = _check_gamma(max_scale, 'TemporalSpatialCFG.max_scale')

    def first_scale(self, t: int, num_frames: int) -> float:
        """``g0(t)``: the guidance of the coarsest scale of frame ``t``."""
        return self.first_start + (self.first_end - self.first_start) * frame_fraction(
            t, num_frames
        )

    def __call__(self, t: int, k: int, num_frames: int, num_scales: int) -> float:
        first = self.first_scale(t, num_frames)
        return first + (self.max_scale - first) * scale_fraction(k, num_scales)


@CFG_SCHEDULES.register_module()
class DecreasingCFG(BaseCFGSchedule):
    """VideoAR's text-to-video schedule: guidance decreases jointly along time and scale.

    Linear in the block index ``b = t * K + k``:
    ``gamma(t, k) = start + (end - start) * b / (T * K - 1)`` (``start`` for a single block).
    With the paper's values (5 -> 3), ``T = 5`` and ``K = 4`` (20 blocks): ``gamma(0, 0) = 5``,
    ``gamma(2, 1) = 5 - 2 * 9 / 19``, ``gamma(4, 3) = 3``.

    Args:
        start: ``gamma`` of the first block (frame 0, coarsest scale).
        end: ``gamma`` of the last block (last frame, finest scale).
    """

    def __init__(self, start: float = 5.0, end: float = 3.0) -> None:
        self.start = _check_gamma(start, 'DecreasingCFG.start')
        self.end = _check_gamma(end, 'DecreasingCFG.end')

    def __call__(self, t: int, k: int, num_frames: int, num_scales: int) -> float:
        _check_index(t, num_frames, 't', 'num_frames')
        _check_index(k, num_scales, 'k', 'num_scales')
        blocks = num_frames * num_scales
        fraction = (t * num_scales + k) / (blocks - 1) if blocks > 1 else 0.0
        return self.start + (self.end - self.start) * fraction


__all__ = [
    'DecreasingCFG',
    'LinearScaleCFG',
    'TemporalSpatialCFG',
    'frame_fraction',
    'scale_fraction',
]
