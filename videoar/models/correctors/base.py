"""Corrector interface: choose label-flip probabilities and build the teacher-forcing pyramid."""

from __future__ import annotations

import torch
from torch import nn

from videoar.models.contracts import check_flip_probs
from videoar.models.sequence import FramePyramid, build_teacher_forcing


class BaseCorrector(nn.Module):
    """Base class of the correctors (CORRECTORS).

    In training mode :meth:`forward` draws flip probabilities with :meth:`sample_flip_probs` and
    builds the corrupted, self-corrected pyramid; in eval mode it builds the clean pyramid. The
    realised flip rates of the last call are kept in ``self.last_flip_rates`` (``(T', K)``) and
    returned in the pyramid (``pyramid.flip_rate_log()`` gives logging scalars).
    """

    def __init__(self) -> None:
        super().__init__()
        self.last_flip_rates: torch.Tensor | None = None

    def sample_flip_probs(
        self,
        batch_size: int,
        num_frames: int,
        num_scales: int,
        generator: torch.Generator | None = None,
        device=None,
    ) -> torch.Tensor:
        """Flip probability per sample, latent frame and scale: ``(B, T', K)`` fp32 in [0, 1]."""
        raise NotImplementedError

    def forward(
        self, latent: torch.Tensor, quantizer, generator: torch.Generator | None = None
    ) -> FramePyramid:
        """Teacher-forcing pyramid of ``latent (B, d, T', h, w)`` (see ``build_teacher_forcing``)."""
        flip_prob = None
        if self.training:
            batch, _, num_frames = latent.shape[:3]
            flip_prob = self.sample_flip_probs(
                batch, num_frames, quantizer.num_scales, generator=generator, device=latent.device
            )
            check_flip_probs(self, flip_prob, (batch, num_frames, quantizer.num_scales))
            if not bool((flip_prob > 0).any()):
                flip_prob = None
        pyramid = build_teacher_forcing(latent, quantizer, flip_prob, generator=generator)
        self.last_flip_rates = pyramid.flip_rates.detach()
        return pyramid
