"""3D PatchGAN discriminator, hinge losses and LeCAM regularisation for tokenizer training.

The discriminator judges space-time patches of a whole clip (it is not causal: it only shapes
the tokenizer's training signal). ``hinge_d_loss`` / ``hinge_g_loss`` are the usual hinge GAN
losses; :class:`LeCAM` (Tseng et al. 2021) keeps EMAs of the mean real and fake logits and
penalises logits that drift past the other side's EMA, which stabilises small-data GANs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from videoar.registry import MODELS
from videoar.utils import ConfigError, check_positive

from .layers import num_groups


@MODELS.register_module()
class PatchDiscriminator3D(nn.Module):
    """``(B, 3, F, H, W) -> logits (B, 1, F', H / 2^n, W / 2^n)``.

    Args:
        in_channels: pixel channels.
        base_channels: channels of the first layer (doubled per layer, capped at 8x).
        num_layers: stride-2 spatial layers (``n``).
        temporal_downsample: how many of those layers also halve time.
    """

    def __init__(
        self,
        in_channels: int = 3,
        base_channels: int = 32,
        num_layers: int = 3,
        temporal_downsample: int = 1,
    ) -> None:
        super().__init__()
        check_positive(base_channels, 'base_channels')
        check_positive(num_layers, 'num_layers')
        if not 0 <= temporal_downsample <= num_layers:
            raise ConfigError(
                f'temporal_downsample must be in [0, num_layers={num_layers}], '
                f'got {temporal_downsample}.'
            )
        layers: list[nn.Module] = []
        prev = in_channels
        for i in range(num_layers):
            ch = base_channels * min(2**i, 8)
            st = 2 if i >= num_layers - temporal_downsample else 1
            layers.append(nn.Conv3d(prev, ch, (3, 4, 4), stride=(st, 2, 2), padding=1))
            if i > 0:
                layers.append(nn.GroupNorm(num_groups(ch), ch))
            layers.append(nn.LeakyReLU(0.2))
            prev = ch
        layers.append(nn.Conv3d(prev, 1, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return self.net(video)


def hinge_d_loss(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    """``mean(relu(1 - D(x))) + mean(relu(1 + D(G(z))))`` in fp32."""
    return F.relu(1.0 - logits_real.float()).mean() + F.relu(1.0 + logits_fake.float()).mean()


def hinge_g_loss(logits_fake: torch.Tensor) -> torch.Tensor:
    """``-mean(D(G(z)))`` in fp32."""
    return -logits_fake.float().mean()


class LeCAM(nn.Module):
    """LeCAM regulariser with EMAs of the mean real / fake logits (buffers, checkpointed).

    ``forward(logits_real, logits_fake)`` returns
    ``mean(relu(D(x) - ema_fake)^2) + mean(relu(ema_real - D(G(z)))^2)`` and, in training,
    updates the EMAs with ``decay``.
    """

    def __init__(self, decay: float = 0.999) -> None:
        super().__init__()
        if not 0 <= decay < 1:
            raise ConfigError(f'lecam_decay must be in [0, 1), got {decay}.')
        self.decay = float(decay)
        self.register_buffer('ema_real', torch.zeros(()))
        self.register_buffer('ema_fake', torch.zeros(()))

    def forward(self, logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
        real, fake = logits_real.float(), logits_fake.float()
        reg = (
            F.relu(real - self.ema_fake).pow(2).mean() + F.relu(self.ema_real - fake).pow(2).mean()
        )
        if self.training:
            with torch.no_grad():
                self.ema_real.lerp_(real.mean(), 1 - self.decay)
                self.ema_fake.lerp_(fake.mean(), 1 - self.decay)
        return reg
