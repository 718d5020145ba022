"""MultiScaleBSQ: codes on the sphere, entropy penalty, learned per-scale scales, bit usage."""

import math

import pytest
import torch

from videoar.models.quantizers import MultiScaleBSQ
from videoar.registry import QUANTIZERS
from videoar.utils import ConfigError

SCALES = [1, 2, 4]


def test_builds_from_the_registry_with_bits_labels():
    q = QUANTIZERS.build(dict(type='MultiScaleBSQ', embed_dim=6, scale_sizes=SCALES))
    assert isinstance(q, MultiScaleBSQ)
    assert q.label_kind == 'bits' and q.label_shape == (6,) and q.label_space_size == 64
    assert q.logits_per_token == 12
    assert q.scale_sizes == [(1, 1), (2, 2), (4, 4)]


def test_codes_are_signs_on_a_sphere_of_radius_alpha():
    q = MultiScaleBSQ(8, SCALES, scale_init=[2.0, 1.0, 0.5], learn_scales=False).eval()
    x = torch.randn(3, 8, 4, 4)
    out = q(x)
    for k, (bits, codes) in enumerate(zip(out.labels, out.codes)):
        alpha = [2.0, 1.0, 0.5][k]
        norms = codes.norm(dim=1)
        torch.testing.assert_close(norms, torch.full_like(norms, alpha))
        # every component is +-alpha/sqrt(d), with the sign of the bit
        expected = (bits.permute(0, 3, 1, 2).float() * 2 - 1) * alpha / math.sqrt(8)
        torch.testing.assert_close(codes, expected)
    # scale 0 codes the sign of the area-downsampled latent
    torch.testing.assert_close(
        out.labels[0][:, 0, 0], (x.mean(dim=(2, 3)) > 0).long(), rtol=0, atol=0
    )


def test_fixed_scales_are_buffers_and_learned_scales_reduce_the_error():
    fixed = MultiScaleBSQ(8, SCALES, learn_scales=False)
    assert (
        not list(fixed.parameters())
        and 'loss_codebook' not in fixed.train()(torch.randn(2, 8, 4, 4)).losses
    )

    torch.manual_seed(0)
    q = MultiScaleBSQ(8, SCALES, entropy_weight=0.0).train()
    x = 0.05 * torch.randn(32, 8, 4, 4)
    before = (q.eval()(x).quantized - x).pow(2).mean()
    opt = torch.optim.Adam(q.parameters(), lr=0.05)
    q.train()
    for _ in range(60):
        loss = q(x).losses['loss_codebook']
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = (q.eval()(x).quantized - x).pow(2).mean()
    assert after < 0.2 * before  # unit codes overshoot a small latent; alpha learns to shrink


def test_entropy_penalty_rewards_balanced_bits_and_penalises_collapse():
    q = MultiScaleBSQ(8, SCALES, entropy_weight=1.0, commit_weight=0.0).train()
    balanced = torch.randn(64, 8, 4, 4)
    collapsed = torch.randn(64, 8, 4, 4).abs() + 0.1  # every bit of scale 0 is 1
    out_b, out_c = q(balanced), q(collapsed)
    assert out_b.losses['loss_entropy'] < out_c.losses['loss_entropy'] - 0.5
    # the coarsest scale of the collapsed latent uses a single code: visible in the stats
    assert out_c.stats['usage/bits_s0'] < 1e-3 and out_c.stats['usage/unique_s0'] == 1 / 64
    assert out_b.stats['usage/bits_s0'] > 0.8 and out_b.stats['usage/unique_s0'] > 0.7
    # the penalty's gradient pushes a collapsed latent towards balance: it reaches the input
    x = collapsed.clone().requires_grad_(True)
    q(x).losses['loss_entropy'].backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_entropy_weights_scale_the_two_terms():
    x = torch.randn(16, 8, 4, 4)
    only_sample = MultiScaleBSQ(8, SCALES, entropy_weight=1.0, codebook_entropy_weight=0.0)
    only_codebook = MultiScaleBSQ(8, SCALES, entropy_weight=1.0, sample_entropy_weight=0.0)
    s = only_sample.train()(x).losses['loss_entropy']
    c = only_codebook.train()(x).losses['loss_entropy']
    assert 0 <= s <= 1 and -1 <= c <= 0
    both = MultiScaleBSQ(8, SCALES, entropy_weight=0.5).train()(x).losses['loss_entropy']
    torch.testing.assert_close(both, 0.5 * (s + c))
    off = MultiScaleBSQ(8, SCALES, entropy_weight=0.0).train()(x).losses
    assert 'loss_entropy' not in off


def test_bad_arguments_raise_config_errors():
    with pytest.raises(ConfigError, match='scale_init'):
        MultiScaleBSQ(8, SCALES, scale_init=[1.0, 1.0])
    with pytest.raises(ConfigError, match='entropy_weight'):
        MultiScaleBSQ(8, SCALES, entropy_weight=-1)
    with pytest.raises(ConfigError, match='down_mode'):
        MultiScaleBSQ(8, SCALES, down_mode='cubic')
    with pytest.raises(ValueError, match='bits'):
        MultiScaleBSQ(8, SCALES).labels_to_codes(torch.zeros(1, 1, 1, 5, dtype=torch.long), 0)
