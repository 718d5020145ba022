"""Teacher forcing: label flips, seeded determinism, the quantizer's mode and shape checks.

Its inputs and labels are compared with a plain reference walk in ``test_pyramid.py``."""

import pytest
import torch
import torch.nn.functional as F

from videoar.models.quantizers import MultiScaleBSQ, MultiScaleVQ
from videoar.models.sequence import build_teacher_forcing, flip_labels

SCALES = [(1, 1), (2, 2), (3, 3), (4, 4)]
DIM = 6


def make_quantizer(kind):
    torch.manual_seed(0)
    if kind == 'bsq':
        return MultiScaleBSQ(DIM, SCALES, scale_init=[1.5, 1.0, 0.6, 0.4]).eval()
    return MultiScaleVQ(DIM, SCALES, codebook_size=32).eval()


def test_flip_labels_bits_and_indices():
    gen = torch.Generator().manual_seed(0)
    bits = torch.randint(0, 2, (2, 32, 32, 16), generator=gen)
    prob = torch.tensor([0.0, 0.2])
    noisy = flip_labels(bits, prob, 'bits', generator=gen)
    assert noisy.dtype == bits.dtype and set(noisy.unique().tolist()) <= {0, 1}
    assert torch.equal(noisy[0], bits[0])
    rate = (noisy[1] != bits[1]).float().mean().item()
    assert abs(rate - 0.2) < 0.01  # 16k bits: std 0.003
    assert torch.equal(flip_labels(bits, torch.ones(2), 'bits', generator=gen), 1 - bits)

    index = torch.randint(0, 8, (2, 32, 32), generator=gen)
    noisy = flip_labels(index, torch.tensor([0.0, 0.5]), 'index', 8, generator=gen)
    assert torch.equal(noisy[0], index[0]) and noisy.min() >= 0 and noisy.max() < 8
    rate = (noisy[1] != index[1]).float().mean().item()
    assert abs(rate - 0.5 * 7 / 8) < 0.05  # replacement may redraw the same index
    with pytest.raises(ValueError):
        flip_labels(index, torch.ones(2), 'index')


def test_seeded_flips_are_deterministic_and_the_quantizer_mode_is_restored():
    quantizer = make_quantizer('bsq').train()
    latent = torch.randn(2, DIM, 2, 4, 4)
    probs = torch.full((2, 2, len(SCALES)), 0.3)
    a = build_teacher_forcing(latent, quantizer, probs, torch.Generator().manual_seed(1))
    b = build_teacher_forcing(latent, quantizer, probs, torch.Generator().manual_seed(1))
    c = build_teacher_forcing(latent, quantizer, probs, torch.Generator().manual_seed(2))
    assert quantizer.training  # run in eval mode inside, restored afterwards
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.inputs, c.inputs)
    assert a.flip_rates.gt(0).all()
    torch.testing.assert_close(a.flip_rates, a.sample_flip_rates.mean(0))
    log = a.flip_rate_log()
    assert set(log) == {'flip_rate/t0', 'flip_rate/t1', 'flip_rate/mean'}
    torch.testing.assert_close(log['flip_rate/t1'], a.flip_rates[1].mean())


def test_bad_shapes_are_rejected():
    quantizer = make_quantizer('bsq')
    with pytest.raises(ValueError, match='flip_prob'):
        build_teacher_forcing(torch.randn(2, DIM, 2, 4, 4), quantizer, torch.zeros(2, 2, 3))
    with pytest.raises(ValueError, match='latent'):
        build_teacher_forcing(torch.randn(2, DIM, 4, 4), quantizer)
    with pytest.raises(Exception, match='latent'):
        build_teacher_forcing(F.pad(torch.randn(1, DIM, 1, 4, 4), (0, 1, 0, 1)), quantizer)
