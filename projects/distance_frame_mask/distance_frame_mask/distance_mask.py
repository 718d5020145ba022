"""A random frame mask whose drop probability grows with the temporal distance."""

import torch

from videoar.models.maskings.block_causal import BaseMasking, earlier_frame_pairs
from videoar.models.sequence import draw_uniform
from videoar.registry import MASKINGS
from videoar.utils import ConfigError


@MASKINGS.register_module()
class DistanceFrameMask(BaseMasking):
    """Drop an earlier frame at distance ``d >= 1`` with probability ``min(1, base + slope*(d-1))``.

    Per sample and per query frame, like ``RandomFrameMask``; the prefix and the current frame's
    coarser scales always stay visible; eval uses the deterministic block-causal mask.
    """

    def __init__(self, base: float = 0.0, slope: float = 0.1, prefix_causal: bool = True) -> None:
        super().__init__(window=None, prefix_causal=prefix_causal)
        if not 0.0 <= base <= 1.0 or slope < 0:
            raise ConfigError(f'need 0 <= base <= 1 and slope >= 0, got {base}, {slope}.')
        self.base, self.slope = float(base), float(slope)

    def drop_probs(self, num_frames: int, device=None) -> torch.Tensor:
        """``(T', T')`` drop probability of key frame (column) for query frame (row)."""
        t = torch.arange(num_frames, device=device)
        distance = (t[:, None] - t[None, :]).float()
        probs = (self.base + self.slope * (distance - 1)).clamp(0.0, 1.0)
        return torch.where(distance >= 1, probs, torch.zeros_like(probs))

    def forward(self, layout, batch_size, training, generator=None, device=None):
        base_mask = self.static_mask(layout, device)
        if not training or layout.num_frames == 1:
            return base_mask
        device = base_mask.device
        num_frames = layout.num_frames
        keep = draw_uniform((batch_size, num_frames, num_frames), generator, device)
        keep = keep >= self.drop_probs(num_frames, device)
        frame = layout.frame_index.clamp(min=0).to(device)
        mask = keep[:, frame][:, :, frame] | ~earlier_frame_pairs(layout).to(device)
        return mask & base_mask
