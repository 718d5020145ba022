"""Teacher-forcing inputs and labels of a video, with the correctors' label flips.

The walk is :class:`~videoar.models.sequence.pyramid.ResidualPyramid`'s (see its module for the
formula); teacher forcing chooses the codes of every scale ``k`` of frame ``t`` as::

    codes, labels[t, k] = quantize_residual(latent_t - cum, k)    # target vs. the corrupted sum
    noisy = flip(labels[t, k], p[b, t, k])                         # bits: XOR; index: replace
    codes = labels_to_codes(noisy, k)                              # requantise the noisy labels

so the inputs carry the injected errors and every target is the correction relative to the
(possibly corrupted) running sum (Infinity's bitwise self-correction, VideoAR's cross-frame
error correction). Without flips the labels are the quantizer's own pyramid of each frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from videoar.utils import eval_mode

from .layout import SequenceLayout, get_layout
from .pyramid import ResidualPyramid, blocks_to_sequence, flatten_labels, flatten_tokens


@dataclass
class FramePyramid:
    """Teacher-forcing data of a batch of videos, in block order (prefix not included).

    Attributes:
        inputs: ``(B, video_len, d)`` fp32 token inputs; block ``(0, 0)`` is zeros (start token).
        labels: ``(B, video_len, *label_shape)`` long targets: bits ``(..., num_bits)`` or indices.
        flip_rates: ``(T', K)`` fp32, fraction of labels of block ``(t, k)`` that the corruption
            actually changed (0 without corruption).
        reconstructed: ``(B, d, T', h, w)`` fp32 running sums after the last scale (built from the
            corrupted labels when flips were applied).
        layout: the video layout (``prefix_len = 0``); ``get_layout(T', scale_sizes, P)`` adds a
            prefix.
        flip_probs: ``(B, T', K)`` the flip probabilities used, or ``None``.
        sample_flip_rates: ``(B, T', K)`` realised change rate per sample (``flip_rates`` is its
            mean over the batch).
    """

    inputs: torch.Tensor
    labels: torch.Tensor
    flip_rates: torch.Tensor
    reconstructed: torch.Tensor
    layout: SequenceLayout
    flip_probs: torch.Tensor | None = None
    sample_flip_rates: torch.Tensor | None = None

    def flip_rate_log(self, prefix: str = 'flip_rate') -> dict[str, torch.Tensor]:
        """Logging scalars: ``{prefix}/t{t}`` = mean realised rate of frame ``t`` over its scales
        and ``{prefix}/mean`` (all detached 0-dim tensors, no ``loss`` prefix)."""
        rates = self.flip_rates.detach()
        log = {f'{prefix}/t{t}': rates[t].mean() for t in range(rates.shape[0])}
        log[f'{prefix}/mean'] = rates.mean()
        return log


# ---- random helpers ----------------------------------------------------------------------------
def draw_uniform(shape, generator: torch.Generator | None, device) -> torch.Tensor:
    """``U[0, 1)`` drawn on the generator's device (so a CPU seed works for CUDA data)."""
    draw_device = generator.device if generator is not None else device
    return torch.rand(shape, generator=generator, device=draw_device).to(device)


def draw_randint(high: int, shape, generator: torch.Generator | None, device) -> torch.Tensor:
    draw_device = generator.device if generator is not None else device
    return torch.randint(0, high, shape, generator=generator, device=draw_device).to(device)


def flip_labels(
    labels: torch.Tensor,
    prob: torch.Tensor,
    label_kind: str,
    label_space_size: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Corrupt labels of one scale.

    Args:
        labels: ``(N, h_k, w_k, num_bits)`` bits or ``(N, h_k, w_k)`` indices (long).
        prob: ``(N,)`` flip probability per sample.
        label_kind: ``'bits'`` (XOR with Bernoulli(p)) or ``'index'`` (replace by a uniform random
            index with probability p; the replacement may equal the original, so the realised change
            rate is ``p * (1 - 1 / V)``).
        label_space_size: the codebook size ``V`` (index labels only).

    Returns:
        Corrupted labels, same shape and dtype.
    """
    view = (-1,) + (1,) * (labels.dim() - 1)
    flip = draw_uniform(labels.shape, generator, labels.device) < prob.to(labels.device).view(view)
    if label_kind == 'bits':
        return labels ^ flip.to(labels.dtype)
    if label_kind == 'index':
        if not label_space_size:
            raise ValueError('index labels need label_space_size to draw replacements.')
        random = draw_randint(label_space_size, labels.shape, generator, labels.device)
        return torch.where(flip, random.to(labels.dtype), labels)
    raise ValueError(f"label_kind must be 'bits' or 'index', got {label_kind!r}.")


# ---- the builder -------------------------------------------------------------------------------
def _check_shapes(latent: torch.Tensor, quantizer, flip_prob: torch.Tensor | None) -> None:
    if latent.dim() != 5:
        raise ValueError(f'latent must be (B, d, T, h, w), got shape {tuple(latent.shape)}.')
    batch, _, num_frames, height, width = latent.shape
    if (height, width) != tuple(quantizer.latent_size):
        quantizer.check_latent_size((height, width))
    expected = (batch, num_frames, quantizer.num_scales)
    if flip_prob is not None and tuple(flip_prob.shape) != expected:
        raise ValueError(f'flip_prob must be (B, T, K) = {expected}, got {tuple(flip_prob.shape)}.')


@torch.no_grad()
def build_teacher_forcing(
    latent: torch.Tensor,
    quantizer,
    flip_prob: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> FramePyramid:
    """Teacher-forcing inputs and (self-corrected) labels of every block of a video batch.

    Args:
        latent: ``(B, d, T', h, w)`` continuous latents of the frozen tokenizer.
        quantizer: a :class:`MultiScaleQuantizer` (frozen; run in eval mode, without gradients).
        flip_prob: ``(B, T', K)`` label-corruption probability per sample, frame and scale, or
            ``None`` (no corruption, the quantizer's own pyramid).
        generator: optional ``torch.Generator`` for the flips (on any device).

    Returns:
        A :class:`FramePyramid` (see there for shapes).
    """
    _check_shapes(latent, quantizer, flip_prob)
    batch, dim, num_frames = latent.shape[:3]
    num_scales = quantizer.num_scales
    device = latent.device
    # (B*T', d, h, w): frames are independent for the residual loop
    frames = latent.float().permute(0, 2, 1, 3, 4).flatten(0, 1)
    probs = None
    if flip_prob is not None:
        probs = flip_prob.to(device=device, dtype=torch.float32).reshape(-1, num_scales)
    space = quantizer.label_space_size if quantizer.label_kind == 'index' else None
    labels: list[torch.Tensor] = []
    sample_rates = torch.zeros(batch, num_frames, num_scales, device=device)

    def scale_codes(k: int, pyramid: ResidualPyramid) -> torch.Tensor:
        codes, labels_k, _ = quantizer.quantize_residual(pyramid.residual(frames), k)
        labels.append(labels_k)
        if probs is None or not bool((probs[:, k] > 0).any()):
            return codes
        noisy = flip_labels(labels_k, probs[:, k], quantizer.label_kind, space, generator)
        changed = (noisy != labels_k).reshape(batch, num_frames, -1).float()
        sample_rates[:, :, k] = changed.mean(dim=2)
        return quantizer.labels_to_codes(noisy, k)

    with eval_mode(quantizer):
        maps, sums = ResidualPyramid.walk(quantizer, batch, num_frames, scale_codes, device)
    return FramePyramid(
        inputs=blocks_to_sequence([flatten_tokens(x) for x in maps], batch, num_frames),
        labels=blocks_to_sequence([flatten_labels(y) for y in labels], batch, num_frames),
        flip_rates=sample_rates.mean(dim=0),
        reconstructed=sums.unflatten(0, (batch, num_frames)).permute(0, 2, 1, 3, 4).contiguous(),
        layout=get_layout(num_frames, quantizer.scale_sizes, 0),
        flip_probs=None if flip_prob is None else flip_prob.detach(),
        sample_flip_rates=sample_rates,
    )
