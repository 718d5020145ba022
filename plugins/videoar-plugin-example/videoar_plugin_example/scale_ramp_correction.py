"""A corrector whose flip probability depends on the scale, not on the frame.

Coarse scales decide the layout of a frame and fine scales its texture; this corrector tests the
idea that exposure bias matters most at the coarse scales: the flip probability of scale ``k``
ramps linearly from ``p_coarse`` (k = 0) to ``p_fine`` (k = K-1), times a per-sample jitter
drawn from ``U(1 - jitter, 1)``.
"""

import torch

from videoar.models.correctors.base import BaseCorrector
from videoar.registry import CORRECTORS
from videoar.utils import ConfigError


@CORRECTORS.register_module()
class ScaleRampCorrection(BaseCorrector):
    """Flip probability ramping over scales.

    Args:
        p_coarse: flip probability of the first (coarsest) scale, in [0, 1].
        p_fine: flip probability of the last (finest) scale, in [0, 1].
        jitter: relative per-sample jitter in [0, 1] (0 = deterministic probabilities).
    """

    def __init__(self, p_coarse: float = 0.3, p_fine: float = 0.0, jitter: float = 0.5) -> None:
        super().__init__()
        for name, value in (('p_coarse', p_coarse), ('p_fine', p_fine), ('jitter', jitter)):
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f'ScaleRampCorrection.{name} must be in [0, 1], got {value}.')
        self.p_coarse, self.p_fine, self.jitter = float(p_coarse), float(p_fine), float(jitter)

    def sample_flip_probs(self, batch_size, num_frames, num_scales, generator=None, device=None):
        """``(B, T', K)``: the scale ramp times a per-sample factor in ``[1 - jitter, 1]``."""
        ramp = torch.linspace(self.p_coarse, self.p_fine, num_scales, device=device)
        factor = 1.0 - self.jitter * torch.rand(batch_size, 1, 1, generator=generator).to(device)
        return (factor * ramp).expand(batch_size, num_frames, num_scales).contiguous()
