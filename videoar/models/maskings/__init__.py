"""Attention masks (MASKINGS) over the (frame, scale) layout."""

from .block_causal import (
    BaseMasking,
    BlockCausalMask,
    RandomFrameMask,
    SlidingWindowMask,
    block_causal_mask,
    earlier_frame_pairs,
)

__all__ = [
    'BaseMasking',
    'BlockCausalMask',
    'RandomFrameMask',
    'SlidingWindowMask',
    'block_causal_mask',
    'earlier_frame_pairs',
]
