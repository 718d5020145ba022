"""Samplers (temperature, top-k, top-p, seeds) and CFG schedules."""

import math

import pytest
import torch

from videoar.models.sampling import (
    BaseCFGSchedule,
    ConstantCFG,
    LabelSampler,
    filter_logits,
    sample_bits,
    sample_logits,
    sample_tokens,
)
from videoar.registry import CFG_SCHEDULES
from videoar.utils import ConfigError


def test_top_k_and_top_p_keep_the_right_sets():
    probs = torch.tensor([0.05, 0.5, 0.15, 0.3])
    logits = probs.log()
    kept = torch.isfinite(filter_logits(logits, top_k=2))
    assert kept.tolist() == [False, True, False, True]
    # nucleus 0.7: 0.5 (mass before 0) and 0.3 (mass before 0.5) stay, 0.15 (before 0.8) goes
    kept = torch.isfinite(filter_logits(logits, top_p=0.7))
    assert kept.tolist() == [False, True, False, True]
    kept = torch.isfinite(filter_logits(logits, top_p=0.81))
    assert kept.tolist() == [False, True, True, True]
    # the most likely entry always survives, even with a tiny top_p
    assert torch.isfinite(filter_logits(logits, top_p=1e-6)).tolist() == [False, True, False, False]
    # batched rows are filtered independently
    rows = torch.stack([logits, logits.flip(0)])
    assert torch.isfinite(filter_logits(rows, top_k=1)).sum(-1).tolist() == [1, 1]


def test_sampling_follows_the_softmax_and_temperature():
    logits = torch.tensor([0.0, 1.0, 2.0]).expand(20000, 3)
    gen = torch.Generator().manual_seed(0)
    draws = sample_logits(logits, generator=gen)
    freq = torch.bincount(draws, minlength=3).float() / draws.numel()
    torch.testing.assert_close(freq, logits[0].softmax(-1), atol=0.015, rtol=0)
    hot = sample_logits(logits, temperature=0.5, generator=gen)
    freq = torch.bincount(hot, minlength=3).float() / hot.numel()
    torch.testing.assert_close(freq, (logits[0] / 0.5).softmax(-1), atol=0.015, rtol=0)
    assert (sample_logits(logits[:5], temperature=0) == 2).all()
    topk = sample_logits(logits, top_k=2, generator=gen)
    assert (topk > 0).all()


def test_bit_and_token_samplers_are_seeded():
    logits = torch.randn(2, 6, 4, 2)
    a = sample_bits(logits, generator=torch.Generator().manual_seed(7))
    b = sample_bits(logits, generator=torch.Generator().manual_seed(7))
    c = sample_bits(logits, generator=torch.Generator().manual_seed(8))
    assert a.shape == (2, 6, 4) and set(a.unique().tolist()) <= {0, 1}
    assert torch.equal(a, b) and not torch.equal(a, c)
    # bit probability = sigmoid(l1 - l0)
    bit = torch.tensor([[0.0, math.log(3.0)]]).expand(20000, 2)
    draws = sample_bits(bit, generator=torch.Generator().manual_seed(1))
    assert abs(draws.float().mean().item() - 0.75) < 0.015
    tokens = sample_tokens(torch.randn(3, 5, 11), generator=torch.Generator().manual_seed(0))
    assert tokens.shape == (3, 5) and tokens.max() < 11
    with pytest.raises(ValueError, match='trailing axis of 2'):
        sample_bits(torch.randn(2, 3))
    with pytest.raises(ConfigError, match='top_p'):
        LabelSampler('bits', top_p=0.0)
    with pytest.raises(ConfigError, match='label_kind'):
        LabelSampler('words')


def test_constant_cfg_schedule():
    sched = CFG_SCHEDULES.build(dict(type='ConstantCFG', scale=3.0))
    assert isinstance(sched, BaseCFGSchedule)
    assert sched(0, 0, 5, 6) == 3.0 and sched(4, 5, 5, 6) == 3.0
    assert sched.table(2, 3) == [[3.0] * 3] * 2
    assert not sched.is_trivial(2, 3)
    assert ConstantCFG(1.0).is_trivial(5, 6)
    with pytest.raises(ConfigError):
        ConstantCFG(-1.0)
