"""The conditioner interface: class labels and text encoders.

A conditioner turns a batch's ``data_samples`` (read as a :class:`~videoar.structures.VideoBatch`)
into a :class:`Condition`:

* ``prefix (B, P, C)``: tokens placed before the video tokens (``cond_mode='prefix'``);
* ``prefix_mask (B, P)`` bool, True = a real token (text prompts have padding);
* ``pooled (B, C)``: one vector per sample (the SOS of block (0, 0), and the AdaLN condition).

Condition dropout for classifier-free guidance replaces dropped samples by the learned null
condition (:meth:`BaseConditioner.null`), with probability ``drop_prob`` in training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from videoar.structures import VideoBatch
from videoar.utils import ConfigError


@dataclass
class Condition:
    """A batch of conditions: ``prefix (B, P, C)``, ``prefix_mask (B, P)``, ``pooled (B, C)``."""

    prefix: torch.Tensor
    prefix_mask: torch.Tensor
    pooled: torch.Tensor

    @property
    def batch_size(self) -> int:
        return self.pooled.shape[0]

    @property
    def prefix_len(self) -> int:
        return self.prefix.shape[1]

    @staticmethod
    def cat(conditions: Sequence[Condition]) -> Condition:
        """Stack conditions along the batch (e.g. ``[cond, null]`` for batched CFG)."""
        return Condition(
            torch.cat([c.prefix for c in conditions]),
            torch.cat([c.prefix_mask for c in conditions]),
            torch.cat([c.pooled for c in conditions]),
        )

    def where(self, keep: torch.Tensor, other: Condition) -> Condition:
        """Per sample: this condition where ``keep (B,)`` is True, else ``other``'s."""
        keep = keep.to(torch.bool)
        return Condition(
            torch.where(keep[:, None, None], self.prefix, other.prefix),
            torch.where(keep[:, None], self.prefix_mask, other.prefix_mask),
            torch.where(keep[:, None], self.pooled, other.pooled),
        )

    def repeat(self, times: int) -> Condition:
        """Repeat every sample ``times`` times (``b -> (b times)``)."""
        return Condition(
            self.prefix.repeat_interleave(times, 0),
            self.prefix_mask.repeat_interleave(times, 0),
            self.pooled.repeat_interleave(times, 0),
        )


class BaseConditioner(nn.Module):
    """Base class of conditioners.

    Subclasses (plugins included) implement :meth:`encode` (the real conditions) and :meth:`null`.
    :meth:`forward` (what ``conditioner(data_samples, batch_size, device)`` runs) converts the
    ``data_samples`` once with ``VideoBatch.of``, so :meth:`encode` always receives a
    :class:`~videoar.structures.VideoBatch` and reads typed fields: ``batch.label (B,)`` (``-1`` =
    none), ``batch.caption`` (``''`` = none), ``batch.index``, and any other per-sample metadata
    with ``batch.get(key)``.

    Args:
        embed_dim: width ``C`` of the condition tokens (the transformer width).
        drop_prob: probability of replacing a sample's condition by the null condition during
            training (classifier-free guidance).

    Attributes:
        prefix_len: maximum number of prefix tokens ``P``.
    """

    prefix_len: int = 1

    def __init__(self, embed_dim: int, drop_prob: float = 0.1) -> None:
        super().__init__()
        if not 0.0 <= drop_prob < 1.0:
            raise ConfigError(f'drop_prob must be in [0, 1), got {drop_prob}.')
        self.embed_dim = int(embed_dim)
        self.drop_prob = float(drop_prob)

    def encode(self, batch: VideoBatch, device) -> Condition:
        """The conditions of the ``len(batch)`` samples on ``device``, without dropout."""
        raise NotImplementedError

    def null(self, batch_size: int, device) -> Condition:
        """The learned unconditional condition, repeated ``batch_size`` times."""
        raise NotImplementedError

    def sample_drop_mask(
        self, batch_size: int, device, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """``(B,)`` bool, True = replace by the null condition (drawn with ``drop_prob``)."""
        gen_device = generator.device if generator is not None else device
        draws = torch.rand(batch_size, generator=generator, device=gen_device)
        return (draws < self.drop_prob).to(device)

    def forward(
        self,
        data_samples,
        batch_size: int,
        device,
        drop_mask: torch.Tensor | None = None,
    ) -> Condition:
        """Conditions for a batch, with condition dropout.

        Args:
            data_samples: the batch metadata: a :class:`VideoBatch`, or any form
                ``VideoBatch.of`` accepts (a dict of batched values, a list of dicts, ``None``).
            batch_size: ``B``.
            device: target device.
            drop_mask: ``(B,)`` bool, True = use the null condition. Default: drawn with
                ``drop_prob`` in training mode, none in eval mode.
        """
        cond = self.encode(VideoBatch.of(data_samples, batch_size), device)
        if drop_mask is None and self.training and self.drop_prob > 0:
            drop_mask = self.sample_drop_mask(batch_size, device)
        if drop_mask is not None:
            cond = cond.where(~drop_mask.to(device), self.null(batch_size, device))
        return cond
