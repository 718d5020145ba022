"""Building blocks of the decoder-only transformer (LLaMA style, with optional AdaLN).

Each block is pre-norm: ``x = x + attn(norm(x)); x = x + ffn(norm(x))``. With AdaLN
conditioning (VAR) the norms are modulated by ``(1 + scale)`` and ``shift`` and the residual
branches are gated, all from the pooled condition; the modulation is zero-initialised, so each
block starts as the identity (DiT).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from videoar.models.pos_encodings import apply_rotary_tables

from .attention import Attention


class RMSNorm(nn.Module):
    """Root-mean-square norm computed in fp32, cast back to the input dtype.

    Written out rather than ``F.rms_norm``: on this repository's CPU the fused op made KV-cached
    sampling of the tiny model 1.3x slower (``docs/performance.md``).

    Args:
        dim: size of the last axis.
        eps: added to the mean square.
        elementwise_affine: learn a per-channel gain (initialised to 1).
    """

    def __init__(self, dim: int, eps: float = 1e-6, elementwise_affine: bool = True) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim)) if elementwise_affine else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., dim) -> (..., dim)``."""
        x_fp32 = x.float()
        out = x_fp32 * torch.rsqrt(x_fp32.pow(2).mean(-1, keepdim=True) + self.eps)
        if self.weight is not None:
            out = out * self.weight.float()
        return out.to(x.dtype)


def ffn_hidden_dim(dim: int, multiple_of: int = 8) -> int:
    """SwiGLU hidden width: ``8/3 * dim`` rounded up to a multiple of ``multiple_of``.

    This keeps the FFN at about ``8 dim^2`` parameters, like a 4x GELU MLP.
    """
    hidden = int(8 * dim / 3)
    return multiple_of * math.ceil(hidden / multiple_of)


class SwiGLU(nn.Module):
    """``w2(silu(w1 x) * w3 x)`` with bias-free linears. ``(B, L, C) -> (B, L, C)``."""

    def __init__(self, dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.w1 = nn.Linear(dim, hidden_dim, bias=False)
        self.w3 = nn.Linear(dim, hidden_dim, bias=False)
        self.w2 = nn.Linear(hidden_dim, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class SelfAttention(nn.Module):
    """Multi-head self-attention through an :class:`~.attention.Attention` kernel call (SDPA by
    default; fp32 attention inside bf16 autocast on CPU).

    Args:
        dim: width ``C``.
        num_heads: heads ``H``; ``head_dim = C / H``.
        qk_norm: RMS-normalise queries and keys per head before RoPE (stabilises training).
        layer_index: this block's index, used to address the :class:`KVCache`.
        attention: the kernel call (default ``Attention()``: SDPA, precision ``'auto'``).
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        qk_norm: bool = False,
        layer_index: int = 0,
        attention: Attention | None = None,
    ):
        super().__init__()
        self.attention = attention if attention is not None else Attention()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.layer_index = layer_index
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim, bias=False)
        self.q_norm = RMSNorm(self.head_dim) if qk_norm else nn.Identity()
        self.k_norm = RMSNorm(self.head_dim) if qk_norm else nn.Identity()

    def forward(
        self,
        x: torch.Tensor,
        attn_mask: torch.Tensor | None = None,
        rotary: tuple[torch.Tensor, torch.Tensor] | None = None,
        cache=None,
    ) -> torch.Tensor:
        """Attend ``x (B, L, C)``; returns ``(B, L, C)``.

        Args:
            attn_mask: bool ``(B|1, L, Lk)``, True = may attend; ``None`` = attend to all.
            rotary: ``(cos, signed_sin)`` of :func:`~videoar.models.pos_encodings.rotary_tables`,
                each ``(L, Dh)`` in the compute dtype, applied to the new queries and keys.
            cache: a :class:`KVCache`; keys/values of ``x`` are written after the cached ones
                and the queries attend over ``Lk = cached + L`` keys.
        """
        batch, length, dim = x.shape
        qkv = self.qkv(x).view(batch, length, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, H, L, Dh)
        q, k = self.q_norm(q), self.k_norm(k)
        if rotary is not None:
            q = apply_rotary_tables(q, *rotary)
            k = apply_rotary_tables(k, *rotary)
        if cache is not None:
            k, v = cache.write(self.layer_index, k, v)
        mask = None if attn_mask is None else attn_mask.unsqueeze(1)  # (B|1, 1, L, Lk)
        out = self.attention(q, k, v, mask)
        return self.proj(out.transpose(1, 2).reshape(batch, length, dim))


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """AdaLN: ``x * (1 + scale) + shift`` with ``shift, scale`` of shape ``(B, C)``."""
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


class TransformerBlock(nn.Module):
    """Pre-norm attention + SwiGLU block, optionally AdaLN-modulated.

    Args:
        dim, num_heads, ffn_dim, qk_norm, norm_eps: sizes and options.
        adaln: ``None`` (plain block), ``'shared'`` (modulation given from outside, VAR's shared
            AdaLN) or ``'block'`` (this block owns its ``SiLU -> Linear(C, 6C)`` modulation).
        layer_index: index used to address the KV cache.
        attention: the attention kernel call (see :class:`SelfAttention`).
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        ffn_dim: int,
        qk_norm: bool = False,
        norm_eps: float = 1e-6,
        adaln: str | None = None,
        layer_index: int = 0,
        attention: Attention | None = None,
    ) -> None:
        super().__init__()
        self.adaln = adaln
        affine = adaln is None  # AdaLN supplies the scale/shift itself
        self.attn_norm = RMSNorm(dim, norm_eps, elementwise_affine=affine)
        self.attn = SelfAttention(dim, num_heads, qk_norm, layer_index, attention)
        self.ffn_norm = RMSNorm(dim, norm_eps, elementwise_affine=affine)
        self.ffn = SwiGLU(dim, ffn_dim)
        if adaln == 'block':
            self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim, bias=True))

    def forward(
        self,
        x: torch.Tensor,
        attn_mask: torch.Tensor | None = None,
        rotary: tuple[torch.Tensor, torch.Tensor] | None = None,
        cond: torch.Tensor | None = None,
        cache=None,
    ) -> torch.Tensor:
        """``x (B, L, C)`` -> ``(B, L, C)``.

        ``cond``: ``(B, C)`` pooled condition (``'block'``) or ``(B, 6, C)`` precomputed
        modulation (``'shared'``); ignored when ``adaln`` is None.
        """
        if self.adaln is None:
            x = x + self.attn(self.attn_norm(x), attn_mask, rotary, cache)
            return x + self.ffn(self.ffn_norm(x))
        mod = self.modulation(cond).unflatten(-1, (6, -1)) if self.adaln == 'block' else cond
        shift_a, scale_a, gate_a, shift_f, scale_f, gate_f = mod.unbind(1)
        h = modulate(self.attn_norm(x), shift_a, scale_a)
        x = x + gate_a.unsqueeze(1) * self.attn(h, attn_mask, rotary, cache)
        h = modulate(self.ffn_norm(x), shift_f, scale_f)
        return x + gate_f.unsqueeze(1) * self.ffn(h)
