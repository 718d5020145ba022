"""The contract every class registered in QUANTIZERS fulfils (a plugin is tested for free).

A quantizer is built with only ``embed_dim`` and ``scale_sizes`` (everything else defaulted).
"""

import pytest
import torch

import videoar.models.quantizers  # noqa: F401  (registers the built-in quantizers)
from videoar.models.sequence import ResidualPyramid, labels_to_latent
from videoar.registry import QUANTIZERS
from videoar.utils import ConfigError

EMBED_DIM = 8
SCALES = [(1, 1), (2, 2), (3, 3), (4, 4)]
NAMES = sorted(n for n in QUANTIZERS.module_dict if not n.startswith('_'))


def build(name, **kwargs):
    torch.manual_seed(0)
    return QUANTIZERS.build(dict(type=name, embed_dim=EMBED_DIM, scale_sizes=SCALES, **kwargs))


def latent(n=5, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, EMBED_DIM, 4, 4, generator=gen)


def test_the_builtin_quantizers_are_registered():
    assert {'MultiScaleBSQ', 'MultiScaleVQ'} <= set(NAMES)


@pytest.mark.parametrize('name', NAMES)
def test_labels_have_the_declared_kind_shape_and_range(name):
    q = build(name).eval()
    out = q(latent())
    assert q.label_kind in ('bits', 'index')
    assert q.num_scales == len(out.labels) == len(out.codes) == len(SCALES)
    for k, (labels, codes) in enumerate(zip(out.labels, out.codes)):
        h, w = SCALES[k]
        assert labels.dtype == torch.long
        assert tuple(labels.shape) == (5, h, w, *q.label_shape)
        assert tuple(codes.shape) == (5, EMBED_DIM, h, w)
        if q.label_kind == 'bits':
            assert q.label_shape == (q.label_shape[0],) and labels.max() <= 1
            assert q.label_space_size == 2 ** q.label_shape[0]
        else:
            assert q.label_shape == ()
            assert int(labels.max()) < q.label_space_size
        assert labels.min() >= 0
    assert q.logits_per_token >= 2


@pytest.mark.parametrize('name', NAMES)
def test_labels_codes_labels_round_trip(name):
    q = build(name).eval()
    out = q(latent())
    for k, labels in enumerate(out.labels):
        codes = q.labels_to_codes(labels, k)
        torch.testing.assert_close(codes, out.codes[k])
        _, labels_again, _ = q.quantize_scale(codes, k)
        assert torch.equal(labels_again, labels), f'scale {k}'


@pytest.mark.parametrize('name', NAMES)
def test_residual_pyramid_sums_to_the_quantized_latent(name):
    q = build(name).eval()
    x = latent()
    out = q(x)
    summed = sum(q.codes_to_residual(c, k) for k, c in enumerate(out.codes))
    torch.testing.assert_close(summed, out.quantized)
    torch.testing.assert_close(labels_to_latent(q, out.labels), out.quantized)
    # each scale quantizes the residual left by the coarser ones (what the correctors recompute)
    cum = torch.zeros_like(x)
    for k in range(q.num_scales):
        _, labels_k, _ = q.quantize_residual(x - cum, k)
        assert torch.equal(labels_k, out.labels[k])
        cum = cum + q.codes_to_residual(q.labels_to_codes(labels_k, k), k)
    # and the pyramid approximates the latent better than its first scale alone
    first = q.codes_to_residual(out.codes[0], 0)
    assert (out.quantized - x).pow(2).mean() < (first - x).pow(2).mean()


@pytest.mark.parametrize('name', NAMES)
def test_the_residual_pyramid_walks_the_schedule(name):
    q = build(name).eval()
    out = q(latent())
    pyramid = ResidualPyramid(q, 5)
    assert pyramid.scale_input(0).eq(0).all()  # frame 0: the start token's place
    cum = torch.zeros_like(out.quantized)
    for k in range(q.num_scales):
        inp = pyramid.scale_input(k)
        assert tuple(inp.shape) == (5, EMBED_DIM, *SCALES[k])
        if k > 0:
            torch.testing.assert_close(inp, q.resize_input_to_scale(cum, k))
        pyramid.add_labels(out.labels[k], k)
        cum = cum + q.codes_to_residual(out.codes[k], k)
    final = pyramid.end_frame()
    torch.testing.assert_close(final, out.quantized)
    torch.testing.assert_close(pyramid.scale_input(0), q.resize_input_to_scale(final, 0))


@pytest.mark.parametrize('name', NAMES)
def test_straight_through_gradient_reaches_the_input_and_losses_are_finite(name):
    q = build(name).train()
    x = latent().requires_grad_(True)
    out = q(x)
    weights = torch.randn_like(out.quantized)
    (out.quantized * weights).sum().backward(retain_graph=True)
    torch.testing.assert_close(x.grad, weights)  # identity gradient
    assert out.losses and all(k.startswith('loss') for k in out.losses)
    total = sum(out.losses.values())
    assert total.dim() == 0 and torch.isfinite(total)
    total.backward()
    params = [p for p in q.parameters() if p.requires_grad]
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in params) or not params
    assert all(isinstance(v, float) for v in out.stats.values())
    assert any(k.startswith('usage/') for k in out.stats)


@pytest.mark.parametrize('name', NAMES)
def test_eval_is_deterministic_and_checks_the_latent_size(name):
    q = build(name).eval()
    x = latent()
    a, b = q(x), q(x)
    assert all(torch.equal(la, lb) for la, lb in zip(a.labels, b.labels))
    assert torch.equal(a.quantized, b.quantized)
    with pytest.raises(ConfigError, match='last scale'):
        q(torch.randn(2, EMBED_DIM, 6, 6))
    with pytest.raises(ValueError, match='single latent frames'):
        q(torch.randn(2, EMBED_DIM, 1, 4, 4))
