"""The (frame, scale) layout of the autoregressive sequence.

The sequence is ``[prefix (P tokens) | frame 0: scale 0..K-1 | frame 1: scale 0..K-1 | ...]``.
Each ``(frame t, scale k)`` is one *block* of ``h_k * w_k`` tokens, flattened row-major. A
:class:`SequenceLayout` holds, for every position of the sequence, which prefix token or which
block and cell it is. Everything is derived from ``(num_frames, scale_sizes, prefix_len)``, so a
layout is hashable and the index tensors (CPU, ``long``) are built once and cached; masks, rotary
tables and positional embeddings are cached per layout on top of them.

Example: ``get_layout(2, [(1, 1), (2, 2)], prefix_len=1)`` gives ``L = 1 + 2 * 5 = 11``::

    position      0 | 1 | 2 3 4 5 | 6 | 7 8 9 10
    prefix_index  0 |-1 |-1 ...   |-1 |-1 ...
    frame_index  -1 | 0 | 0 0 0 0 | 1 | 1 1 1 1
    scale_index  -1 | 0 | 1 1 1 1 | 0 | 1 1 1 1
    block_index  -1 | 0 | 1 1 1 1 | 2 | 3 3 3 3
    spatial_index (-1,-1) | (0,0) | (0,0) (0,1) (1,0) (1,1) | ...
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

import torch

from videoar.utils import ConfigError, check_scale_sizes


@dataclass(frozen=True)
class SequenceLayout:
    """Token layout of ``num_frames`` latent frames of ``K`` scales after ``prefix_len`` tokens.

    Build it with :func:`get_layout` (cached). All index tensors are CPU ``long`` tensors of length
    ``L = total_len``; move them with ``.to(device)`` where needed (masks and tables built from
    them are cached per device by their owners).

    Attributes:
        num_frames: latent frames ``T'``.
        scale_sizes: ``((h_1, w_1), ..., (h_K, w_K))``.
        prefix_len: condition tokens ``P`` in front of the video (0 for AdaLN conditioning).
    """

    num_frames: int
    scale_sizes: tuple[tuple[int, int], ...]
    prefix_len: int

    # ---- sizes ---------------------------------------------------------------------------
    @property
    def num_scales(self) -> int:
        return len(self.scale_sizes)

    @property
    def num_blocks(self) -> int:
        """``T' * K``."""
        return self.num_frames * self.num_scales

    @cached_property
    def tokens_per_scale(self) -> tuple[int, ...]:
        """``(h_1 w_1, ..., h_K w_K)``."""
        return tuple(h * w for h, w in self.scale_sizes)

    @cached_property
    def scale_offsets(self) -> tuple[int, ...]:
        """Start of each scale inside one frame (``K + 1`` entries, the last = tokens_per_frame)."""
        offsets = [0]
        for n in self.tokens_per_scale:
            offsets.append(offsets[-1] + n)
        return tuple(offsets)

    @property
    def tokens_per_frame(self) -> int:
        return self.scale_offsets[-1]

    @property
    def video_len(self) -> int:
        """Video tokens ``T' * tokens_per_frame``."""
        return self.num_frames * self.tokens_per_frame

    @property
    def total_len(self) -> int:
        """``L = P + video_len``."""
        return self.prefix_len + self.video_len

    # ---- slices --------------------------------------------------------------------------
    def video_block_slice(self, t: int, k: int) -> slice:
        """Positions of block ``(t, k)`` inside the video part (``inputs``/``labels`` of a pyramid)."""
        if not (0 <= t < self.num_frames and 0 <= k < self.num_scales):
            raise IndexError(
                f'block (t={t}, k={k}) is outside the layout of {self.num_frames} frames and '
                f'{self.num_scales} scales.'
            )
        start = t * self.tokens_per_frame + self.scale_offsets[k]
        return slice(start, start + self.tokens_per_scale[k])

    def block_slice(self, t: int, k: int) -> slice:
        """Positions of block ``(t, k)`` in the full sequence (prefix included)."""
        inner = self.video_block_slice(t, k)
        return slice(inner.start + self.prefix_len, inner.stop + self.prefix_len)

    def frame_slice(self, t: int) -> slice:
        """Positions of all blocks of frame ``t`` in the full sequence."""
        start = self.block_slice(t, 0).start
        return slice(start, start + self.tokens_per_frame)

    @property
    def prefix_slice(self) -> slice:
        return slice(0, self.prefix_len)

    @property
    def video_slice(self) -> slice:
        return slice(self.prefix_len, self.total_len)

    # ---- index tensors (CPU long, length L) ---------------------------------------------
    @cached_property
    def _video_frame_scale(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-frame ``scale (tpf,)``, ``h (tpf,)``, ``w (tpf,)`` for one frame."""
        scales, rows, cols = [], [], []
        for k, (h, w) in enumerate(self.scale_sizes):
            grid_h, grid_w = torch.meshgrid(torch.arange(h), torch.arange(w), indexing='ij')
            rows.append(grid_h.reshape(-1))
            cols.append(grid_w.reshape(-1))
            scales.append(torch.full((h * w,), k, dtype=torch.long))
        return torch.cat(scales), torch.cat(rows), torch.cat(cols)

    def _with_prefix(self, video_values: torch.Tensor, prefix_value: int = -1) -> torch.Tensor:
        prefix = torch.full(
            (self.prefix_len, *video_values.shape[1:]), prefix_value, dtype=torch.long
        )
        return torch.cat([prefix, video_values])

    @cached_property
    def is_prefix(self) -> torch.Tensor:
        """``(L,)`` bool: True on the prefix."""
        return torch.arange(self.total_len) < self.prefix_len

    @cached_property
    def frame_index(self) -> torch.Tensor:
        """``(L,)`` latent frame ``t`` of each token, ``-1`` on the prefix."""
        frames = torch.arange(self.num_frames).repeat_interleave(self.tokens_per_frame)
        return self._with_prefix(frames)

    @cached_property
    def scale_index(self) -> torch.Tensor:
        """``(L,)`` scale ``k`` of each token, ``-1`` on the prefix."""
        return self._with_prefix(self._video_frame_scale[0].repeat(self.num_frames))

    @cached_property
    def block_index(self) -> torch.Tensor:
        """``(L,)`` block id ``t * K + k``, ``-1`` on the prefix (non-decreasing along L)."""
        video = self.frame_index[self.prefix_len :] * self.num_scales
        video = video + self.scale_index[self.prefix_len :]
        return self._with_prefix(video)

    @cached_property
    def spatial_index(self) -> torch.Tensor:
        """``(L, 2)`` raw ``(h, w)`` cell inside the token's scale, ``-1`` on the prefix."""
        _, rows, cols = self._video_frame_scale
        video = torch.stack([rows, cols], dim=-1).repeat(self.num_frames, 1)
        return self._with_prefix(video)

    @cached_property
    def prefix_index(self) -> torch.Tensor:
        """``(L,)`` ``i`` for prefix token ``i``, ``-1`` on video tokens."""
        index = torch.arange(self.total_len)
        return torch.where(self.is_prefix, index, torch.full_like(index, -1))

    @cached_property
    def token_in_frame_index(self) -> torch.Tensor:
        """``(L,)`` position of the token inside its frame (``0..tokens_per_frame-1``), ``-1``
        on the prefix (the row of a per-(scale, h, w) table such as VAR's positions)."""
        within = torch.arange(self.tokens_per_frame).repeat(self.num_frames)
        return self._with_prefix(within)

    def __repr__(self) -> str:
        return (
            f'SequenceLayout(num_frames={self.num_frames}, scale_sizes={self.scale_sizes}, '
            f'prefix_len={self.prefix_len}, total_len={self.total_len})'
        )


def normalize_scale_sizes(scale_sizes) -> tuple[tuple[int, int], ...]:
    """``[(h, w) | int, ...]`` -> a hashable, checked ``((h, w), ...)``."""
    if isinstance(scale_sizes, torch.Tensor):
        scale_sizes = scale_sizes.tolist()
    return tuple(tuple(s) for s in check_scale_sizes(scale_sizes))


class LayoutCache:
    """A small LRU cache keyed by ``(layout, device, ...)`` for masks and tables built from a layout."""

    def __init__(self, max_entries: int = 16) -> None:
        self.max_entries = max_entries
        self._store: OrderedDict = OrderedDict()

    def get(self, key, build):
        if key in self._store:
            self._store.move_to_end(key)
            return self._store[key]
        value = build()
        self._store[key] = value
        while len(self._store) > self.max_entries:
            self._store.popitem(last=False)
        return value

    def clear(self) -> None:
        self._store.clear()


@lru_cache(maxsize=128)
def _cached_layout(num_frames: int, scale_sizes, prefix_len: int) -> SequenceLayout:
    return SequenceLayout(num_frames, scale_sizes, prefix_len)


def get_layout(num_frames: int, scale_sizes: Sequence, prefix_len: int = 0) -> SequenceLayout:
    """The (cached) layout of ``num_frames`` frames over ``scale_sizes`` after ``prefix_len`` tokens.

    ``scale_sizes`` may be a list of ``(h, w)`` pairs or ints (square scales). The same arguments
    return the same object, so caches keyed by the layout hit.
    """
    if int(num_frames) < 1:
        raise ConfigError(f'num_frames must be >= 1 latent frame, got {num_frames}.')
    if int(prefix_len) < 0:
        raise ConfigError(f'prefix_len must be >= 0, got {prefix_len}.')
    return _cached_layout(int(num_frames), normalize_scale_sizes(scale_sizes), int(prefix_len))
