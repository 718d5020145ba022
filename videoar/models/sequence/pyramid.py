"""The residual pyramid of latent frames: the one walk that teacher forcing, rebuilding inputs
from labels and the sampler all follow.

For latent frame ``t`` and scale ``k`` (both 0-based), with ``S_t`` the final running sum of
frame ``t``::

    cum = 0                                                            # (N, d, h, w)
    for k in 0..K-1:
        input[t, k] = resize_input_to_scale(S_{t-1}, 0)  (zeros, t = 0)  if k == 0
                      resize_input_to_scale(cum, k)                      if k > 0
        codes[t, k] = labels_to_codes(labels[t, k], k)     (teacher forcing: quantize_residual(
                                                            latent_t - cum, k), maybe flipped)
        cum += codes_to_residual(codes[t, k], k)
    S_t = cum

Inputs are resized with the quantizer's ``input_down_mode`` ('bilinear', the paper's Eq. 2 /
Eq. 6), which never changes a label; what scale ``k`` quantizes is resized with its ``down_mode``
inside ``quantize_residual``. The zeros of block ``(0, 0)`` are where the model puts its start
token. A change to any of these
rules is made in :class:`ResidualPyramid` and reaches training and sampling alike.

Two walks use the class:

* step by step (the sampler): the rows are ``B`` videos at frame ``t``; :meth:`~ResidualPyramid.
  scale_input` before the model predicts scale ``k``, :meth:`~ResidualPyramid.add_labels` with
  the drawn labels, :meth:`~ResidualPyramid.end_frame` after the last scale (its sum feeds the
  next frame's scale 0);
* all frames at once (:meth:`ResidualPyramid.walk`, teacher forcing and rebuilding from labels):
  each latent frame is quantized on its own, so a frame's running sum never depends on the
  previous frame; only the input of scale 0 does. The frames are folded into the rows (``(b t)``
  order), the K scales are walked once for all of them, and the scale-0 inputs follow from the
  previous frames' final sums. Loops run over the K scales only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from .layout import get_layout


# ---- token <-> map helpers ---------------------------------------------------------------------
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


def blocks_to_sequence(blocks: Sequence[torch.Tensor], batch: int, num_frames: int) -> torch.Tensor:
    """K per-scale token tensors ``(B * T', n_k, ...)`` (rows ``(b t)``) -> ``(B, T' * sum n_k,
    ...)`` in block order (frame by frame, scales within a frame)."""
    per_frame = [x.reshape(batch, num_frames, *x.shape[1:]) for x in blocks]
    joined = torch.cat(per_frame, dim=2)  # (B, T', tokens_per_frame, ...)
    return joined.flatten(1, 2)


# ---- the walk ----------------------------------------------------------------------------------
class ResidualPyramid:
    """The residual-pyramid walk of ``rows`` latent frames (see the module docstring).

    Args:
        quantizer: a :class:`MultiScaleQuantizer` (``scale_sizes``, ``embed_dim``,
            ``resize_input_to_scale``, ``labels_to_codes``, ``codes_to_residual``).
        rows: ``N``, the frames walked together.
        device: where the sums live.
        prev_sum: ``(N, d, h, w)`` final sum of each row's previous frame, or ``None`` (the rows
            are frame 0: scale 0 gets zeros).

    Attributes:
        running_sum: ``(N, d, h, w)`` fp32 sum of the current frame's scales added so far.
        prev_sum: the previous frame's final sums (or ``None``).
    """

    def __init__(
        self, quantizer, rows: int, device=None, prev_sum: torch.Tensor | None = None
    ) -> None:
        self.quantizer = quantizer
        self.rows = int(rows)
        self.device = torch.device(device) if device is not None else torch.device('cpu')
        if prev_sum is not None and prev_sum.shape[0] != self.rows:
            raise ValueError(f'prev_sum holds {prev_sum.shape[0]} rows, the walk {self.rows}.')
        self.prev_sum = prev_sum
        self.running_sum = self._zeros(quantizer.latent_size)

    def _zeros(self, size) -> torch.Tensor:
        dim = self.quantizer.embed_dim
        return torch.zeros(self.rows, dim, *size, dtype=torch.float32, device=self.device)

    def scale_input(self, k: int) -> torch.Tensor:
        """The input map of scale ``k`` of the current frame: ``(N, d, h_k, w_k)`` fp32."""
        if k > 0:
            return self.quantizer.resize_input_to_scale(self.running_sum, k)
        if self.prev_sum is None:
            return self._zeros(self.quantizer.scale_sizes[0])
        return self.quantizer.resize_input_to_scale(self.prev_sum, 0)

    def residual(self, latent: torch.Tensor) -> torch.Tensor:
        """What scale ``k`` quantizes: ``latent (N, d, h, w)`` minus the running sum."""
        return latent - self.running_sum

    def add_codes(self, codes: torch.Tensor, k: int) -> None:
        """Add the codes ``(N, d, h_k, w_k)`` of scale ``k`` to the running sum."""
        self.running_sum = self.running_sum + self.quantizer.codes_to_residual(codes, k).float()

    def add_labels(self, labels: torch.Tensor, k: int) -> None:
        """Add the labels ``(N, h_k, w_k, *label_shape)`` of scale ``k`` to the running sum."""
        self.add_codes(self.quantizer.labels_to_codes(labels, k), k)

    def end_frame(self) -> torch.Tensor:
        """End the current frame: returns its final sum ``(N, d, h, w)``, the next frame's
        ``prev_sum``, and starts the next frame at zero."""
        final = self.running_sum
        self.prev_sum = final
        self.running_sum = torch.zeros_like(final)
        return final

    @classmethod
    def walk(
        cls,
        quantizer,
        batch: int,
        num_frames: int,
        scale_codes: Callable[[int, ResidualPyramid], torch.Tensor],
        device=None,
        prev_sum: torch.Tensor | None = None,
    ) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Walk ``num_frames`` consecutive frames of ``batch`` videos at once.

        Args:
            scale_codes: ``(k, pyramid) -> codes (B * T', d, h_k, w_k)`` of scale ``k`` (called
                once per scale, in order; it may read ``pyramid.residual(latent)``).
            prev_sum: ``(B, d, h, w)`` final sum of the frame before the first, or ``None``.

        Returns:
            The K input maps ``(B * T', d, h_k, w_k)`` and the final sums ``(B * T', d, h, w)``,
            rows in ``(b t)`` order.
        """
        pyramid = cls(quantizer, batch * num_frames, device)
        inputs: list[torch.Tensor | None] = [None] * quantizer.num_scales
        for k in range(quantizer.num_scales):
            if k > 0:
                inputs[k] = pyramid.scale_input(k)
            pyramid.add_codes(scale_codes(k, pyramid), k)
        sums = pyramid.end_frame()
        pyramid.prev_sum = _previous_frames(sums, batch, num_frames, prev_sum)
        inputs[0] = pyramid.scale_input(0)
        return inputs, sums


def _previous_frames(
    sums: torch.Tensor, batch: int, num_frames: int, before: torch.Tensor | None
) -> torch.Tensor:
    """Rows ``(b t)`` -> the final sum of frame ``t - 1`` of each (``before`` or zeros at t = 0;
    zeros resize to zeros, as :meth:`ResidualPyramid.scale_input` gives without a previous
    frame)."""
    per_video = sums.unflatten(0, (batch, num_frames))
    first = torch.zeros_like(per_video[:, :1]) if before is None else before[:, None].to(sums)
    return torch.cat([first, per_video[:, :-1]], dim=1).flatten(0, 1)


# ---- uses of the walk --------------------------------------------------------------------------
@torch.no_grad()
def inputs_from_labels(
    quantizer, labels: torch.Tensor, num_frames: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Teacher-forcing inputs of given labels (what the sampler feeds when it draws them).

    Args:
        quantizer: a :class:`MultiScaleQuantizer`.
        labels: ``(B, T' * tokens_per_frame, *label_shape)`` in block order.
        num_frames: ``T'`` (the labels start at frame 0).

    Returns:
        ``inputs (B, Lv, d)`` fp32 (block (0, 0) zeros) and the frames' final sums
        ``(B, d, T', h, w)``.
    """
    layout = get_layout(num_frames, quantizer.scale_sizes, 0)
    batch = labels.shape[0]
    if labels.shape[1] != layout.video_len:
        raise ValueError(
            f'labels hold {labels.shape[1]} tokens; {num_frames} frames need {layout.video_len}.'
        )
    per_frame = labels.reshape(batch, num_frames, layout.tokens_per_frame, *labels.shape[2:])

    def scale_codes(k: int, pyramid: ResidualPyramid) -> torch.Tensor:
        lo, hi = layout.scale_offsets[k], layout.scale_offsets[k + 1]
        labels_k = unflatten_labels(per_frame[:, :, lo:hi].flatten(0, 1), layout.scale_sizes[k])
        return quantizer.labels_to_codes(labels_k, k)

    maps, sums = ResidualPyramid.walk(quantizer, batch, num_frames, scale_codes, labels.device)
    inputs = blocks_to_sequence([flatten_tokens(x) for x in maps], batch, num_frames)
    latent = sums.unflatten(0, (batch, num_frames)).permute(0, 2, 1, 3, 4).contiguous()
    return inputs, latent


def labels_to_latent(quantizer, labels: Sequence[torch.Tensor]) -> torch.Tensor:
    """K label maps ``(N, h_k, w_k, *label_shape)`` -> the quantized latent ``(N, d, h, w)``."""
    pyramid = ResidualPyramid(quantizer, labels[0].shape[0], labels[0].device)
    for k, labels_k in enumerate(labels):
        pyramid.add_labels(labels_k, k)
    return pyramid.end_frame()


__all__ = [
    'ResidualPyramid',
    'blocks_to_sequence',
    'flatten_labels',
    'flatten_tokens',
    'inputs_from_labels',
    'labels_to_latent',
    'unflatten_labels',
    'unflatten_tokens',
]
