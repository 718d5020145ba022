"""build_teacher_forcing without flips reproduces the quantizer's own pyramid, frame by frame."""

import pytest
import torch
import torch.nn.functional as F

from videoar.models.quantizers import MultiScaleBSQ, MultiScaleVQ
from videoar.models.sequence import (
    block_input,
    build_teacher_forcing,
    flatten_labels,
    flatten_tokens,
    flip_labels,
    unflatten_labels,
    unflatten_tokens,
)

SCALES = [(1, 1), (2, 2), (3, 3), (4, 4)]
DIM = 6


def make_quantizer(kind):
    torch.manual_seed(0)
    if kind == 'bsq':
        return MultiScaleBSQ(DIM, SCALES, scale_init=[1.5, 1.0, 0.6, 0.4]).eval()
    return MultiScaleVQ(DIM, SCALES, codebook_size=32).eval()


@pytest.mark.parametrize('kind', ['bsq', 'vq'])
def test_zero_flips_equal_the_quantizers_own_pyramid(kind):
    quantizer = make_quantizer(kind)
    batch, num_frames = 2, 3
    latent = torch.randn(batch, DIM, num_frames, 4, 4)
    pyramid = build_teacher_forcing(latent, quantizer, None)
    layout = pyramid.layout
    assert pyramid.inputs.shape == (batch, layout.video_len, DIM)
    assert pyramid.labels.shape == (batch, layout.video_len, *quantizer.label_shape)
    assert pyramid.flip_rates.shape == (num_frames, len(SCALES))
    assert pyramid.flip_rates.eq(0).all()

    for t in range(num_frames):
        out = quantizer(latent[:, :, t])
        tf_inputs = quantizer.teacher_forcing_inputs(out.labels)
        torch.testing.assert_close(pyramid.reconstructed[:, :, t], out.quantized)
        for k, size in enumerate(SCALES):
            sl = layout.video_block_slice(t, k)
            assert torch.equal(pyramid.labels[:, sl], flatten_labels(out.labels[k]))
            got = unflatten_tokens(pyramid.inputs[:, sl], size)
            if k > 0:
                torch.testing.assert_close(got, tf_inputs[k - 1])
            elif t == 0:
                assert got.eq(0).all()  # the model's start token goes here
            else:
                prev = pyramid.reconstructed[:, :, t - 1]
                expected = quantizer.resize_to_scale(prev, 0)
                torch.testing.assert_close(got, expected)
                assert got.abs().sum() > 0


def test_block_input_matches_the_pyramid_inputs():
    quantizer = make_quantizer('bsq')
    latent = torch.randn(1, DIM, 2, 4, 4)
    pyramid = build_teacher_forcing(latent, quantizer)
    layout = pyramid.layout
    out = quantizer(latent[:, :, 1])
    cum = torch.zeros(1, DIM, 4, 4)
    prev = pyramid.reconstructed[:, :, 0]
    assert block_input(quantizer, 0, None, None) is None
    for k in range(len(SCALES)):
        expected = unflatten_tokens(pyramid.inputs[:, layout.video_block_slice(1, k)], SCALES[k])
        torch.testing.assert_close(block_input(quantizer, k, cum, prev), expected)
        cum = cum + quantizer.codes_to_residual(quantizer.labels_to_codes(out.labels[k], k), k)


def test_flatten_is_row_major_and_round_trips():
    x = torch.randn(2, 5, 3, 4)
    tokens = flatten_tokens(x)
    assert tokens.shape == (2, 12, 5)
    torch.testing.assert_close(tokens[1, 2 * 4 + 3], x[1, :, 2, 3])
    assert torch.equal(unflatten_tokens(tokens, (3, 4)), x)
    labels = torch.randint(0, 2, (2, 3, 4, 7))
    flat = flatten_labels(labels)
    assert torch.equal(flat[0, 1 * 4 + 2], labels[0, 1, 2])
    assert torch.equal(unflatten_labels(flat, (3, 4)), labels)
    with pytest.raises(ValueError):
        unflatten_tokens(tokens, (4, 4))


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
