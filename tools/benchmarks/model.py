"""Speed of the tiny VideoAR model (``configs/_base_/models/videoar_tiny.py``, random init).

``BENCHMARKS[name](quick) -> dict`` of measured numbers; ``quick=True`` uses fewer repeats and
a smaller batch. Times are medians (and minima) after one warm-up call; the thread count is set
by the caller (``tools/benchmark.py --threads``).

* ``videoar_tiny_sampling``: sampling steps per video (= latent frames x scales) and seconds per
  video, with batched CFG (``cfg_scale=3``), at batch 1 and batch 8, with and without decoding
  by the (random-init, same-size) tokenizer.
* ``videoar_tiny_train_step``: one AR training step (loss + backward, no optimizer) on cached
  latents, and the tokenizer encode that a latent cache saves.
"""

from __future__ import annotations

import os.path as osp
import statistics

import torch
from mmengine.optim import OptimWrapper

from videoar.engine.finite_guard import FiniteStepGuard
from videoar.models.sampling.sampler import sample_video
from videoar.pipelines import init_model

from .timing import time_call

CONFIG = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
    'configs', '_base_', 'models', 'videoar_tiny.py',
)  # fmt: skip


def _times(fn, repeats: int) -> list[float]:
    """Wall times of ``fn()`` in seconds after one warm-up call."""
    return time_call(fn, repeat=repeats)['times_s']


def _tiny_model():
    torch.manual_seed(0)
    return init_model(CONFIG)


def bench_sampling(quick: bool = False) -> dict:
    """Sampling steps and seconds per video of the tiny model (CFG batched, KV cache)."""
    model = _tiny_model().eval()
    repeats = 2 if quick else 5
    big_batch = 4 if quick else 8
    result = {
        'num_frames': model.num_frames,
        'latent_frames': model.latent_frames,
        'num_scales': model.num_scales,
        'num_sampling_steps': model.num_sampling_steps,
        'trainable_params': sum(p.numel() for p in model.parameters() if p.requires_grad),
    }
    for batch in (1, big_batch):
        meta = {'label': torch.arange(batch) % 10}

        def run(decode: bool, batch=batch, meta=meta):
            return sample_video(model, meta, batch_size=batch, cfg_scale=3.0, seed=0, decode=decode)

        tokens_only = _times(lambda: run(False), repeats)
        with_decode = _times(lambda: run(True), repeats)
        result[f'b{batch}_s_per_video_tokens'] = statistics.median(tokens_only) / batch
        result[f'b{batch}_s_per_video_tokens_min'] = min(tokens_only) / batch
        result[f'b{batch}_s_per_video_with_decode'] = statistics.median(with_decode) / batch
        result[f'b{batch}_ms_per_step'] = (
            1000 * statistics.median(tokens_only) / (model.num_sampling_steps)
        )
    return result


def bench_train_step(quick: bool = False) -> dict:
    """One training step of the tiny model on cached latents, and the encode it saves."""
    model = _tiny_model().train()
    batch = 4 if quick else 8
    repeats = 2 if quick else 5
    video = torch.rand(batch, 3, model.num_frames, *model.resolution) * 2 - 1
    latent = model.encode(video)
    meta = {'label': torch.arange(batch) % 10, 'latent': latent}

    def step():
        model.zero_grad(set_to_none=True)
        model(None, meta, mode='loss')['loss'].backward()

    step_times = _times(step, repeats)
    encode_times = _times(lambda: model.encode(video), repeats)
    return {
        'batch': batch,
        'ar_step_ms': 1000 * statistics.median(step_times),
        'ar_step_ms_min': 1000 * min(step_times),
        'encode_ms': 1000 * statistics.median(encode_times),
        'tokens_per_step': batch * model.layout(model.latent_frames).video_len,
    }


def bench_finite_guard(quick: bool = False) -> dict:
    """A full optimizer step (loss, backward, clipping, AdamW) of the tiny model on cached
    latents, without and with the finiteness guard (``FiniteStepGuard``, on by default)."""
    model = _tiny_model().train()
    batch, repeats = (4, 3) if quick else (8, 7)
    latent = model.encode(torch.rand(batch, 3, model.num_frames, *model.resolution) * 2 - 1)
    meta = {'label': torch.arange(batch) % 10, 'latent': latent}
    wrapper = OptimWrapper(
        torch.optim.AdamW(model.parameters(), lr=0.0), clip_grad=dict(max_norm=2.0)
    )

    def step():
        wrapper.update_params(model(None, meta, mode='loss')['loss'])

    plain = _times(step, repeats)
    guard = FiniteStepGuard.install(wrapper)
    guarded = _times(step, repeats)
    guard.uninstall()
    return {
        'batch': batch,
        'step_ms': 1000 * statistics.median(plain),
        'guarded_step_ms': 1000 * statistics.median(guarded),
        'guard_overhead_ms': 1000 * (statistics.median(guarded) - statistics.median(plain)),
        'steps_skipped': len(guard.skipped),
    }


BENCHMARKS = {
    'videoar_tiny_sampling': bench_sampling,
    'videoar_tiny_train_step': bench_train_step,
    'videoar_tiny_finite_guard': bench_finite_guard,
}
