"""Teacher-forcing inputs and labels of a video: per-frame residual pyramids in block order.

For every latent frame ``t`` and scale ``k`` (both 0-based) the algorithm of the method
reference (§4.1 sketch, in general form) is::

    cum = 0                                                    # frame t's running sum (N,d,h,w)
    for k in 0..K-1:
        input[t, k] = zeros (t == 0) or resize_to_scale(final cum of frame t-1, 0)   if k == 0
                      resize_to_scale(cum, k)                                          if k > 0
        codes, labels[t, k] = quantize_residual(latent_t - cum, k)     # target vs. the corrupted sum
        noisy = flip(labels[t, k], p[b, t, k])                          # bits: XOR; index: replace
        cum += codes_to_residual(labels_to_codes(noisy, k), k)          # requantise the noisy labels

so the inputs carry the injected errors and every target is the correction relative to the
(possibly corrupted) running sum (Infinity's bitwise self-correction, VideoAR's cross-frame
error correction). Block ``(0, 0)`` gets zeros: the model puts its start token there.

Quantisation is per frame, so frame ``t``'s running sum never depends on frame ``t - 1``; only
the *input* of scale 0 does. The implementation therefore folds the frames into the batch and
loops over the K scales only, then builds the scale-0 inputs from the previous frames' sums.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from .layout import SequenceLayout, get_layout


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


# ---- token <-> map helpers (shared with the sampler) -------------------------------------------
def flatten_tokens(x: torch.Tensor) -> torch.Tensor:
    """Scale map ``(B, d, h_k, w_k)`` -> tokens ``(B, h_k * w_k, d)`` (row-major)."""
    return x.flatten(2).transpose(1, 2)


def unflatten_tokens(tokens: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Tokens ``(B, h_k * w_k, d)`` (row-major) -> scale map ``(B, d, h_k, w_k)``."""
    h, w = size
    if tokens.shape[1] != h * w:
        raise ValueError(f'{tokens.shape[1]} tokens cannot form a {h}x{w} map.')
    return tokens.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], h, w)


def flatten_labels(labels: torch.Tensor) -> torch.Tensor:
    """Labels ``(B, h_k, w_k, *label_shape)`` -> ``(B, h_k * w_k, *label_shape)``."""
    return labels.flatten(1, 2)


def unflatten_labels(labels: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Labels ``(B, h_k * w_k, *label_shape)`` -> ``(B, h_k, w_k, *label_shape)``."""
    return labels.reshape(labels.shape[0], size[0], size[1], *labels.shape[2:])


def block_input(
    quantizer, k: int, running_sum: torch.Tensor | None, prev_frame_sum: torch.Tensor | None
) -> torch.Tensor | None:
    """The input map of block ``(t, k)``, as in teacher forcing; for the sampler.

    Args:
        quantizer: a :class:`MultiScaleQuantizer`.
        k: scale (0-based).
        running_sum: ``(N, d, h, w)`` sum of frame ``t``'s scales ``< k`` (unused for ``k = 0``).
        prev_frame_sum: ``(N, d, h, w)`` frame ``t - 1``'s final running sum, ``None`` for t = 0.

    Returns:
        ``(N, d, h_k, w_k)``, or ``None`` for block ``(0, 0)`` (the model's start token).
    """
    if k == 0:
        return None if prev_frame_sum is None else quantizer.resize_to_scale(prev_frame_sum, 0)
    return quantizer.resize_to_scale(running_sum, k)


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


@contextmanager
def _eval_mode(module: torch.nn.Module) -> Iterator[None]:
    """Run a frozen quantizer in eval mode (no EMA updates, no aux losses), then restore."""
    was_training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was_training)


# ---- the builder -------------------------------------------------------------------------------
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
    if latent.dim() != 5:
        raise ValueError(f'latent must be (B, d, T, h, w), got shape {tuple(latent.shape)}.')
    batch, dim, num_frames, height, width = latent.shape
    num_scales = quantizer.num_scales
    if (height, width) != tuple(quantizer.latent_size):
        quantizer.check_latent_size((height, width))
    if flip_prob is not None and tuple(flip_prob.shape) != (batch, num_frames, num_scales):
        raise ValueError(
            f'flip_prob must be (B, T, K) = {(batch, num_frames, num_scales)}, '
            f'got {tuple(flip_prob.shape)}.'
        )
    layout = get_layout(num_frames, quantizer.scale_sizes, 0)
    device = latent.device
    # (B*T', d, h, w): frames are independent for the residual loop
    frames = latent.float().permute(0, 2, 1, 3, 4).reshape(batch * num_frames, dim, height, width)
    probs = None
    if flip_prob is not None:
        probs = flip_prob.to(device=device, dtype=torch.float32).reshape(-1, num_scales)
    label_kind = quantizer.label_kind
    space = quantizer.label_space_size if label_kind == 'index' else None

    cum = torch.zeros_like(frames)
    inputs: list[torch.Tensor | None] = [None] * num_scales
    labels: list[torch.Tensor] = []
    sample_rates = torch.zeros(batch, num_frames, num_scales, device=device)
    with _eval_mode(quantizer):
        for k in range(num_scales):
            if k > 0:
                inputs[k] = quantizer.resize_to_scale(cum, k)
            codes, labels_k, _ = quantizer.quantize_residual(frames - cum, k)
            if probs is not None and bool((probs[:, k] > 0).any()):
                noisy = flip_labels(labels_k, probs[:, k], label_kind, space, generator)
                changed = (noisy != labels_k).reshape(batch, num_frames, -1).float()
                sample_rates[:, :, k] = changed.mean(dim=2)
                codes = quantizer.labels_to_codes(noisy, k)
            cum = cum + quantizer.codes_to_residual(codes, k).float()
            labels.append(labels_k)

        # scale 0: zeros for frame 0, else the previous frame's final running sum, resized
        sums = cum.reshape(batch, num_frames, dim, height, width)
        prev = torch.cat([torch.zeros_like(sums[:, :1]), sums[:, :-1]], dim=1)
        first = quantizer.resize_to_scale(prev.reshape_as(cum), 0)
        first = first.reshape(batch, num_frames, dim, *first.shape[-2:])
        first[:, 0] = 0
        inputs[0] = first.reshape(batch * num_frames, dim, *first.shape[-2:])

    token_inputs = [flatten_tokens(x.float()).reshape(batch, num_frames, -1, dim) for x in inputs]
    token_labels = [flatten_labels(y).reshape(batch, num_frames, -1, *y.shape[3:]) for y in labels]
    video_inputs = torch.cat(token_inputs, dim=2).reshape(batch, layout.video_len, dim)
    label_tail = token_labels[0].shape[3:]
    video_labels = torch.cat(token_labels, dim=2).reshape(batch, layout.video_len, *label_tail)
    reconstructed = sums.permute(0, 2, 1, 3, 4).contiguous()
    return FramePyramid(
        inputs=video_inputs,
        labels=video_labels,
        flip_rates=sample_rates.mean(dim=0),
        reconstructed=reconstructed,
        layout=layout,
        flip_probs=None if flip_prob is None else flip_prob.detach(),
        sample_flip_rates=sample_rates,
    )
