"""Multi-scale residual vector quantisation, VAR style (one shared codebook).

At scale ``k`` the residual ``(N, d, h_k, w_k)`` is matched token by token to its nearest code
of one codebook ``(V, d)`` shared by all scales (Euclidean distance, or cosine similarity of the
l2-normalised vectors with ``cosine=True``; the emitted code is the raw codebook vector in both
cases, as VAR's ``using_znorm``). ``codes_to_residual`` upsamples the code map to the latent size
and applies the scale's refinement conv ``Phi_k(x) = (1 - phi_ratio) x + phi_ratio conv3x3(x)``;
``phi_partitions`` convs are shared over the K scales; scale ``k`` (0-based) uses the conv whose
tick is closest to ``k / (K - 1)``, the ticks being ``P`` evenly spaced points
``linspace(1 / (3P), 1 - 1 / (3P), P)`` for ``P = 4`` and ``linspace(1 / (2P), 1 - 1 / (2P), P)``
for any other ``P``, in float64, ties going to the lower index (:func:`phi_schedule`; this is
VAR's ``PhiPartiallyShared`` / ``PhiNonShared`` rule, tested against values worked out from it).
``phi_partitions=0`` disables the refinement; ``phi_partitions=1`` shares one conv (VAR's
``PhiShared``), ``phi_partitions=K`` gives one conv per scale.

Differences from VAR's ``VectorQuantizer2`` at the defaults, and why (``configs/_base_/models/
vq_var_parity.py`` sets VAR's choices; ``docs/method.md`` lists them):

* ``up_mode='bilinear'`` (VAR: bicubic): bilinear never overshoots, so a code map's
  contribution stays within the range of its codes, and it is the paper's (Eq. 2) choice;
* ``codebook_weight`` and ``beta`` act on the summed pyramid once (VAR averages its loss over the
  K partial sums); the codes, indices and reconstructions of a given codebook are the same.

Losses: ``loss_commit = beta * mse(latent, quantized.detach())`` (encoder -> codes) and
``loss_codebook = codebook_weight * mse(quantized, latent.detach())`` (trains the codebook and
the Phi convs). Per-scale codes carry gradient to the codebook only; the straight-through
estimator is applied once to the summed pyramid by :class:`MultiScaleQuantizer.forward`.

Dead codes (optional, ``dead_code_threshold > 0``): an EMA of each code's usage, normalised so
that uniform usage is 1, is kept in training; codes whose EMA falls below the threshold are
re-initialised to residual vectors of the current batch. (Under DDP each replica would restart
different codes: use it for single-process training or leave it off.)

Stats (per scale ``k``): ``usage/codes_s{k}`` = distinct codes used / ``min(V, tokens)`` and
``usage/perplexity_s{k}`` = exp(entropy of the code histogram) / ``min(V, tokens)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from videoar.registry import QUANTIZERS
from videoar.utils import ConfigError, check_positive

from .base import MultiScaleQuantizer


class PhiConv(nn.Module):
    """``x -> (1 - ratio) x + ratio conv_kxk(x)`` on ``(N, d, h, w)``."""

    def __init__(self, dim: int, ratio: float, kernel_size: int = 3) -> None:
        super().__init__()
        self.ratio = float(ratio)
        self.conv = nn.Conv2d(dim, dim, kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * (1 - self.ratio) + self.conv(x) * self.ratio


def phi_schedule(num_phis: int, num_scales: int) -> list[int]:
    """The refinement conv of each of ``num_scales`` scales when ``num_phis`` convs are shared.

    Ticks ``linspace(1/(3P), 1 - 1/(3P), P)`` for ``P = 4`` convs, ``linspace(1/(2P), 1 - 1/(2P),
    P)`` otherwise, in float64; scale ``k`` takes the tick nearest to ``k / (K - 1)`` (the first on
    ties; ``0`` for a single scale). Example: 4 convs over 10 scales -> ``[0, 0, 1, 1, 1, 2, 2, 3,
    3, 3]``. Empty for ``num_phis = 0``.
    """
    if num_phis <= 0:
        return []
    margin = 1 / 3 / num_phis if num_phis == 4 else 1 / 2 / num_phis
    ticks = np.linspace(margin, 1 - margin, num_phis, dtype=np.float64)
    schedule = []
    for k in range(num_scales):
        position = k / (num_scales - 1) if num_scales > 1 else 0.0
        schedule.append(int(np.argmin(np.abs(ticks - position))))
    return schedule


@QUANTIZERS.register_module()
class MultiScaleVQ(MultiScaleQuantizer):
    """Multi-scale residual VQ with one shared codebook (labels are indices).

    Args:
        embed_dim: latent channels ``d`` (= code dimension).
        scale_sizes: ``[(h_1, w_1), ..., (h_K, w_K)]``.
        codebook_size: number of codes ``V``.
        down_mode / up_mode / input_down_mode: interpolation (see :class:`MultiScaleQuantizer`).
        beta: commitment weight.
        codebook_weight: weight of the codebook (+ Phi) loss.
        cosine: nearest code by cosine similarity of l2-normalised vectors.
        phi_partitions: number of shared refinement convs (0 = none).
        phi_ratio: residual mixing ratio of the refinement convs.
        phi_kernel_size: kernel of the refinement convs (odd).
        dead_code_threshold: restart codes whose normalised EMA usage is below this (0 = off).
        usage_decay: EMA decay of the usage counts.
    """

    label_kind = 'index'

    def __init__(
        self,
        embed_dim: int,
        scale_sizes,
        codebook_size: int = 1024,
        down_mode: str = 'area',
        up_mode: str = 'bilinear',
        input_down_mode: str = 'bilinear',
        beta: float = 0.25,
        codebook_weight: float = 1.0,
        cosine: bool = False,
        phi_partitions: int = 4,
        phi_ratio: float = 0.5,
        phi_kernel_size: int = 3,
        dead_code_threshold: float = 0.0,
        usage_decay: float = 0.99,
    ) -> None:
        super().__init__(
            embed_dim,
            scale_sizes,
            down_mode=down_mode,
            up_mode=up_mode,
            input_down_mode=input_down_mode,
        )
        check_positive(self.embed_dim, 'embed_dim')
        check_positive(codebook_size, 'codebook_size')
        if beta < 0 or codebook_weight < 0:
            raise ConfigError(
                f'beta and codebook_weight must be >= 0, got {beta} and {codebook_weight}.'
            )
        if phi_partitions < 0:
            raise ConfigError(f'phi_partitions must be >= 0 (0 = no Phi), got {phi_partitions}.')
        if phi_kernel_size % 2 != 1:
            raise ConfigError(f'phi_kernel_size must be odd, got {phi_kernel_size}.')
        if not 0 <= usage_decay < 1:
            raise ConfigError(f'usage_decay must be in [0, 1), got {usage_decay}.')
        self.codebook_size = int(codebook_size)
        self.beta = float(beta)
        self.codebook_weight = float(codebook_weight)
        self.cosine = bool(cosine)
        self.dead_code_threshold = float(dead_code_threshold)
        self.usage_decay = float(usage_decay)
        self.codebook = nn.Embedding(self.codebook_size, self.embed_dim)
        nn.init.normal_(self.codebook.weight, std=1.0 / math.sqrt(self.embed_dim))
        self.phis = nn.ModuleList(
            PhiConv(self.embed_dim, phi_ratio, phi_kernel_size) for _ in range(phi_partitions)
        )
        self._phi_schedule = phi_schedule(phi_partitions, self.num_scales)
        self.register_buffer('usage_ema', torch.ones(self.codebook_size), persistent=False)
        self._batch_counts: torch.Tensor | None = None
        self._restart_pool: list[torch.Tensor] = []

    # ---- label space ---------------------------------------------------------------------
    @property
    def label_space_size(self) -> int:
        return self.codebook_size

    @property
    def logits_per_token(self) -> int:
        return self.codebook_size

    @property
    def label_shape(self) -> tuple[int, ...]:
        return ()

    def phi_index(self, k: int) -> int | None:
        """Index of the refinement conv used at scale ``k`` (``None`` without Phi)."""
        if len(self.phis) == 0:
            return None
        return self._phi_schedule[k]

    # ---- per-scale quantisation ----------------------------------------------------------
    def nearest_codes(self, tokens: torch.Tensor) -> torch.Tensor:
        """Tokens ``(M, d)`` -> nearest code indices ``(M,)`` (fp32 distances)."""
        weight = self.codebook.weight.detach().float()
        tokens = tokens.detach().float()
        if self.cosine:
            sim = F.normalize(tokens, dim=1) @ F.normalize(weight, dim=1).t()
            return sim.argmax(dim=1)
        dist = (
            tokens.pow(2).sum(1, keepdim=True)
            - 2 * tokens @ weight.t()
            + weight.pow(2).sum(1)[None, :]
        )
        return dist.argmin(dim=1)

    def quantize_scale(self, residual: torch.Tensor, k: int):
        """Residual ``(N, d, h_k, w_k)`` -> codes ``(N, d, h_k, w_k)``, indices ``(N, h_k, w_k)``."""
        n, d, h, w = residual.shape
        tokens = residual.float().permute(0, 2, 3, 1).reshape(-1, d)
        indices = self.nearest_codes(tokens)
        if self.training and self.dead_code_threshold > 0 and self.codebook.weight.requires_grad:
            counts = torch.bincount(indices, minlength=self.codebook_size).float()
            self._batch_counts = (
                counts if self._batch_counts is None else self._batch_counts + counts
            )
            take = torch.randperm(len(tokens), device=tokens.device)[: self.codebook_size]
            self._restart_pool.append(tokens[take].detach())
        labels = indices.view(n, h, w)
        return self.labels_to_codes(labels, k), labels, {}

    def labels_to_codes(self, labels: torch.Tensor, k: int) -> torch.Tensor:
        """Indices ``(N, h_k, w_k)`` -> codes ``(N, d, h_k, w_k)``."""
        return self.codebook(labels.long()).float().permute(0, 3, 1, 2)

    def codes_to_residual(self, codes: torch.Tensor, k: int) -> torch.Tensor:
        """Codes ``(N, d, h_k, w_k)`` -> ``Phi_k(up(codes))`` ``(N, d, h, w)``."""
        up = self.upsample(codes)
        idx = self.phi_index(k)
        return up if idx is None else self.phis[idx](up)

    # ---- training hooks ------------------------------------------------------------------
    def forward(self, latent: torch.Tensor):
        out = super().forward(latent)
        # a frozen codebook (e.g. the AR model's tokenizer) is never modified
        if self.training and self.dead_code_threshold > 0 and self.codebook.weight.requires_grad:
            self._restart_dead_codes()
        return out

    @torch.no_grad()
    def _restart_dead_codes(self) -> None:
        counts, pool = self._batch_counts, self._restart_pool
        self._batch_counts, self._restart_pool = None, []
        if counts is None or not pool:
            return
        usage = counts * self.codebook_size / counts.sum().clamp_min(1)
        self.usage_ema.mul_(self.usage_decay).add_(usage, alpha=1 - self.usage_decay)
        dead = (self.usage_ema < self.dead_code_threshold).nonzero().flatten()
        if len(dead) == 0:
            return
        candidates = torch.cat(pool)
        pick = torch.randint(len(candidates), (len(dead),), device=candidates.device)
        weight = self.codebook.weight
        weight.data[dead] = candidates[pick].to(weight.dtype)
        self.usage_ema[dead] = 1.0

    # ---- losses and stats ----------------------------------------------------------------
    def combine_losses(self, latent, quantized, aux_terms):
        losses = {'loss_commit': self.beta * F.mse_loss(latent, quantized.detach())}
        if self.codebook_weight > 0:
            losses['loss_codebook'] = self.codebook_weight * F.mse_loss(quantized, latent.detach())
        return losses

    @torch.no_grad()
    def usage_stats(self, labels: list[torch.Tensor]) -> dict[str, float]:
        stats = {}
        for k, indices in enumerate(labels):
            flat = indices.reshape(-1)
            denom = max(min(self.codebook_size, flat.numel()), 1)
            counts = torch.bincount(flat, minlength=self.codebook_size).float()
            probs = counts / counts.sum().clamp_min(1)
            entropy = -(probs * probs.clamp_min(1e-12).log()).sum()
            stats[f'usage/codes_s{k}'] = float((counts > 0).sum()) / denom
            stats[f'usage/perplexity_s{k}'] = float(entropy.exp()) / denom
        return stats
