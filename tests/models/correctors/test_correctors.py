"""Correctors: flip-probability ranges, inheritance, realised rates and self-corrected targets.

What holds for the recomputed targets (tested below):

* for every quantizer, the target of block ``(t, k)`` is the quantisation of
  ``latent_t - cum`` where ``cum`` is the *corrupted* running sum (the sum of the requantised,
  flipped labels of scales ``< k``), and the pyramid's labels are these clean targets;
* so with a quantizer whose last (full-size) scale is fine enough, the corrupted sum plus the
  recomputed last-scale target reconstructs the clean latent to within that scale's step, however
  much the earlier scales were corrupted (as long as the last scale itself is not flipped);
* for BSQ (codes ``alpha_k * (2 b - 1) / sqrt(d)``, no projection), the target bits are the signs
  of the downsampled error ``latent - cum``; at the last, full-size scale the correction added to
  the corrupted sum points every channel towards the clean latent: ``sign(reconstructed - cum) ==
  sign(latent - cum)`` (zero counted negative). BSQ does not reconstruct exactly (each code has a
  fixed magnitude).
"""

import math

import pytest
import torch

from videoar.models.correctors import (
    BitwiseSelfCorrection,
    CrossFrameErrorCorrection,
    NoCorrection,
)
from videoar.models.quantizers import MultiScaleBSQ, MultiScaleQuantizer, MultiScaleVQ
from videoar.models.sequence import build_teacher_forcing, unflatten_labels
from videoar.registry import CORRECTORS
from videoar.utils import ConfigError


class FineScalarQuantizer(MultiScaleQuantizer):
    """d = 1, index labels on a uniform grid of V values in [-R_k, R_k] per scale.

    The last scale's grid is wide enough to absorb any corruption of the coarser scales, and fine
    (step ``self.step``), so it can correct whatever the earlier scales left.
    """

    label_kind = 'index'

    def __init__(self, scale_sizes, levels=1201, radii=(4.0, 4.0, 12.0)):
        super().__init__(1, scale_sizes)
        self.levels, self.radii = levels, radii
        self.step = 2 * radii[-1] / (levels - 1)

    @property
    def label_space_size(self):
        return self.levels

    @property
    def logits_per_token(self):
        return self.levels

    @property
    def label_shape(self):
        return ()

    def quantize_scale(self, residual, k):
        step = 2 * self.radii[k] / (self.levels - 1)
        index = torch.round((residual[:, 0] + self.radii[k]) / step).clamp(0, self.levels - 1)
        index = index.long()
        return self.labels_to_codes(index, k), index, {}

    def labels_to_codes(self, labels, k):
        step = 2 * self.radii[k] / (self.levels - 1)
        return (labels.float() * step - self.radii[k]).unsqueeze(1)


class Recording(MultiScaleBSQ):
    """BSQ that records the residuals it quantises and the labels it requantises."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.residuals, self.requantised = {}, {}

    def quantize_residual(self, residual, k):
        self.residuals[k] = residual.clone()
        return super().quantize_residual(residual, k)

    def labels_to_codes(self, labels, k):
        self.requantised[k] = labels.clone()
        return super().labels_to_codes(labels, k)


def test_cross_frame_probabilities_ramp_with_time_and_inherit_the_last_scale():
    corrector = CrossFrameErrorCorrection(p_min=0.05, p_max=0.25, delta=0.02)
    gen = torch.Generator().manual_seed(0)
    probs = corrector.sample_flip_probs(4000, 5, 3, generator=gen)
    assert probs.shape == (4000, 5, 3)
    for t in range(5):
        low, high = 0.05 + 0.02 * t, 0.25 + 0.02 * t
        for k in range(3):
            p = probs[:, t, k]
            # an inherited first scale starts at the previous frame's draw (>= its own low end)
            floor = low - 0.02 if (k == 0 and t > 0) else low
            assert p.min() >= floor - 1e-6 and p.max() <= high + 1e-6
            if k > 0 or t == 0:  # plain uniform draws fill the range
                assert p.min() < low + 0.005 and p.max() > high - 0.005
                assert abs(p.mean().item() - (low + high) / 2) < 0.005
        if t > 0:  # inheritance: per sample, at least the previous frame's last scale
            assert (probs[:, t, 0] >= probs[:, t - 1, 2]).all()
            assert probs[:, t, 0].mean() > (low + high) / 2 + 0.02
    # without inheritance the first scale is an ordinary draw
    plain = CrossFrameErrorCorrection(inherit=False).sample_flip_probs(4000, 3, 2, generator=gen)
    assert abs(plain[:, 2, 0].mean().item() - (0.02 + 0.27) / 2) < 0.005
    assert (plain[:, 2, 0] < plain[:, 1, 1]).any()


def test_cross_frame_per_batch_draws_and_single_scale_chains():
    gen = torch.Generator().manual_seed(0)
    shared = CrossFrameErrorCorrection(per_sample=False).sample_flip_probs(6, 4, 3, generator=gen)
    assert torch.equal(shared, shared[:1].expand_as(shared))
    one = CrossFrameErrorCorrection(p_max=0.2, delta=0.05).sample_flip_probs(
        500, 6, 1, generator=gen
    )
    assert (one[:, 1:, 0] >= one[:, :-1, 0]).all()  # K = 1: the chain runs through every frame


def test_realised_flip_rates_fall_in_the_ranges_and_the_last_scale_is_flipped():
    torch.manual_seed(0)
    quantizer = MultiScaleBSQ(16, [(8, 8), (16, 16)]).eval()
    corrector = CrossFrameErrorCorrection().train()
    batch, num_frames = 3, 5
    latent = torch.randn(batch, 16, num_frames, 16, 16)
    pyramid = corrector(latent, quantizer, torch.Generator().manual_seed(3))
    probs, rates = pyramid.flip_probs, pyramid.sample_flip_rates
    assert torch.equal(corrector.last_flip_rates, pyramid.flip_rates)
    counts = torch.tensor([8 * 8 * 16, 16 * 16 * 16], dtype=torch.float32)
    tolerance = 5 * torch.sqrt(probs * (1 - probs) / counts) + 2e-3
    assert ((rates - probs).abs() <= tolerance).all()  # realised ~ drawn
    for t in range(num_frames):
        low, high = 0.01 * t, 0.25 + 0.01 * t
        # an inherited scale 0 starts at the previous frame's draw, so at its low end at least
        low = torch.tensor([max(low - 0.01, 0.0) if t > 0 else low, low])
        assert (rates[:, t] >= low - tolerance[:, t]).all()
        assert (rates[:, t] <= high + tolerance[:, t]).all()
        if t > 0:  # inherited lower bound, per sample, on the realised rates too
            assert (rates[:, t, 0] >= rates[:, t - 1, -1] - tolerance[:, t, 0] * 2).all()
    assert rates[:, :, -1].gt(0).all()  # the last scale is corrupted too


def test_targets_are_recomputed_against_the_corrupted_running_sum():
    torch.manual_seed(0)
    scales = [(1, 1), (2, 2), (4, 4)]
    quantizer = Recording(8, scales, scale_init=[1.0, 0.6, 0.3]).eval()
    batch, num_frames = 2, 3
    latent = torch.randn(batch, 8, num_frames, 4, 4)
    probs = torch.full((batch, num_frames, 3), 0.3)
    probs[..., -1] = 0.0  # last scale clean, so the final sum is cum + its target
    pyramid = build_teacher_forcing(latent, quantizer, probs, torch.Generator().manual_seed(0))
    frames = latent.permute(0, 2, 1, 3, 4).reshape(-1, 8, 4, 4)  # (b t) order, as folded inside
    cum = torch.zeros_like(frames)
    for k in range(3):
        # the residual quantised at scale k is the clean latent minus the corrupted sum
        torch.testing.assert_close(quantizer.residuals[k], frames - cum)
        _, targets, _ = MultiScaleBSQ.quantize_residual(quantizer, frames - cum, k)
        got = torch.cat(
            [
                unflatten_labels(
                    pyramid.labels[:, pyramid.layout.video_block_slice(t, k)], scales[k]
                )
                for t in range(num_frames)
            ],
            dim=0,
        )
        # pyramid labels are in (t b) order here; compare per frame
        got = got.reshape(num_frames, batch, *got.shape[1:]).transpose(0, 1).reshape_as(targets)
        assert torch.equal(got, targets)  # the clean targets, not the flipped labels
        flipped = quantizer.requantised.get(k, targets)
        if k < 2:
            assert not torch.equal(flipped, targets)  # the sum really was corrupted
        codes = MultiScaleBSQ.labels_to_codes(quantizer, flipped, k)
        cum_before_last = cum
        cum = cum + quantizer.codes_to_residual(codes, k)
    final = pyramid.reconstructed.permute(0, 2, 1, 3, 4).reshape_as(frames)
    torch.testing.assert_close(final, cum)
    # BSQ: the last correction points every channel towards the clean latent
    error = frames - cum_before_last
    correction = final - cum_before_last
    assert torch.equal(correction > 0, error > 0)


def test_recomputed_targets_undo_heavy_corruption_with_a_fine_last_scale():
    torch.manual_seed(0)
    quantizer = FineScalarQuantizer([(1, 1), (2, 2), (4, 4)])
    latent = torch.randn(2, 1, 3, 4, 4)
    probs = torch.full((2, 3, 3), 0.9)
    probs[..., -1] = 0.0
    noisy = build_teacher_forcing(latent, quantizer, probs, torch.Generator().manual_seed(0))
    clean = build_teacher_forcing(latent, quantizer, None)
    assert noisy.flip_rates[:, :2].gt(0.8).all()
    # the corrupted coarse sums are far from the latent (inputs of the last scale differ) ...
    last = [noisy.layout.video_block_slice(t, 2) for t in range(3)]
    gap = max((noisy.inputs[:, s] - clean.inputs[:, s]).abs().max().item() for s in last)
    assert gap > 20 * quantizer.step
    # ... yet corrupted sum + recomputed last target reconstructs the clean latent
    assert (noisy.reconstructed - latent).abs().max() <= quantizer.step / 2 + 1e-5
    assert (clean.reconstructed - latent).abs().max() <= quantizer.step / 2 + 1e-5


def test_index_labels_are_replaced_at_the_drawn_rate():
    torch.manual_seed(0)
    quantizer = MultiScaleVQ(4, [(8, 8), (16, 16)], codebook_size=16).eval()
    latent = torch.randn(2, 4, 2, 16, 16)
    probs = torch.full((2, 2, 2), 0.4)
    pyramid = build_teacher_forcing(latent, quantizer, probs, torch.Generator().manual_seed(0))
    expected = 0.4 * (1 - 1 / 16)
    assert (pyramid.sample_flip_rates - expected).abs().max() < 0.1
    assert abs(pyramid.flip_rates[:, 1].mean().item() - expected) < 0.03


def test_bitwise_self_correction_draws_per_scale_and_skips_the_last_scale():
    gen = torch.Generator().manual_seed(0)
    bsc = BitwiseSelfCorrection(p_max=0.3)
    probs = bsc.sample_flip_probs(2000, 3, 4, generator=gen)
    assert torch.equal(probs, probs[:, :1].expand_as(probs))  # same for every frame
    assert probs[..., -1].eq(0).all() and probs[..., :-1].gt(0).all()
    assert probs.max() <= 0.3 and abs(probs[:, 0, 0].mean().item() - 0.15) < 0.01
    assert not torch.equal(probs[0], probs[1])  # per sample by default
    assert BitwiseSelfCorrection(apply_scales='all').sample_flip_probs(5, 1, 4)[..., -1].gt(0).all()
    two = BitwiseSelfCorrection(apply_scales=2).sample_flip_probs(5, 1, 4)
    assert two[..., :2].gt(0).all() and two[..., 2:].eq(0).all()
    batch = BitwiseSelfCorrection(per_sample=False).sample_flip_probs(5, 2, 3)
    assert torch.equal(batch, batch[:1].expand_as(batch))


@pytest.mark.parametrize(
    'apply_scales, last_flipped', [('all', True), ('all_but_last', False), (None, False)]
)
def test_bitwise_self_correction_flips_the_last_scale_only_as_infinity(apply_scales, last_flipped):
    """'all' = Infinity's released runs (every scale), 'all_but_last' = InfinityStar (default)."""
    torch.manual_seed(0)
    quantizer = MultiScaleBSQ(8, [1, 2, 4]).eval()
    bsc = BitwiseSelfCorrection(p_max=0.5, apply_scales=apply_scales).train()
    pyramid = bsc(torch.randn(16, 8, 2, 4, 4), quantizer, torch.Generator().manual_seed(1))
    assert pyramid.flip_rates[:, :-1].gt(0).all()
    assert bool(pyramid.flip_rates[:, -1].gt(0).all()) is last_flipped
    assert BitwiseSelfCorrection().apply_scales == 'all_but_last'
    with pytest.raises(ConfigError, match='Infinity'):
        BitwiseSelfCorrection(apply_scales='every')


@pytest.mark.parametrize('corrector', [NoCorrection(), CrossFrameErrorCorrection()])
def test_eval_mode_and_no_correction_give_the_clean_pyramid(corrector):
    quantizer = MultiScaleBSQ(6, [1, 2, 4]).eval()
    latent = torch.randn(2, 6, 3, 4, 4)
    clean = build_teacher_forcing(latent, quantizer)
    corrector.train(isinstance(corrector, NoCorrection))
    pyramid = corrector(latent, quantizer, torch.Generator().manual_seed(0))
    assert torch.equal(pyramid.labels, clean.labels) and torch.equal(pyramid.inputs, clean.inputs)
    assert corrector.last_flip_rates.eq(0).all()


def test_invalid_corrector_configs_raise():
    with pytest.raises(ConfigError, match='p_min'):
        CrossFrameErrorCorrection(p_min=0.3, p_max=0.2)
    with pytest.raises(ConfigError, match='delta'):
        CrossFrameErrorCorrection(delta=-0.1)
    with pytest.raises(ConfigError, match='p_max'):
        BitwiseSelfCorrection(p_max=1.5)
    with pytest.raises(ConfigError, match='apply_scales'):
        BitwiseSelfCorrection(apply_scales=-1)


NAMES = sorted(n for n in CORRECTORS.module_dict if not n.startswith('_'))


@pytest.mark.parametrize('name', NAMES)
def test_every_registered_corrector_fulfils_the_contract(name):
    corrector = CORRECTORS.build(dict(type=name)).train()
    probs = corrector.sample_flip_probs(3, 4, 5, generator=torch.Generator().manual_seed(0))
    again = corrector.sample_flip_probs(3, 4, 5, generator=torch.Generator().manual_seed(0))
    assert probs.shape == (3, 4, 5) and probs.dtype == torch.float32
    assert probs.min() >= 0 and probs.max() <= 1 and torch.equal(probs, again)
    quantizer = MultiScaleBSQ(4, [1, 2]).eval()
    latent = torch.randn(2, 4, 2, 2, 2)
    pyramid = corrector(latent, quantizer, torch.Generator().manual_seed(0))
    assert pyramid.inputs.shape == (2, 2 * 5, 4) and pyramid.labels.shape == (2, 10, 4)
    assert pyramid.flip_rates.shape == (2, 2) and math.isfinite(pyramid.flip_rates.sum().item())
    corrector.eval()
    assert corrector(latent, quantizer).flip_rates.eq(0).all()
