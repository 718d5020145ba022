"""Plugin outputs are checked where they are used: a broken component fails with its name."""

import pytest
import torch

from videoar.models.contracts import ComponentContractError
from videoar.models.correctors.base import BaseCorrector


class ReturnsNone(BaseCorrector):
    def sample_flip_probs(self, batch_size, num_frames, num_scales, generator=None, device=None):
        return None


class OutOfRange(BaseCorrector):
    def sample_flip_probs(self, batch_size, num_frames, num_scales, generator=None, device=None):
        return torch.full((batch_size, num_frames, num_scales), 1.5)


class WrongMask(torch.nn.Module):
    def forward(self, layout, batch_size, training, generator, device):
        return torch.ones(batch_size, 3, 3)  # float, and not (L, L)


class NoCos(torch.nn.Module):
    def embedding(self, layout, start=0, end=None):
        return None

    def rotary(self, layout, start=0, end=None):
        return (torch.ones(2, 2),)


def _batch(model):
    latent = torch.randn(2, model.latent_dim, model.latent_frames, *model.latent_size)
    return {'label': torch.tensor([1, 2]), 'latent': latent}


@pytest.mark.parametrize('corrector, message', [
    (ReturnsNone(), r'ReturnsNone\.sample_flip_probs returned NoneType None; expected a float '
                    r"tensor of shape \(B, T', K\) = \(2, \d+, \d+\)"),
    (OutOfRange(), r'OutOfRange\.sample_flip_probs returned values in \[1\.5, 1\.5\]'),
])  # fmt: skip
def test_a_broken_corrector_is_named(tiny_videoar, corrector, message):
    model = tiny_videoar().train()
    model.corrector = corrector
    with pytest.raises(ComponentContractError, match=message):
        model(None, _batch(model), mode='loss')


def test_a_broken_masking_or_positional_encoding_is_named(tiny_videoar):
    model = tiny_videoar().train()
    model.masking = WrongMask()
    with pytest.raises(ComponentContractError, match=r'WrongMask\.forward returned a torch.float'):
        model(None, _batch(model), mode='loss')
    model = tiny_videoar().train()
    model.pos_encoding = NoCos()
    with pytest.raises(ComponentContractError, match=r'NoCos\.rotary returned tuple'):
        model(None, _batch(model), mode='loss')
