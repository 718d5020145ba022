"""Speed of the tokenizer: encode / decode / quantize clips per second (CPU or CUDA).

``BENCHMARKS = {'name': fn}``; ``fn(quick) -> dict`` of measured numbers. The tiny MovingDigits
tokenizer (17 x 32 x 32 clips) is measured in full; ``quick=True`` uses fewer clips and repeats.
"""

from __future__ import annotations

import os.path as osp

import torch
from mmengine.config import Config

from videoar.registry import MODELS

from .timing import time_call

#: the tiny MovingDigits tokenizer architecture, read from the config that defines it
ARCH_CONFIG = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
    'configs', '_base_', 'models', 'tokenizer_arch_moving_digits.py',
)  # fmt: skip


def tiny_tokenizer_cfg() -> dict:
    """The ``VideoTokenizer`` model config of :data:`ARCH_CONFIG`."""
    return dict(type='VideoTokenizer', **Config.fromfile(ARCH_CONFIG).model.to_dict())


def _time(fn, repeats: int) -> float:
    """Median seconds of ``fn()`` after one warm-up call."""
    return time_call(fn, repeat=repeats)['median_s']


def tokenizer_throughput(quick: bool = True) -> dict:
    """Clips per second of encode, quantize, decode and a full training step (batch 8)."""
    torch.manual_seed(0)
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    model = MODELS.build(tiny_tokenizer_cfg()).to(device).eval()
    batch, repeats = (4, 2) if quick else (8, 5)
    video = torch.rand(batch, 3, 17, 32, 32, device=device) * 2 - 1
    with torch.no_grad():
        latent = model.encode_latent(video)
        t_enc = _time(lambda: model.encode_latent(video), repeats)
        t_quant = _time(lambda: model.quantize(latent), repeats)
        t_dec = _time(lambda: model.decode_from_latent(latent), repeats)
        t_chunk = _time(lambda: model.tokenizer.decode_chunked(latent, 1), repeats)
    model.train()
    optim = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step():
        losses, _ = model.generator_losses(video)
        loss = sum(v for k, v in losses.items() if k.startswith('loss'))
        optim.zero_grad()
        loss.backward()
        optim.step()

    t_step = _time(step, max(1, repeats // 2))
    return {
        'device': device,
        'batch': batch,
        'encode_clips_per_s': batch / t_enc,
        'quantize_clips_per_s': batch / t_quant,
        'decode_clips_per_s': batch / t_dec,
        'decode_chunked_clips_per_s': batch / t_chunk,
        'train_step_s': t_step,
        'params_M': sum(p.numel() for p in model.parameters()) / 1e6,
    }


BENCHMARKS = {'tokenizer_tiny_throughput': tokenizer_throughput}
