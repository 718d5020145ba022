"""A positional encoding with no parameters: fixed sinusoids of (frame, scale, row, column).

The width ``C`` is split into four equal parts (any remainder stays zero); part ``a`` holds the
sinusoids ``[sin(p w_j), cos(p w_j)]`` of the token's integer position ``p`` on axis ``a`` with
the frequencies ``w_j = base ** (-j / (n / 2))``, as in the Transformer paper. The prefix
(condition) tokens get position ``-1`` on every axis, so they differ from every video token.
Being additive and fixed, it contrasts with the learned absolute table and with rotary encodings.
"""

from __future__ import annotations

import torch

from videoar.models.pos_encodings.base import BasePositionalEncoding
from videoar.models.sequence import LayoutCache, SequenceLayout
from videoar.registry import POS_ENCODINGS
from videoar.utils import ConfigError

AXES = 4  # frame, scale, row, column


def sinusoids(positions: torch.Tensor, width: int, base: float) -> torch.Tensor:
    """``(L,)`` integer positions -> ``(L, width)`` sinusoids (``width`` even)."""
    half = width // 2
    freqs = base ** (-torch.arange(half, dtype=torch.float64) / max(half, 1))
    angles = positions.double()[:, None] * freqs[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=-1).float()


@POS_ENCODINGS.register_module()
class SinusoidalFrameScalePE(BasePositionalEncoding):
    """Fixed additive sinusoids of ``(t, k, h, w)`` (see the module docstring).

    Args:
        base: the wavelength base (10000).
        scale: multiplier of the embedding (1.0).
        **model_args: the model's defaults (``dim`` is needed).
    """

    def __init__(self, *, base: float = 10000.0, scale: float = 1.0, **model_args) -> None:
        super().__init__(**model_args)
        if self.dim is None or self.dim < 2 * AXES:
            raise ConfigError(f'SinusoidalFrameScalePE needs dim >= {2 * AXES}, got {self.dim}.')
        if base <= 1.0:
            raise ConfigError(f'SinusoidalFrameScalePE base must be > 1, got {base}.')
        self.base, self.scale = float(base), float(scale)
        self.part = (self.dim // AXES) // 2 * 2  # an even width per axis
        self._tables = LayoutCache()

    def table(self, layout: SequenceLayout) -> torch.Tensor:
        """``(L, C)`` embedding of every token of ``layout`` (CPU, cached per layout)."""

        def build():
            axes = [layout.frame_index, layout.scale_index, *layout.spatial_index.unbind(-1)]
            parts = [sinusoids(p, self.part, self.base) for p in axes]
            table = torch.zeros(layout.total_len, self.dim)
            table[:, : self.part * AXES] = torch.cat(parts, dim=-1) * self.scale
            return table

        return self._tables.get(layout, build)

    def embedding(self, layout: SequenceLayout, start: int = 0, end: int | None = None):
        """``(end - start, C)`` rows of :meth:`table`."""
        end = layout.total_len if end is None else end
        if not 0 <= start <= end <= layout.total_len:
            raise IndexError(f'token range [{start}, {end}) is outside {layout.total_len} tokens.')
        return self.table(layout)[start:end]

    def extra_repr(self) -> str:
        return f'dim={self.dim}, base={self.base}, scale={self.scale}'
