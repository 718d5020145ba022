"""Attention masks over the (frame, scale) layout: block-causal, sliding window, random frame.

``forward(layout, batch_size, training, generator=None, device=None) -> bool (B or 1, L, L)``;
``True`` means the query (row) may attend to the key (column). Rules shared by all masks:

* prefix queries see the prefix causally (``j <= i``; ``prefix_causal=False`` makes the prefix
  bidirectional) and never see video;
* a video query of block ``(t, k)`` sees the whole prefix, the blocks ``(t, 0..k)`` of its own
  frame (bidirectionally inside its block) and the blocks of earlier frames ``t' < t`` the mask
  lets through. Because blocks are numbered ``t * K + k`` in sequence order, "own coarser scales
  or earlier frames" is simply ``block(key) <= block(query)``.

Deterministic masks are built once per ``(layout, device)`` from comparisons of the layout's
index vectors and returned with batch dimension 1 (broadcast over the batch). Padding of a
variable-length prefix is not handled here: the model combines the mask with its key-padding mask.
"""

from __future__ import annotations

import torch
from torch import nn

from videoar.models.sequence import LayoutCache, SequenceLayout, draw_uniform
from videoar.registry import MASKINGS
from videoar.utils import ConfigError


def block_causal_mask(
    layout: SequenceLayout, window: int | None = None, prefix_causal: bool = True
) -> torch.Tensor:
    """``(L, L)`` bool block-causal mask (CPU); earlier frames limited to ``[t - window, t - 1]``."""
    is_prefix = layout.is_prefix
    block = layout.block_index
    frame = layout.frame_index
    position = torch.arange(layout.total_len)
    q_prefix, k_prefix = is_prefix[:, None], is_prefix[None, :]
    prefix_rows = q_prefix & k_prefix
    if prefix_causal:
        prefix_rows = prefix_rows & (position[None, :] <= position[:, None])
    video_to_prefix = ~q_prefix & k_prefix
    video_to_video = ~q_prefix & ~k_prefix & (block[None, :] <= block[:, None])
    if window is not None:
        video_to_video = video_to_video & (frame[:, None] - frame[None, :] <= window)
    return prefix_rows | video_to_prefix | video_to_video


def earlier_frame_pairs(layout: SequenceLayout) -> torch.Tensor:
    """``(L, L)`` bool: video query and video key of a strictly earlier frame."""
    video = ~layout.is_prefix
    frame = layout.frame_index
    return video[:, None] & video[None, :] & (frame[None, :] < frame[:, None])


class BaseMasking(nn.Module):
    """Base class: caches the deterministic mask of :meth:`static_mask` per (layout, device).

    Args:
        window: earlier frames visible to a query of frame ``t`` are ``[t - window, t - 1]``
            (``None`` = all earlier frames, ``0`` = none).
        prefix_causal: prefix tokens attend causally among themselves (else bidirectionally).
    """

    def __init__(self, window: int | None = None, prefix_causal: bool = True) -> None:
        super().__init__()
        if window is not None and (int(window) != window or window < 0):
            raise ConfigError(
                f'{type(self).__name__}: window must be None (all earlier frames) or an int '
                f'>= 0 (number of earlier latent frames visible), got {window!r}.'
            )
        self.window = None if window is None else int(window)
        self.prefix_causal = bool(prefix_causal)
        self._masks = LayoutCache()

    def static_mask(self, layout: SequenceLayout, device=None) -> torch.Tensor:
        """The deterministic (eval) mask ``(1, L, L)`` bool on ``device`` (cached)."""
        device = torch.device('cpu') if device is None else torch.device(device)

        def build():
            mask = block_causal_mask(layout, self.window, self.prefix_causal)
            return mask.unsqueeze(0).to(device)

        return self._masks.get((layout, str(device)), build)

    def forward(
        self,
        layout: SequenceLayout,
        batch_size: int,
        training: bool,
        generator: torch.Generator | None = None,
        device=None,
    ) -> torch.Tensor:
        """Attention mask ``(B or 1, L, L)`` bool, ``True`` = may attend.

        In eval the deterministic :meth:`static_mask`; in training :meth:`training_mask` of it.
        """
        static = self.static_mask(layout, device)
        if not training:
            return static
        return self.training_mask(static, layout, batch_size, generator)

    def training_mask(self, static, layout, batch_size, generator) -> torch.Tensor:
        """The training mask ``(B or 1, L, L)`` bool of ``batch_size`` samples, given the
        ``(1, L, L)`` :meth:`static_mask` of ``layout``; ``generator`` (or ``None``) draws any
        randomness. Here the static mask itself; random masks override this."""
        return static

    def extra_repr(self) -> str:
        return f'window={self.window}, prefix_causal={self.prefix_causal}'


@MASKINGS.register_module()
class BlockCausalMask(BaseMasking):
    """VAR's block-causal mask extended to frames: block ``(t, k)`` sees the prefix, blocks
    ``(t, 0..k)`` and every block of every earlier frame."""

    def __init__(self, prefix_causal: bool = True) -> None:
        super().__init__(window=None, prefix_causal=prefix_causal)


@MASKINGS.register_module()
class SlidingWindowMask(BaseMasking):
    """Block-causal, but a query of frame ``t`` sees earlier frames only in ``[t - window, t - 1]``.

    Args:
        window: number of earlier latent frames visible (``0``: only the current frame and the
            prefix).
    """

    def __init__(self, window: int, prefix_causal: bool = True) -> None:
        super().__init__(window=window, prefix_causal=prefix_causal)


@MASKINGS.register_module()
class RandomFrameMask(BaseMasking):
    """VideoAR's Random Frame Mask (the VideoAR paper, arXiv 2601.05966).

    In training, per sample and per query frame ``t``, each earlier frame ``t'`` inside the window
    ``[t - window, t - 1]`` stays visible with probability ``1 - drop_prob`` (all its blocks
    together; frames outside the window are hidden as in :class:`SlidingWindowMask`). The prefix
    and the current frame's own coarser scales are always visible. Frame ``t - 1`` still reaches
    frame ``t`` through the scale-0 input even when it is dropped. In eval the mask is the
    deterministic window (block-causal for ``window=None``).

    Args:
        drop_prob: probability of hiding an earlier frame, in ``[0, 1]``.
        window: ``None`` = all earlier frames are candidates, or the number of earlier frames.
        prefix_causal: see :class:`BaseMasking`.
    """

    def __init__(
        self, drop_prob: float = 0.1, window: int | None = None, prefix_causal: bool = True
    ) -> None:
        super().__init__(window=window, prefix_causal=prefix_causal)
        if not 0.0 <= drop_prob <= 1.0:
            raise ConfigError(f'RandomFrameMask drop_prob must be in [0, 1], got {drop_prob}.')
        self.drop_prob = float(drop_prob)
        self._pairs = LayoutCache()

    def _earlier_pairs(self, layout: SequenceLayout, device) -> tuple[torch.Tensor, torch.Tensor]:
        """``(L, L)`` "not an earlier-frame pair" and ``(L,)`` frame index clamped to 0."""

        def build():
            frame = layout.frame_index.clamp(min=0).to(device)
            return ~earlier_frame_pairs(layout).to(device), frame

        return self._pairs.get((layout, str(device)), build)

    def training_mask(self, static, layout, batch_size, generator) -> torch.Tensor:
        """``(B, L, L)`` with randomly hidden earlier frames (``static`` when ``drop_prob`` is 0
        or there is one frame)."""
        if self.drop_prob == 0.0 or layout.num_frames == 1:
            return static
        device = static.device
        not_earlier, frame = self._earlier_pairs(layout, device)
        num_frames = layout.num_frames
        keep = draw_uniform((batch_size, num_frames, num_frames), generator, device)
        keep = keep >= self.drop_prob  # keep[b, query frame, key frame]
        mask = keep[:, frame][:, :, frame]  # (B, L, L) keep decision of each token pair
        mask |= not_earlier  # the rule applies to earlier-frame pairs only
        mask &= static
        return mask

    def extra_repr(self) -> str:
        return f'drop_prob={self.drop_prob}, ' + super().extra_repr()
