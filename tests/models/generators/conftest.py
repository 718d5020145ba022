"""Tiny VideoAR builders shared by the generator tests (random-init tokenizer, CPU sizes)."""

import copy

import pytest
import torch

from videoar.registry import MODELS

TINY_TOKENIZER = dict(
    type='CausalVideoTokenizer',
    latent_dim=4,
    spatial_stride=8,
    temporal_stride=4,
    base_channels=4,
    channel_mult=(1, 1, 1),
)
TINY_MODEL = dict(
    type='VideoAR',
    tokenizer=TINY_TOKENIZER,
    quantizer=dict(type='MultiScaleBSQ', embed_dim=4, scale_sizes=[(1, 1), (1, 2), (2, 3)]),
    transformer=dict(type='ARTransformer', dim=32, depth=2, num_heads=2),
    conditioner=dict(type='ClassConditioner', num_classes=10, drop_prob=0.1),
    corrector=dict(type='NoCorrection'),
    masking=dict(type='BlockCausalMask'),
    pos_encoding=dict(type='MultiScaleTemporalRoPE'),
    num_frames=9,
    resolution=(16, 24),
)


def randomise_zero_init(model, seed=0, std=0.3):
    """Give the zero-initialised parts (head, AdaLN modulation) random values, so that logits
    depend on everything and probes can see differences."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.startswith('head.') or 'modulation' in name:
                param.copy_(torch.randn(param.shape, generator=gen) * std)
    return model


def build_tiny(seed=0, randomise=True, **overrides):
    cfg = copy.deepcopy(TINY_MODEL)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict) and 'type' not in value:
            cfg[key].update(value)
        else:
            cfg[key] = value
    torch.manual_seed(seed)
    model = MODELS.build(cfg)
    return randomise_zero_init(model, seed) if randomise else model


@pytest.fixture
def tiny_model():
    return build_tiny


@pytest.fixture
def tiny_config():
    """A fresh copy of the tiny model config dict."""
    return copy.deepcopy(TINY_MODEL)
