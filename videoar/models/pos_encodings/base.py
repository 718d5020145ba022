"""Positional-encoding interface and the shared rotary helpers.

A positional encoding is built by the model with ``dim`` (transformer width ``C``), ``head_dim``
(``Dh``), ``scale_sizes``, ``max_frames`` and ``max_prefix_len`` as default arguments; each class
accepts all five (ignoring what it does not need) plus its own options. It offers two hooks, both
taking a :class:`~videoar.models.sequence.SequenceLayout` and a token range ``[start, end)`` of the
full sequence (prefix included), so the KV-cached sampler asks for exactly the new block:

* ``embedding(layout, start, end)`` -> additive ``(end - start, C)`` or ``None``;
* ``rotary(layout, start, end)`` -> ``(cos, sin)`` each ``(end - start, Dh)`` fp32, or ``None``.

Rotary convention: *rotate-half* (GPT-NeoX / LLaMA-HF). Frequency pair ``j`` (``j < Dh/2``) rotates
channels ``(j, j + Dh/2)`` by the angle ``theta_j``; ``cos``/``sin`` hold ``[cos theta, cos theta]``
(the ``Dh/2`` angles written twice). :func:`apply_rotary` rotates in fp32 and returns ``x.dtype``
(the reference); the transformer uses :func:`rotary_tables` once per forward and
:func:`apply_rotary_tables` per layer, which rotate in the compute dtype with three operators
(``roll``, ``mul``, ``addcmul``) instead of casts, halves and a concatenation.
"""

from __future__ import annotations

import torch
from torch import nn

from videoar.models.sequence import SequenceLayout


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """``[x1, x2] -> [-x2, x1]`` on the last dimension (split in halves)."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate queries or keys.

    Args:
        x: ``(B, H, L, Dh)``.
        cos, sin: ``(L, Dh)`` (or anything broadcastable to ``x``), fp32.

    Returns:
        ``(B, H, L, Dh)`` in ``x.dtype``; the rotation itself is computed in fp32.
    """
    x_fp32 = x.float()
    out = x_fp32 * cos.float() + rotate_half(x_fp32) * sin.float()
    return out.to(x.dtype)


def rotary_tables(
    cos: torch.Tensor, sin: torch.Tensor, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(cos, signed_sin)`` in ``dtype`` for :func:`apply_rotary_tables`.

    ``signed_sin = [-sin_1, sin_2]`` (the halves of ``sin``), so that
    ``rotate_half(x) * sin == roll(x, Dh / 2) * signed_sin``. Shapes as given, e.g. ``(L, Dh)``.
    """
    half = sin.shape[-1] // 2
    sign = torch.ones(sin.shape[-1], dtype=sin.dtype, device=sin.device)
    sign[:half] = -1
    return cos.to(dtype), (sin * sign).to(dtype)


def apply_rotary_tables(
    x: torch.Tensor, cos: torch.Tensor, signed_sin: torch.Tensor
) -> torch.Tensor:
    """Rotate ``x (B, H, L, Dh)`` with tables from :func:`rotary_tables` (``(L, Dh)``, in the
    compute dtype); equals :func:`apply_rotary` up to that dtype's rounding."""
    return torch.addcmul(x * cos, x.roll(x.shape[-1] // 2, dims=-1), signed_sin)


def _resolve_range(layout: SequenceLayout, start: int, end: int | None) -> tuple[int, int]:
    end = layout.total_len if end is None else end
    if not 0 <= start <= end <= layout.total_len:
        raise IndexError(
            f'token range [{start}, {end}) is outside the layout of {layout.total_len} tokens.'
        )
    return start, end


class BasePositionalEncoding(nn.Module):
    """Base class: no embedding and no rotary tables (subclasses override one or both).

    Subclasses take their own options as keyword-only arguments and pass the five model defaults
    below on to this constructor as ``**model_args``, then read them from the attributes.

    Args:
        dim: transformer width ``C``.
        head_dim: attention head dimension ``Dh``.
        scale_sizes: the model's scale schedule ``[(h_1, w_1), ..., (h_K, w_K)]``.
        max_frames: most latent frames the model is built for.
        max_prefix_len: most prefix (condition) tokens.
    """

    def __init__(
        self,
        dim: int | None = None,
        head_dim: int | None = None,
        scale_sizes=None,
        max_frames: int | None = None,
        max_prefix_len: int | None = None,
    ) -> None:
        super().__init__()
        self.dim = dim
        self.head_dim = head_dim
        self.scale_sizes = (
            None if scale_sizes is None else [tuple(map(int, s)) for s in _pairs(scale_sizes)]
        )
        self.max_frames = max_frames
        self.max_prefix_len = max_prefix_len

    def embedding(
        self, layout: SequenceLayout, start: int = 0, end: int | None = None
    ) -> torch.Tensor | None:
        """Additive embedding ``(end - start, C)`` of tokens ``[start, end)``, or ``None``."""
        return None

    def rotary(
        self, layout: SequenceLayout, start: int = 0, end: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Rotary tables ``(cos, sin)``, each ``(end - start, Dh)``, or ``None``."""
        return None


def _pairs(scale_sizes) -> list[tuple[int, int]]:
    return [(s, s) if isinstance(s, int) else tuple(s) for s in scale_sizes]
