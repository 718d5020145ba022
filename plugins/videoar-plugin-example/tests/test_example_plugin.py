"""The example plugin's own tests: each component does what its docstring says, inside videoar."""

import os
import sys

import pytest
import torch

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import videoar_plugin_example  # noqa: E402,F401  (registers the components)

from videoar.models.sequence import get_layout  # noqa: E402
from videoar.registry import CORRECTORS, MASKINGS, POS_ENCODINGS  # noqa: E402


def test_sinusoidal_pe_is_fixed_distinct_and_sliceable():
    pe = POS_ENCODINGS.build(dict(type='SinusoidalFrameScalePE', dim=32, head_dim=8,
                                  scale_sizes=[1, 2], max_frames=3, max_prefix_len=1))  # fmt: skip
    assert not list(pe.parameters())  # nothing to learn
    layout = get_layout(3, ((1, 1), (2, 2)), 1)
    table = pe.embedding(layout)
    assert table.shape == (layout.total_len, 32)
    assert torch.unique(table, dim=0).shape[0] == layout.total_len  # every token distinct
    # the same (k, h, w) in two frames differs only in the frame part (the first 8 channels)
    a, b = layout.block_slice(0, 1).start, layout.block_slice(1, 1).start
    assert not torch.equal(table[a, :8], table[b, :8]) and torch.equal(table[a, 8:], table[b, 8:])
    assert torch.equal(pe.embedding(layout, 3, 7), table[3:7])  # what the KV-cached sampler asks


def test_recent_frames_keep_mask_never_hides_the_previous_frame():
    mask_fn = MASKINGS.build(dict(type='RecentFramesKeepMask', keep_recent=1, drop_prob=0.5))
    layout = get_layout(4, ((1, 1), (2, 2)), 1)
    mask = mask_fn(layout, 4000, True, torch.Generator().manual_seed(0))
    query = layout.block_slice(3, 0).start
    seen = {
        t: mask[:, query, layout.block_slice(t, 1).start].float().mean().item() for t in range(3)
    }
    assert seen[2] == 1.0  # the previous frame: always visible
    assert abs(seen[1] - 0.5) < 0.03 and abs(seen[0] - 0.5) < 0.03  # older: dropped half the time
    assert bool(mask[:, :, : layout.prefix_len].all())  # the condition is never hidden
    assert torch.equal(mask_fn(layout, 2, False), mask_fn.static_mask(layout))  # eval: block-causal


def test_scale_ramp_correction_ramps_over_scales_not_frames():
    corrector = CORRECTORS.build(dict(type='ScaleRampCorrection', p_coarse=0.4, p_fine=0.0,
                                      jitter=0.0))  # fmt: skip
    probs = corrector.sample_flip_probs(2, 3, 5)
    assert torch.allclose(probs[0, 0], torch.linspace(0.4, 0.0, 5))
    assert torch.equal(probs[:, 0], probs[:, 2])


@pytest.mark.parametrize('bad', [dict(keep_recent=-1), dict(drop_prob=1.5)])
def test_bad_mask_settings_say_what_is_wrong(bad):
    from videoar.utils import ConfigError

    with pytest.raises(ConfigError, match='RecentFramesKeepMask'):
        MASKINGS.build(dict(type='RecentFramesKeepMask', **bad))
