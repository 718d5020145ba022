"""Training-time label corruption: none, Infinity's bitwise self-correction, VideoAR's
cross-frame error correction.

All three share :func:`~videoar.models.sequence.build_teacher_forcing` (the residual pyramid
walk of :class:`~videoar.models.sequence.ResidualPyramid`): the labels of block
``(t, k)`` are flipped with probability ``p[b, t, k]`` (bits: XOR with Bernoulli(p); indices:
replaced by a uniform random index with probability p), the flipped labels are requantised into
the running sum, and every later target is recomputed against that corrupted sum.
"""

from __future__ import annotations

import torch

from videoar.models.sequence import draw_uniform
from videoar.registry import CORRECTORS
from videoar.utils import ConfigError

from .base import BaseCorrector


def _check_prob(value: float, name: str, where: str) -> float:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f'{where}: {name} must be a probability in [0, 1], got {value}.')
    return float(value)


@CORRECTORS.register_module()
class NoCorrection(BaseCorrector):
    """Plain teacher forcing: never flips (the quantizer's own pyramid in training and eval)."""

    def sample_flip_probs(self, batch_size, num_frames, num_scales, generator=None, device=None):
        return torch.zeros(batch_size, num_frames, num_scales, device=device)


@CORRECTORS.register_module()
class BitwiseSelfCorrection(BaseCorrector):
    """Bitwise self-correction (BSC, Infinity's), applied to every latent frame alike.

    ``p ~ U(0, p_max)`` is drawn per scale (and per sample with ``per_sample=True``; per batch, as
    Infinity's trainer does, with ``False``) and used for every frame index. Only the first
    ``apply_scales`` scales are corrupted. Two released recipes differ here (docs/method.md,
    "Parity with VAR and Infinity"):

    * ``apply_scales='all'``: every scale, as Infinity's released training runs (their number of
      noised scales covers the whole schedule);
    * ``apply_scales='all_but_last'`` (default, also ``None``): every scale but the last, as
      InfinityStar. A last-scale flip cannot be corrected inside its frame; in video it only
      reaches the next frame's first input, which is what :class:`CrossFrameErrorCorrection`
      adds on purpose.

    Args:
        p_max: upper end of the flip-probability range (Infinity's ``noise_apply_strength``, 0.3).
        apply_scales: ``'all'``, ``'all_but_last'`` (or ``None``), or an int >= 0: the number of
            leading scales to corrupt.
        per_sample: independent draws per sample (True) or one draw per batch (False).
    """

    def __init__(
        self,
        p_max: float = 0.3,
        apply_scales: int | str | None = 'all_but_last',
        per_sample: bool = True,
    ) -> None:
        super().__init__()
        self.p_max = _check_prob(p_max, 'p_max', 'BitwiseSelfCorrection')
        if apply_scales is None:
            apply_scales = 'all_but_last'
        if not (
            apply_scales in ('all', 'all_but_last')
            or (isinstance(apply_scales, int) and apply_scales >= 0)
        ):
            raise ConfigError(
                "BitwiseSelfCorrection: apply_scales must be 'all' (every scale, Infinity's "
                "released runs), 'all_but_last' (InfinityStar; also None) or an int >= 0 (number "
                f'of leading scales to corrupt), got {apply_scales!r}.'
            )
        self.apply_scales = apply_scales
        self.per_sample = bool(per_sample)

    def num_corrupted_scales(self, num_scales: int) -> int:
        if self.apply_scales == 'all_but_last':
            return max(num_scales - 1, 0)
        if self.apply_scales == 'all':
            return num_scales
        return min(int(self.apply_scales), num_scales)

    def sample_flip_probs(self, batch_size, num_frames, num_scales, generator=None, device=None):
        """``(B, T', K)``: ``U(0, p_max)`` per (sample, scale), equal across frames, 0 on the
        scales past ``apply_scales``."""
        rows = batch_size if self.per_sample else 1
        probs = draw_uniform((rows, 1, num_scales), generator, device) * self.p_max
        probs[..., self.num_corrupted_scales(num_scales) :] = 0.0
        return probs.expand(batch_size, num_frames, num_scales).contiguous()

    def extra_repr(self) -> str:
        return f'p_max={self.p_max}, apply_scales={self.apply_scales}, per_sample={self.per_sample}'


@CORRECTORS.register_module()
class CrossFrameErrorCorrection(BaseCorrector):
    """VideoAR's cross-frame error correction (the VideoAR paper, arXiv 2601.05966).

    Time-ramped corruption: ``p(t, k) ~ U(p_min + delta t, p_max + delta t)`` for every scale,
    the last one included. Error inheritance (``inherit=True``): for ``t > 0`` the first scale
    draws ``p(t, 0) ~ U(p(t-1, K-1), p_max + delta t)``, at least the previous frame's last-scale
    probability (so this range may start below ``p_min + delta t``, exactly as in the paper's
    ``U(p_prev, p_max + delta t)``). Draws are per sample (``per_sample=True``) or shared by the batch. Probabilities
    are clipped to ``[0, max_prob]``.

    Args:
        p_min, p_max: range of frame 0 (defaults 0 and 0.25, the paper's).
        delta: per-frame increase of both ends (0.01).
        inherit: enable the cross-frame inheritance of the first scale (Table 4's last row).
        per_sample: independent draws per sample (True) or per batch (False).
        max_prob: clip of the ramped probabilities (1.0; 0.5 keeps bit flips informative).
    """

    def __init__(
        self,
        p_min: float = 0.0,
        p_max: float = 0.25,
        delta: float = 0.01,
        inherit: bool = True,
        per_sample: bool = True,
        max_prob: float = 1.0,
    ) -> None:
        super().__init__()
        where = 'CrossFrameErrorCorrection'
        self.p_min = _check_prob(p_min, 'p_min', where)
        self.p_max = _check_prob(p_max, 'p_max', where)
        self.max_prob = _check_prob(max_prob, 'max_prob', where)
        if self.p_min > self.p_max:
            raise ConfigError(f'{where}: p_min={p_min} must not exceed p_max={p_max}.')
        if delta < 0:
            raise ConfigError(f'{where}: delta must be >= 0 (per-frame increase), got {delta}.')
        self.delta = float(delta)
        self.inherit = bool(inherit)
        self.per_sample = bool(per_sample)

    def frame_range(self, t: int) -> tuple[float, float]:
        """``(p_min + delta t, p_max + delta t)`` before clipping."""
        return self.p_min + self.delta * t, self.p_max + self.delta * t

    def sample_flip_probs(self, batch_size, num_frames, num_scales, generator=None, device=None):
        """``(B, T', K)`` time-ramped probabilities with first-scale inheritance."""
        rows = batch_size if self.per_sample else 1
        uniform = draw_uniform((rows, num_frames, num_scales), generator, device)
        frames = torch.arange(num_frames, device=uniform.device, dtype=torch.float32)
        low = (self.p_min + self.delta * frames).view(1, -1, 1)
        high = (self.p_max + self.delta * frames).view(1, -1, 1)
        probs = low + uniform * (high - low)
        if self.inherit:
            for t in range(1, num_frames):  # sequential: with K = 1 the chain runs through frames
                inherited = probs[:, t - 1, num_scales - 1]
                probs[:, t, 0] = inherited + uniform[:, t, 0] * (high[0, t, 0] - inherited)
        probs = probs.clamp(0.0, self.max_prob)
        return probs.expand(batch_size, num_frames, num_scales).contiguous()

    def extra_repr(self) -> str:
        return (
            f'p_min={self.p_min}, p_max={self.p_max}, delta={self.delta}, inherit={self.inherit}, '
            f'per_sample={self.per_sample}, max_prob={self.max_prob}'
        )
