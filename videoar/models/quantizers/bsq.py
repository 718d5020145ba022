"""Multi-scale binary spherical quantisation (BSQ), Infinity style.

Every token of every scale is ``d = embed_dim`` bits. Per token the residual ``r`` (``d``
channels) is l2-normalised to ``u = r / |r|`` and quantised to the corner of the hypercube on
the unit sphere ``c = sign(u) / sqrt(d)`` (a zero component counts as negative). The implicit
vocabulary is ``2**d``; labels are the bits ``(c > 0)``.

Per-scale code scale (our choice, documented): a unit-norm code at every scale cannot make a
residual pyramid converge (the residual shrinks, the code does not), so scale ``k`` emits
``alpha_k * c`` with a positive scalar ``alpha_k`` per scale. With ``learn_scales=True``
(default) ``alpha_k = exp(log_alpha_k)`` is trained by the codebook term
``|| sum_k up(alpha_k c_k) - latent.detach() ||^2`` (the least-squares scale of the pyramid,
the analogue of VAR's codebook loss); with ``learn_scales=False`` the ``scale_init`` values stay
fixed (``scale_init=1.0, learn_scales=False`` is exactly Infinity's unit-sphere code). The codes
of a scale depend only on its labels and ``alpha_k``, so ``labels_to_codes`` is exact.

Gradients: per-scale codes carry gradient only to ``alpha_k``; the straight-through estimator is
applied once to the summed pyramid by :class:`MultiScaleQuantizer.forward` (the encoder gets the
decoder's gradient as if quantisation were the identity). The entropy penalty gets its gradient
through the soft bit probabilities of the residuals.

Losses (already weighted, summed by mmengine):

* ``loss_commit = commit_weight * mse(latent, quantized.detach())``;
* ``loss_codebook = codebook_weight * mse(quantized, latent.detach())`` (only with learnable
  scales: it is what trains ``alpha``);
* ``loss_entropy = entropy_weight * mean_k(sample_entropy_weight * H_sample_k -
  codebook_entropy_weight * H_codebook_k)``: the BSQ / MAGVIT entropy penalty in the factorised
  per-bit form. With the soft bit probability ``p = sigmoid(2 * inv_temperature * u / sqrt(d))``
  (the two-way softmax between ``+-1/sqrt(d)`` at inverse temperature ``inv_temperature``),
  ``H_sample`` is the mean over tokens and bits of ``H(p)`` (low = confident) and ``H_codebook``
  the mean over bits of ``H(mean over tokens of p)`` (high = every bit balanced, an upper bound
  of the codebook entropy / d). Entropies are in bits, so each lies in ``[0, 1]``.

Stats (per scale ``k``, 0-based): ``usage/bits_s{k}`` = mean over bits of the entropy (in bits)
of the empirical bit marginal: 1 = every bit balanced, 0 = collapsed;
``usage/unique_s{k}`` = distinct codes / tokens at that scale (for ``d <= 62``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from videoar.registry import QUANTIZERS
from videoar.utils import ConfigError, check_positive

from .base import MultiScaleQuantizer


def binary_entropy(p: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Elementwise entropy in bits of Bernoulli(p)."""
    p = p.clamp(eps, 1 - eps)
    return -(p * torch.log2(p) + (1 - p) * torch.log2(1 - p))


@QUANTIZERS.register_module()
class MultiScaleBSQ(MultiScaleQuantizer):
    """Multi-scale residual binary spherical quantizer (labels are ``d`` bits per token).

    Args:
        embed_dim: latent channels ``d`` = bits per token.
        scale_sizes: ``[(h_1, w_1), ..., (h_K, w_K)]`` (ints mean square scales).
        commit_weight: weight of the commitment loss (encoder -> codes).
        codebook_weight: weight of the loss that trains the per-scale code scales.
        entropy_weight: overall weight of the entropy penalty (0 disables it).
        sample_entropy_weight: weight of the per-sample entropy inside the penalty.
        codebook_entropy_weight: weight of the codebook entropy inside the penalty.
        inv_temperature: inverse temperature of the soft bit probabilities.
        scale_init: initial ``alpha_k``: one float for all scales or K floats.
        learn_scales: train ``alpha_k`` (True) or keep them fixed (False).
        **resampling: ``down_mode`` / ``up_mode`` / ``input_down_mode``, interpolation (see
            :class:`MultiScaleQuantizer`, whose defaults apply).
    """

    label_kind = 'bits'
    per_scale_keys = ('log_scales',)

    def __init__(
        self,
        embed_dim: int,
        scale_sizes,
        *,
        commit_weight: float = 0.25,
        codebook_weight: float = 1.0,
        entropy_weight: float = 0.1,
        sample_entropy_weight: float = 1.0,
        codebook_entropy_weight: float = 1.0,
        inv_temperature: float = 100.0,
        scale_init: float | Sequence[float] = 1.0,
        learn_scales: bool = True,
        **resampling,
    ) -> None:
        super().__init__(embed_dim, scale_sizes, **resampling)
        check_positive(self.embed_dim, 'embed_dim')
        check_positive(inv_temperature, 'inv_temperature')
        for name, value in (
            ('commit_weight', commit_weight),
            ('codebook_weight', codebook_weight),
            ('entropy_weight', entropy_weight),
            ('sample_entropy_weight', sample_entropy_weight),
            ('codebook_entropy_weight', codebook_entropy_weight),
        ):
            if value < 0:
                raise ConfigError(f'{name} must be >= 0, got {value}.')
        if isinstance(scale_init, (int, float)):
            scale_init = [float(scale_init)] * self.num_scales
        scale_init = [float(s) for s in scale_init]
        if len(scale_init) != self.num_scales or min(scale_init) <= 0:
            raise ConfigError(
                f'scale_init must be one positive float or {self.num_scales} positive floats '
                f'(one per scale of scale_sizes), got {scale_init}.'
            )
        self.commit_weight = float(commit_weight)
        self.codebook_weight = float(codebook_weight)
        self.entropy_weight = float(entropy_weight)
        self.sample_entropy_weight = float(sample_entropy_weight)
        self.codebook_entropy_weight = float(codebook_entropy_weight)
        self.inv_temperature = float(inv_temperature)
        self.learn_scales = bool(learn_scales)
        log_alpha = torch.log(torch.tensor(scale_init, dtype=torch.float32))
        if self.learn_scales:
            self.log_scales = nn.Parameter(log_alpha)
        else:
            self.register_buffer('log_scales', log_alpha)

    # ---- label space ---------------------------------------------------------------------
    @property
    def num_bits(self) -> int:
        return self.embed_dim

    @property
    def label_space_size(self) -> int:
        return 2**self.num_bits

    @property
    def logits_per_token(self) -> int:
        """Two logits per bit (the AR head predicts ``(d, 2)``)."""
        return 2 * self.num_bits

    @property
    def label_shape(self) -> tuple[int, ...]:
        return (self.num_bits,)

    def code_scale(self, k: int) -> torch.Tensor:
        """``alpha_k`` (0-dim fp32 tensor)."""
        return self.log_scales[k].float().exp()

    # ---- per-scale quantisation ----------------------------------------------------------
    def bits_to_unit_codes(self, bits_channels_first: torch.Tensor) -> torch.Tensor:
        """Bits ``(N, d, h, w)`` in {0,1} -> unit-norm codes ``(2b - 1) / sqrt(d)``."""
        return (bits_channels_first.float() * 2 - 1) / math.sqrt(self.num_bits)

    def quantize_scale(self, residual: torch.Tensor, k: int):
        """Residual ``(N, d, h_k, w_k)`` -> codes ``(N, d, h_k, w_k)``, bits ``(N, h_k, w_k, d)``.

        ``aux`` holds this scale's (unweighted) ``entropy_sample`` and ``entropy_codebook``.
        """
        residual = residual.float()
        bits = residual > 0  # (N, d, h, w); zero counts as a negative bit
        codes = self.bits_to_unit_codes(bits) * self.code_scale(k)
        labels = bits.permute(0, 2, 3, 1).long()
        aux = {}
        if self.training and self.entropy_weight > 0:
            unit = F.normalize(residual, dim=1, eps=1e-6)
            logits = 2 * self.inv_temperature * unit / math.sqrt(self.num_bits)
            probs = torch.sigmoid(logits)  # P(bit = 1), (N, d, h, w)
            aux['entropy_sample'] = binary_entropy(probs).mean()
            marginal = probs.mean(dim=(0, 2, 3))  # (d,)
            aux['entropy_codebook'] = binary_entropy(marginal).mean()
        return codes, labels, aux

    def labels_to_codes(self, labels: torch.Tensor, k: int) -> torch.Tensor:
        """Bits ``(N, h_k, w_k, d)`` -> codes ``(N, d, h_k, w_k)``."""
        if labels.shape[-1] != self.num_bits:
            raise ValueError(
                f'BSQ labels of scale {k} must end with {self.num_bits} bits, '
                f'got shape {tuple(labels.shape)}.'
            )
        bits = labels.permute(0, 3, 1, 2)
        return self.bits_to_unit_codes(bits) * self.code_scale(k)

    # ---- losses and stats ----------------------------------------------------------------
    def combine_losses(self, latent, quantized, aux_terms):
        losses = {'loss_commit': self.commit_weight * F.mse_loss(latent, quantized.detach())}
        if self.learn_scales and self.codebook_weight > 0:
            losses['loss_codebook'] = self.codebook_weight * F.mse_loss(quantized, latent.detach())
        if 'entropy_sample' in aux_terms:
            sample = torch.stack(aux_terms['entropy_sample'])
            codebook = torch.stack(aux_terms['entropy_codebook'])
            penalty = self.sample_entropy_weight * sample - self.codebook_entropy_weight * codebook
            losses['loss_entropy'] = self.entropy_weight * penalty.mean()
        return losses

    @torch.no_grad()
    def usage_stats(self, labels: list[torch.Tensor]) -> dict[str, float]:
        stats = {}
        for k, bits in enumerate(labels):
            flat = bits.reshape(-1, self.num_bits)
            marginal = flat.float().mean(0)
            stats[f'usage/bits_s{k}'] = float(binary_entropy(marginal).mean())
            if self.num_bits <= 62:
                weights = 2 ** torch.arange(self.num_bits, device=flat.device, dtype=torch.long)
                packed = (flat * weights).sum(-1)
                stats[f'usage/unique_s{k}'] = torch.unique(packed).numel() / max(len(packed), 1)
        for k in range(self.num_scales):
            stats[f'scale/alpha_s{k}'] = float(self.code_scale(k))
        return stats
