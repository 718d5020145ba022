"""The one residual pyramid against a plain per-video, per-frame, per-scale reference loop.

The reference (:func:`reference_pyramid`) walks one video, one frame and one scale at a time,
straight from the formula in the docstring of ``videoar/models/sequence/pyramid.py``; the library
folds the frames into the batch and loops over the scales only.
"""

import pytest
import torch

from videoar.models.quantizers import MultiScaleBSQ, MultiScaleVQ
from videoar.models.sequence import (
    ResidualPyramid,
    build_teacher_forcing,
    flatten_labels,
    flatten_tokens,
    get_layout,
    inputs_from_labels,
    labels_to_latent,
    unflatten_labels,
    unflatten_tokens,
)

SCALES = [(1, 1), (2, 2), (3, 3), (4, 4)]
DIM = 6
KINDS = ['bsq', 'vq']


def _block_tokens(x):
    """(1, d, h_k, w_k) map -> (h_k * w_k, d) tokens, row-major."""
    return x[0].flatten(1).transpose(0, 1)


def _block_labels(labels):
    """(1, h_k, w_k, *label_shape) -> (h_k * w_k, *label_shape)."""
    return labels[0].flatten(0, 1)


def reference_pyramid(quantizer, latent=None, labels=None, flip=None):
    """Inputs, labels and final sums of every block, one frame and scale at a time.

    Give ``latent (B, d, T', h, w)`` (codes from ``quantize_residual(latent_t - cum, k)``) or
    ``labels`` as a callable ``(b, t, k) -> (1, h_k, w_k, *label_shape)`` (codes from the labels).
    ``flip(b, t, k, labels) -> labels`` corrupts the labels before they are requantised.

    Returns ``inputs (B, Lv, d)``, ``labels (B, Lv, *label_shape)`` (the targets), ``sums (B, d,
    T', h, w)``.
    """
    if latent is not None:
        batch, dim, num_frames = latent.shape[:3]
    else:
        batch, num_frames = labels.batch, labels.num_frames
        dim = quantizer.embed_dim
    height, width = quantizer.latent_size
    all_inputs, all_labels, all_sums = [], [], []
    with torch.no_grad():
        for b in range(batch):
            prev = None
            inputs, targets, sums = [], [], []
            for t in range(num_frames):
                cum = torch.zeros(1, dim, height, width)
                for k, size in enumerate(quantizer.scale_sizes):
                    if k == 0:
                        if prev is None:
                            inp = torch.zeros(1, dim, *size)
                        else:
                            inp = quantizer.resize_input_to_scale(prev, 0)
                    else:
                        inp = quantizer.resize_input_to_scale(cum, k)
                    inputs.append(_block_tokens(inp))
                    if latent is not None:
                        residual = latent[b : b + 1, :, t].float() - cum
                        _, labels_k, _ = quantizer.quantize_residual(residual, k)
                    else:
                        labels_k = labels(b, t, k)
                    targets.append(_block_labels(labels_k))
                    if flip is not None:
                        labels_k = flip(b, t, k, labels_k)
                    codes = quantizer.labels_to_codes(labels_k, k)
                    cum = cum + quantizer.codes_to_residual(codes, k).float()
                prev = cum
                sums.append(cum[0])
            all_inputs.append(torch.cat(inputs))
            all_labels.append(torch.cat(targets))
            all_sums.append(torch.stack(sums, dim=1))
    return torch.stack(all_inputs), torch.stack(all_labels), torch.stack(all_sums)


class LabelsOf:
    """``(b, t, k) -> (1, h_k, w_k, ...)`` view of block-order labels ``(B, Lv, ...)``."""

    def __init__(self, labels, layout):
        self.labels, self.layout = labels, layout
        self.batch, self.num_frames = labels.shape[0], layout.num_frames

    def __call__(self, b, t, k):
        h, w = self.layout.scale_sizes[k]
        block = self.labels[b : b + 1, self.layout.video_block_slice(t, k)]
        return block.reshape(1, h, w, *block.shape[2:])


def make_quantizer(kind):
    torch.manual_seed(0)
    if kind == 'bsq':
        return MultiScaleBSQ(DIM, SCALES, scale_init=[1.5, 1.0, 0.6, 0.4]).eval()
    return MultiScaleVQ(DIM, SCALES, codebook_size=32).eval()


def random_labels(quantizer, batch, num_frames, seed=0):
    gen = torch.Generator().manual_seed(seed)
    layout = get_layout(num_frames, SCALES, 0)
    shape = (batch, layout.video_len, *quantizer.label_shape)
    high = 2 if quantizer.label_kind == 'bits' else quantizer.label_space_size
    return torch.randint(0, high, shape, generator=gen), layout


@pytest.mark.parametrize('kind', KINDS)
def test_teacher_forcing_without_flips_equals_the_reference(kind):
    reference = reference_pyramid
    quantizer = make_quantizer(kind)
    latent = torch.randn(2, DIM, 3, 4, 4)
    pyramid = build_teacher_forcing(latent, quantizer, None)
    inputs, labels, sums = reference(quantizer, latent=latent)
    assert pyramid.inputs.shape == (2, pyramid.layout.video_len, DIM)
    torch.testing.assert_close(pyramid.inputs, inputs)
    assert torch.equal(pyramid.labels, labels)
    torch.testing.assert_close(pyramid.reconstructed, sums)
    assert pyramid.flip_rates.eq(0).all()
    assert pyramid.inputs[:, pyramid.layout.video_block_slice(1, 0)].abs().sum() > 0
    # flip_prob = 0 gives the quantizer's own labels and quantized latent, frame by frame
    zero = build_teacher_forcing(latent, quantizer, torch.zeros(2, 3, len(SCALES)))
    assert torch.equal(zero.labels, pyramid.labels) and torch.equal(zero.inputs, pyramid.inputs)
    for t in range(3):
        out = quantizer(latent[:, :, t])
        torch.testing.assert_close(pyramid.reconstructed[:, :, t], out.quantized)
        for k in range(len(SCALES)):
            block = pyramid.labels[:, pyramid.layout.video_block_slice(t, k)]
            assert torch.equal(block, flatten_labels(out.labels[k]))


def _predrawn_flips(quantizer, probs, rows, seed):
    """The flips of ``flip_labels`` drawn up front, in its order: per corrupted scale a uniform
    (and, for indices, a replacement index) of the whole ``(B*T', h_k, w_k, ...)`` batch."""
    gen = torch.Generator().manual_seed(seed)
    draws = {}
    for k, (h, w) in enumerate(SCALES):
        if bool((probs[..., k] > 0).any()):
            shape = (rows, h, w, *quantizer.label_shape)
            uniform = torch.rand(shape, generator=gen)
            index = None
            if quantizer.label_kind == 'index':
                index = torch.randint(0, quantizer.label_space_size, shape, generator=gen)
            draws[k] = (uniform, index)
    num_frames = probs.shape[1]

    def flip(b, t, k, labels):
        if k not in draws:
            return labels
        uniform, index = draws[k]
        row = b * num_frames + t
        hit = uniform[row : row + 1] < probs[b, t, k]
        if index is None:
            return labels ^ hit.long()
        return torch.where(hit, index[row : row + 1], labels)

    return flip


@pytest.mark.parametrize('kind', KINDS)
def test_teacher_forcing_with_flips_equals_the_reference(kind):
    reference = reference_pyramid
    quantizer = make_quantizer(kind)
    latent = torch.randn(2, DIM, 3, 4, 4)
    probs = torch.rand(2, 3, len(SCALES), generator=torch.Generator().manual_seed(3)) * 0.5
    probs[..., 1] = 0.0  # a clean scale between corrupted ones
    pyramid = build_teacher_forcing(latent, quantizer, probs, torch.Generator().manual_seed(7))
    flip = _predrawn_flips(quantizer, probs, 2 * 3, seed=7)
    inputs, labels, sums = reference(quantizer, latent=latent, flip=flip)
    torch.testing.assert_close(pyramid.inputs, inputs)
    assert torch.equal(pyramid.labels, labels)  # the clean targets against the corrupted sums
    torch.testing.assert_close(pyramid.reconstructed, sums)
    clean = build_teacher_forcing(latent, quantizer, None)
    assert not torch.equal(pyramid.inputs, clean.inputs)  # the flips reached the inputs
    assert pyramid.flip_rates[:, 1].eq(0).all() and pyramid.flip_rates[:, 0].gt(0).any()


@pytest.mark.parametrize('kind', KINDS)
def test_inputs_from_labels_equal_the_reference(kind):
    reference, labels_of = reference_pyramid, LabelsOf
    quantizer = make_quantizer(kind)
    labels, layout = random_labels(quantizer, batch=2, num_frames=3)
    inputs, sums = inputs_from_labels(quantizer, labels, 3)
    ref_inputs, ref_labels, ref_sums = reference(quantizer, labels=labels_of(labels, layout))
    assert torch.equal(ref_labels, labels)
    torch.testing.assert_close(inputs, ref_inputs)
    torch.testing.assert_close(sums, ref_sums)
    assert inputs[:, layout.video_block_slice(0, 0)].eq(0).all()  # the start token's place
    with pytest.raises(ValueError, match='tokens'):
        inputs_from_labels(quantizer, labels[:, :-1], 3)


@pytest.mark.parametrize('kind', KINDS)
def test_the_step_by_step_walk_of_the_sampler_equals_the_reference(kind):
    reference, labels_of = reference_pyramid, LabelsOf
    quantizer = make_quantizer(kind)
    labels, layout = random_labels(quantizer, batch=2, num_frames=3, seed=1)
    ref_inputs, _, ref_sums = reference(quantizer, labels=labels_of(labels, layout))
    pyramid = ResidualPyramid(quantizer, 2)
    inputs, sums = [], []
    for t in range(3):
        for k, size in enumerate(SCALES):
            inputs.append(flatten_tokens(pyramid.scale_input(k)))
            block = labels[:, layout.video_block_slice(t, k)]
            pyramid.add_labels(unflatten_labels(block, size), k)
        sums.append(pyramid.end_frame())
    torch.testing.assert_close(torch.cat(inputs, dim=1), ref_inputs)
    torch.testing.assert_close(torch.stack(sums, dim=2), ref_sums)
    # a walk that starts after given frames takes the last one's sum for its scale 0
    resumed = ResidualPyramid(quantizer, 2, prev_sum=sums[0])
    torch.testing.assert_close(
        flatten_tokens(resumed.scale_input(0)), ref_inputs[:, layout.video_block_slice(1, 0)]
    )
    with pytest.raises(ValueError, match='rows'):
        ResidualPyramid(quantizer, 3, prev_sum=sums[0])


@pytest.mark.parametrize('kind', KINDS)
def test_labels_to_latent_is_the_quantized_latent(kind):
    quantizer = make_quantizer(kind)
    out = quantizer(torch.randn(5, DIM, 4, 4))
    torch.testing.assert_close(labels_to_latent(quantizer, out.labels), out.quantized)


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
