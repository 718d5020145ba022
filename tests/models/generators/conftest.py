"""Tiny VideoAR builders shared by the generator tests (random-init tokenizer, CPU sizes)."""

import pytest
import torch


def randomise_zero_init(model, seed=0, std=0.3):
    """Give the zero-initialised parts (head, AdaLN modulation) random values, so that logits
    depend on everything and probes can see differences."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.startswith('head.') or 'modulation' in name:
                param.copy_(torch.randn(param.shape, generator=gen) * std)
    return model


@pytest.fixture
def tiny_model(tiny_videoar):
    """``tiny_model(seed=0, randomise=True, **overrides)``: the tiny VideoAR of
    ``tests/conftest.py`` with ``overrides``; ``randomise`` gives the head and the AdaLN
    modulation random values (:func:`randomise_zero_init`)."""

    def build(seed=0, randomise=True, **overrides):
        model = tiny_videoar(seed, **overrides)
        return randomise_zero_init(model, seed) if randomise else model

    return build
