"""Speed of the sequence building blocks: teacher forcing + correction, masks, rotary tables.

``BENCHMARKS[name](quick) -> dict`` of measured numbers (milliseconds unless the key says
otherwise); ``quick=True`` uses fewer repeats and smaller batches. Sizes follow the UCF-101 setting
of the paper (8x8 latents, 6 scales (1, 2, 3, 4, 6, 8), 5 latent frames).
"""

from __future__ import annotations

import torch

from videoar.models.correctors import CrossFrameErrorCorrection
from videoar.models.maskings import BlockCausalMask, RandomFrameMask, block_causal_mask
from videoar.models.pos_encodings import MultiScaleTemporalRoPE, apply_rotary
from videoar.models.quantizers import MultiScaleBSQ
from videoar.models.sequence import build_teacher_forcing, get_layout

from .timing import time_call

SCALES = [1, 2, 3, 4, 6, 8]


def _time_ms(fn, repeats: int) -> float:
    """Median wall time of ``fn()`` in ms (one warm-up call first)."""
    return 1000 * time_call(fn, repeat=repeats)['median_s']


def bench_teacher_forcing(quick: bool = False) -> dict:
    """Clean pyramid vs. cross-frame error correction, BSQ d=16, T'=5, 6 scales."""
    batch = 2 if quick else 8
    repeats = 3 if quick else 10
    quantizer = MultiScaleBSQ(16, SCALES).eval()
    latent = torch.randn(batch, 16, 5, 8, 8)
    corrector = CrossFrameErrorCorrection().train()
    gen = torch.Generator().manual_seed(0)
    clean = _time_ms(lambda: build_teacher_forcing(latent, quantizer), repeats)
    corrected = _time_ms(lambda: corrector(latent, quantizer, gen), repeats)
    tokens = batch * 5 * sum(s * s for s in SCALES)
    return {
        'batch': batch,
        'tokens': tokens,
        'clean_ms': clean,
        'cross_frame_correction_ms': corrected,
        'tokens_per_s_corrected': tokens / (corrected / 1000),
    }


def bench_masks(quick: bool = False) -> dict:
    """Block-causal mask build (cold / cached) and a training RandomFrameMask draw."""
    repeats = 3 if quick else 10
    batch = 2 if quick else 8
    layout = get_layout(5, SCALES, prefix_len=1)
    cold = _time_ms(lambda: block_causal_mask(layout), repeats)
    masking = BlockCausalMask()
    cached = _time_ms(lambda: masking(layout, batch, True), repeats)
    random_mask = RandomFrameMask(drop_prob=0.2)
    gen = torch.Generator().manual_seed(0)
    drawn = _time_ms(lambda: random_mask(layout, batch, True, generator=gen), repeats)
    return {
        'seq_len': layout.total_len,
        'block_causal_build_ms': cold,
        'block_causal_cached_ms': cached,
        'random_frame_mask_train_ms': drawn,
        'batch': batch,
    }


def bench_rotary(quick: bool = False) -> dict:
    """Multi-scale temporal RoPE: table build (cold / cached) and apply_rotary on (B, H, L, 64)."""
    repeats = 3 if quick else 10
    layout = get_layout(5, SCALES, prefix_len=1)
    rope = MultiScaleTemporalRoPE(head_dim=64, scale_sizes=SCALES)

    def cold():
        rope._tables.clear()
        return rope.rotary(layout)

    cold_ms = _time_ms(cold, repeats)
    cached_ms = _time_ms(lambda: rope.rotary(layout), repeats)
    cos, sin = rope.rotary(layout)
    x = torch.randn(2 if quick else 8, 8, layout.total_len, 64)
    apply_ms = _time_ms(lambda: apply_rotary(x, cos, sin), repeats)
    return {
        'seq_len': layout.total_len,
        'table_build_ms': cold_ms,
        'table_cached_ms': cached_ms,
        'apply_rotary_ms': apply_ms,
        'apply_rotary_shape': list(x.shape),
    }


BENCHMARKS = {
    'sequence_teacher_forcing': bench_teacher_forcing,
    'sequence_masks': bench_masks,
    'sequence_rotary': bench_rotary,
}
