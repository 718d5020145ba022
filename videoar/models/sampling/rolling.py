"""Rolling KV cache: sampling past the trained length with the last ``W`` latent frames cached.

A model trained on ``W`` latent frames samples frame ``t >= W`` at local frame ``W - 1`` of the
``W``-frame layout: before the frame starts, the cached keys/values of the oldest frame are
dropped, the other frames move one frame down the cache, and their keys are re-rotated from the
rotary positions of their old local frame to those of the new one (the key rotation of a rotary
encoding composes: ``R(new) = R(new - old) R(old)``, computed from the two tables, so any rotary
encoding works). The condition prefix stays where it is. Every query then sees the prefix and the
window at exactly the positions of a fresh ``W``-frame window.

What differs from a fresh window (and from re-encoding the window): the cached keys/values of the
kept frames were computed when they were sampled, so in layers after the first they carry what
those frames saw then (earlier frames, now dropped), and the window's first frame keeps its own
scale-0 input instead of the start token. ``docs/performance.md`` describes the trade-off and the
measured per-frame times.

Models with an additive positional embedding cannot re-position cached keys; they are refused
(use the re-encoding long-video path, ``WindowPlan(mode='reencode')``).
"""

from __future__ import annotations

import torch

from videoar.models.pos_encodings import apply_rotary
from videoar.models.sequence import SequenceLayout
from videoar.utils import ConfigError


def relative_rotation(
    new: tuple[torch.Tensor, torch.Tensor], old: tuple[torch.Tensor, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(cos, sin)`` of the rotation taking keys rotated by the ``old`` tables to the ``new``
    ones (angle ``new - old`` per frequency pair; rotate-half tables, fp32)."""
    cos_n, sin_n = (t.double() for t in new)
    cos_o, sin_o = (t.double() for t in old)
    cos = cos_n * cos_o + sin_n * sin_o
    sin = sin_n * cos_o - cos_n * sin_o
    return cos.float(), sin.float()


class RollingWindow:
    """Where frames of a long sampling run sit in a ``W``-frame cache, and the roll between them.

    Args:
        model: a ``VideoAR``.
        window: ``W``, latent frames kept (the trained length is the natural choice).

    Attributes:
        layout: the ``W``-frame layout every block is run in.
    """

    def __init__(self, model, window: int) -> None:
        window = int(window)
        if window < 1:
            raise ConfigError(
                f'the rolling window must hold at least one latent frame, got {window}.'
            )
        self.model = model
        self.window = window
        self.layout: SequenceLayout = model.layout(window)
        if model.additive_pe(self.layout, 0, 1) is not None:
            raise ConfigError(
                f'a rolling KV cache needs a rotary (or no) positional encoding; '
                f'{type(model.pos_encoding).__name__} adds position embeddings to the inputs, '
                "so cached keys cannot move. Use the re-encoding path (mode='reencode')."
            )

    def local_frame(self, t: int) -> int:
        """The local frame of global latent frame ``t`` (the last one once the window is full)."""
        return min(int(t), self.window - 1)

    def roll(self, cache) -> None:
        """Drop the oldest cached frame, move the others one frame down and re-rotate their keys.

        The cache must hold the prefix and ``W`` full frames.
        """
        layout, prefix = self.layout, self.layout.prefix_len
        tpf = layout.tokens_per_frame
        if cache.length != layout.total_len:
            raise RuntimeError(
                f'roll() needs a full window: {layout.total_len} cached tokens, got {cache.length}.'
            )
        device = cache.k.device
        keep = torch.cat([torch.arange(prefix), torch.arange(prefix + tpf, cache.length)])
        cache.select(keep.to(device))
        if self.model.pos_encoding is None:
            return
        old = self.model.rotary(layout, prefix + tpf, layout.total_len)
        if old is None:
            return
        new = self.model.rotary(layout, prefix, layout.total_len - tpf)
        cos, sin = relative_rotation(new, old)
        keys = cache.k[:, :, :, prefix : cache.length]
        keys.copy_(apply_rotary(keys, cos.to(device), sin.to(device)))


__all__ = ['RollingWindow', 'relative_rotation']
