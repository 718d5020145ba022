"""An explicit key/value cache for autoregressive sampling.

The sampler creates a :class:`KVCache`, passes it to every transformer forward, and resets or
trims it; the transformer modules hold no hidden caching state, so the model and the sampling
loop stay apart.

Storage is preallocated: ``k`` and ``v`` are ``(num_layers, B, H, max_len, Dh)`` and ``length``
points one past the last cached position. During one transformer forward with ``L`` new tokens,
layer ``i`` writes its keys/values at ``[length, length + L)`` (:meth:`write`) and attends to
``[0, length + L)``; the transformer then calls :meth:`advance` once, after the last layer.
"""

from __future__ import annotations

import torch


class KVCache:
    """Preallocated per-layer key/value storage shared by one sampling run.

    Args:
        num_layers: number of transformer blocks.
        batch_size: ``B`` of the sampling forward (``2B`` when CFG is batched).
        num_heads: attention heads ``H``.
        max_len: maximum number of cached tokens.
        head_dim: ``Dh``.
        device, dtype: storage placement.

    Attributes:
        k, v: ``(num_layers, B, H, max_len, Dh)``.
        length: number of valid cached positions (the same for every layer between forwards).
    """

    def __init__(
        self,
        num_layers: int,
        batch_size: int,
        num_heads: int,
        max_len: int,
        head_dim: int,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        shape = (num_layers, batch_size, num_heads, max_len, head_dim)
        self.k = torch.zeros(shape, device=device, dtype=dtype)
        self.v = torch.zeros(shape, device=device, dtype=dtype)
        self.length = 0

    # ---- sizes -------------------------------------------------------------------------
    @property
    def num_layers(self) -> int:
        return self.k.shape[0]

    @property
    def batch_size(self) -> int:
        return self.k.shape[1]

    @property
    def max_len(self) -> int:
        return self.k.shape[3]

    def __len__(self) -> int:
        return self.length

    # ---- used by the attention layers ----------------------------------------------------
    def write(
        self, layer: int, k: torch.Tensor, v: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Store the new keys/values of ``layer`` and return all keys/values seen so far.

        Args:
            k, v: ``(B, H, L, Dh)`` for the ``L`` new tokens.

        Returns:
            ``(k_all, v_all)``, each ``(B, H, length + L, Dh)`` (views into the storage).
        """
        end = self.length + k.shape[2]
        if end > self.max_len:
            raise RuntimeError(
                f'KVCache overflow: {self.length} cached + {k.shape[2]} new tokens exceed '
                f'max_len={self.max_len}; allocate a larger cache or truncate() it first.'
            )
        if k.shape[0] != self.batch_size:
            raise RuntimeError(
                f'KVCache was allocated for batch {self.batch_size}, got keys of batch '
                f'{k.shape[0]}.'
            )
        self.k[layer, :, :, self.length : end] = k.to(self.k.dtype)
        self.v[layer, :, :, self.length : end] = v.to(self.v.dtype)
        return self.k[layer, :, :, :end], self.v[layer, :, :, :end]

    def advance(self, num_tokens: int) -> None:
        """Move the length pointer past ``num_tokens`` tokens written by every layer."""
        if self.length + num_tokens > self.max_len:
            raise RuntimeError('KVCache.advance past max_len.')
        self.length += int(num_tokens)

    # ---- used by the sampler -------------------------------------------------------------
    def reset(self) -> None:
        """Forget every cached token (storage is kept)."""
        self.length = 0

    def truncate(self, num_tokens: int) -> None:
        """Keep only the first ``num_tokens`` cached positions."""
        if not 0 <= num_tokens <= self.length:
            raise ValueError(f'truncate({num_tokens}) with {self.length} cached tokens.')
        self.length = int(num_tokens)

    def select(self, keep: torch.Tensor) -> None:
        """Rebuild the cache from a subset of its positions, in the given order.

        Used for long-video windows: e.g. keep the prefix and the last ``w`` frames and drop
        the rest. Keys keep whatever rotary phase they were written with, so relative RoPE
        positions between kept tokens are unchanged.

        Args:
            keep: ``(n,)`` long indices into ``[0, length)``.
        """
        keep = keep.to(device=self.k.device, dtype=torch.long)
        if keep.numel() and (int(keep.min()) < 0 or int(keep.max()) >= self.length):
            raise ValueError(f'select() indices must lie in [0, {self.length}).')
        n = keep.numel()
        self.k[:, :, :, :n] = self.k.index_select(3, keep)
        self.v[:, :, :, :n] = self.v.index_select(3, keep)
        self.length = n

    def __repr__(self) -> str:
        layers, batch, heads, max_len, head_dim = self.k.shape
        return (
            f'KVCache(layers={layers}, batch={batch}, heads={heads}, head_dim={head_dim}, '
            f'length={self.length}/{max_len}, dtype={self.k.dtype})'
        )
