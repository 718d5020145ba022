"""A training mask that always keeps the most recent frames and drops older ones at random.

Random Frame Mask (videoar's ``RandomFrameMask``) may hide any earlier frame; this variant
never hides the ``keep_recent`` frames just before the query frame, and hides each older frame
with probability ``drop_prob`` (per sample, per query frame). In eval it is the block-causal
mask.
"""

from __future__ import annotations

import torch

from videoar.models.maskings.block_causal import BaseMasking, earlier_frame_pairs
from videoar.models.sequence import SequenceLayout, draw_uniform
from videoar.registry import MASKINGS
from videoar.utils import ConfigError


@MASKINGS.register_module()
class RecentFramesKeepMask(BaseMasking):
    """Keep the ``keep_recent`` previous frames; drop older ones with ``drop_prob``.

    Args:
        keep_recent: earlier frames always visible (``t - keep_recent .. t - 1``), >= 0.
        drop_prob: probability of hiding an older frame, in ``[0, 1]``.
        prefix_causal: see videoar's ``BaseMasking``.
    """

    def __init__(self, keep_recent: int = 1, drop_prob: float = 0.5,
                 prefix_causal: bool = True) -> None:  # fmt: skip
        super().__init__(window=None, prefix_causal=prefix_causal)
        if int(keep_recent) != keep_recent or keep_recent < 0:
            raise ConfigError(
                f'RecentFramesKeepMask keep_recent must be an int >= 0, got {keep_recent}.'
            )
        if not 0.0 <= drop_prob <= 1.0:
            raise ConfigError(f'RecentFramesKeepMask drop_prob must be in [0, 1], got {drop_prob}.')
        self.keep_recent, self.drop_prob = int(keep_recent), float(drop_prob)

    def training_mask(self, static, layout: SequenceLayout, batch_size: int, generator):
        """``(B, L, L)``: older earlier-frame pairs hidden at random, the rest as ``static``."""
        if self.drop_prob == 0.0 or layout.num_frames <= self.keep_recent + 1:
            return static
        device = static.device
        frame = layout.frame_index.clamp(min=0).to(device)
        num_frames = layout.num_frames
        keep = (
            draw_uniform((batch_size, num_frames, num_frames), generator, device) >= self.drop_prob
        )
        query, key = torch.meshgrid(torch.arange(num_frames, device=device),
                                    torch.arange(num_frames, device=device), indexing='ij')  # fmt: skip
        keep |= (query - key <= self.keep_recent)[None]  # recent (and not earlier) frames stay
        mask = keep[:, frame][:, :, frame]
        mask |= ~earlier_frame_pairs(layout).to(device)  # only earlier-frame pairs are dropped
        return mask & static

    def extra_repr(self) -> str:
        return (
            f'keep_recent={self.keep_recent}, drop_prob={self.drop_prob}, ' + super().extra_repr()
        )
