"""The attention kernel call of :class:`~videoar.models.transformers.layers.SelfAttention`:
precision policy and backend (SDPA or FlexAttention).

Precision (``precision``):

* ``'auto'`` (default): on CPU, queries/keys/values in bf16/fp16 (bf16 autocast) are upcast and
  attention runs in fp32 with autocast off, then the output is cast back. On this repository's
  CPUs the fp32 SDPA kernel is faster than the bf16 one at head sizes 32-64 (measured by
  ``tools/benchmark.py --only attention_precision``; see ``docs/performance.md``). On CUDA the
  inputs go to SDPA as they are, so its fused half-precision kernels are used.
* ``'fp32'``: always upcast (any device).
* ``'native'``: never upcast (the kernel runs in the autocast dtype).

Backends (``backend``):

* ``'sdpa'``: ``F.scaled_dot_product_attention`` with a boolean mask (``None`` = attend to all).
* ``'flex'``: ``torch.nn.attention.flex_attention`` with a ``BlockMask`` made from the dense mask.
  The block mask of a mask tensor is built once and reused while that tensor lives (the model's
  eval and static training masks are cached per layout, so they are built once per layout).
  ``flex_compile=True`` runs flex attention through ``torch.compile`` (the eager path is a slow
  reference implementation, useful for tests).
"""

from __future__ import annotations

import weakref

import torch
import torch.nn.functional as F

from videoar.utils import ConfigError, check_choice

try:  # FlexAttention (torch >= 2.5); optional
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention
except ImportError:  # pragma: no cover - older torch
    create_block_mask = flex_attention = None

ATTN_BACKENDS = ('sdpa', 'flex')
ATTN_PRECISIONS = ('auto', 'fp32', 'native')
HALF_DTYPES = (torch.bfloat16, torch.float16)


def needs_upcast(q: torch.Tensor, precision: str) -> bool:
    """Whether attention over ``q`` (and its keys/values) runs in fp32 under ``precision``."""
    if q.dtype not in HALF_DTYPES or precision == 'native':
        return False
    return precision == 'fp32' or q.device.type == 'cpu'


class FlexMaskCache:
    """``BlockMask`` per dense mask tensor, kept while the tensor is alive (weak reference)."""

    def __init__(self, max_entries: int = 32) -> None:
        self.max_entries = max_entries
        self._store: dict[int, tuple[weakref.ref, object]] = {}

    def get(self, mask: torch.Tensor | None, num_queries: int, num_keys: int, device):
        """The ``BlockMask`` of bool ``mask (B|1, 1, Lq, Lk)`` (``None``: full attention)."""
        key = id(mask)
        hit = self._store.get(key)
        if hit is not None and hit[0]() is mask:
            return hit[1]
        if mask is None:
            batch = None

            def mask_mod(b, h, q_idx, kv_idx):
                return q_idx >= 0

        else:
            dense = mask[:, 0]
            batch = dense.shape[0] if dense.shape[0] > 1 else None

            def mask_mod(b, h, q_idx, kv_idx):
                row = b if batch is not None else 0
                return dense[row, q_idx, kv_idx]

        block_mask = create_block_mask(
            mask_mod, batch, None, num_queries, num_keys, device=str(device)
        )
        if mask is not None:
            if len(self._store) >= self.max_entries:
                self._store = {k: v for k, v in self._store.items() if v[0]() is not None}
                while len(self._store) >= self.max_entries:
                    self._store.pop(next(iter(self._store)))
            self._store[key] = (weakref.ref(mask), block_mask)
        return block_mask


_COMPILED_FLEX = {}


def _flex_fn(compiled: bool):
    if not compiled:
        return flex_attention
    if 'fn' not in _COMPILED_FLEX:
        _COMPILED_FLEX['fn'] = torch.compile(flex_attention, dynamic=False)
    return _COMPILED_FLEX['fn']


class Attention:
    """Scaled dot-product attention with a precision policy and a backend (module docstring).

    Args:
        backend: ``'sdpa'`` or ``'flex'``.
        precision: ``'auto'``, ``'fp32'`` or ``'native'``.
        flex_compile: run the flex backend through ``torch.compile``.
    """

    def __init__(
        self, backend: str = 'sdpa', precision: str = 'auto', flex_compile: bool = True
    ) -> None:
        check_choice(backend, ATTN_BACKENDS, 'ARTransformer.attn_backend')
        check_choice(precision, ATTN_PRECISIONS, 'ARTransformer.attn_precision')
        if backend == 'flex' and flex_attention is None:
            raise ConfigError(
                f"ARTransformer.attn_backend='flex' needs torch >= 2.5 (FlexAttention); this is "
                f"torch {torch.__version__}. Use attn_backend='sdpa'."
            )
        self.backend = backend
        self.precision = precision
        self.flex_compile = bool(flex_compile)
        self.flex_masks = FlexMaskCache() if backend == 'flex' else None

    def __call__(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``q (B, H, Lq, Dh)``, ``k, v (B, H, Lk, Dh)``, bool ``mask (B|1, 1, Lq, Lk)`` or
        ``None`` -> ``(B, H, Lq, Dh)`` in ``q.dtype``."""
        if not needs_upcast(q, self.precision):
            return self._kernel(q, k, v, mask)
        with torch.autocast(q.device.type, enabled=False):
            out = self._kernel(q.float(), k.float(), v.float(), mask)
        return out.to(q.dtype)

    def _kernel(self, q, k, v, mask) -> torch.Tensor:
        k, v = k.to(q.dtype), v.to(q.dtype)
        if self.backend == 'sdpa':
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        block_mask = self.flex_masks.get(mask, q.shape[2], k.shape[2], q.device)
        return _flex_fn(self.flex_compile)(q, k, v, block_mask=block_mask)

    def __repr__(self) -> str:
        return f'Attention(backend={self.backend!r}, precision={self.precision!r})'


__all__ = ['ATTN_BACKENDS', 'ATTN_PRECISIONS', 'Attention', 'needs_upcast']
