"""One optimizer step of every stage of the main job (``configs/videoar_curriculum.py``).

``BENCHMARKS['stage_steps'](quick) -> dict``. Each stage's model and optimizer wrapper are built
from the stage's own config (random weights, the tokenizer uninitialised: timing does not depend
on training) and one full step (forward, loss, backward, clipping, optimizer update, through the
config's optimizer wrapper, i.e. bf16 autocast for the AR stages) is timed on a batch of the
stage's size:

* ``tokenizer``: 8 clips of 17 x 32 x 32 pixels, in fp32 and with bf16 autocast
  (``PortableAmpOptimWrapper``, what the tokenizer config sets);
* ``stage1``: 32 cached latents of 9 x 16 x 16 clips (3 latent frames, 2 scales) and 32 of single
  images (the batch sampler mixes 30% image batches);
* ``stage2``: 16 latents of 3 latent frames at 32 x 32 (4 scales);
* ``stage3``: 16 latents of 5 latent frames at 32 x 32.

Stage 3 compiles its transformer blocks (``compile_blocks=True`` in its config): its step is
timed as configured (``stage3_step_ms``, compiled; the compilation falls in the warm-up step) and
eagerly (``stage3_eager_step_ms``); ``quick=True`` times every stage eagerly.

Multiplying a stage's step time by its ``max_iters`` estimates its training minutes (the rest of
a stage, data and hooks, is small next to it on this machine). The stage configs are read from
the repository this file belongs to; the models come from whichever ``videoar`` is imported, so
``tools/benchmark.py --baseline`` can time another checkout with the same configs.
"""

from __future__ import annotations

import os.path as osp
import statistics

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

import videoar.engine  # noqa: F401  (registers the optimizer wrappers)
from videoar.registry import MODELS

from .timing import time_call

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOKENIZER_CONFIG = (
    'configs/tokenizer/videoar-tokenizer_tiny_1xb8-1200iters_movingdigits-32x32-17f.py'
)
STAGE_CONFIGS = {
    'stage1': 'configs/videoar_stage1.py',
    'stage2': 'configs/videoar_stage2.py',
    'stage3': 'configs/videoar_stage3.py',
}
#: latent frames and batch size of each AR stage's training batches
STAGE_BATCHES = {
    'stage1': [('video', 3, 32), ('image', 1, 32)],
    'stage2': [('video', 3, 16)],
    'stage3': [('video', 5, 16)],
}


def _build(config: str, amp: bool | None = None, compile_blocks: bool | None = None):
    cfg = Config.fromfile(osp.join(ROOT, config))
    if compile_blocks is not None and 'transformer' in cfg.model:
        cfg.model.transformer.compile_blocks = compile_blocks
    if 'tokenizer_checkpoint' in cfg.model:
        cfg.model.tokenizer_checkpoint = None
        cfg.model.allow_random_tokenizer = True  # a speed measurement: the weights do not matter
    optim_cfg = (
        cfg.optim_wrapper.to_dict()
        if hasattr(cfg.optim_wrapper, 'to_dict')
        else dict(cfg.optim_wrapper)
    )
    if amp:
        optim_cfg.update(type='PortableAmpOptimWrapper', dtype='bfloat16')
    elif amp is not None:  # fp32, whatever precision the config sets
        optim_cfg.update(type='OptimWrapper')
        optim_cfg.pop('dtype', None)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('videoar'):
        model = MODELS.build(cfg.model).train()
        wrapper = build_optim_wrapper(model, optim_cfg)
    return model, wrapper


def _step_ms(model, wrapper, data, repeats: int) -> list[float]:
    def step():
        model.train_step(data, wrapper)

    return [1000 * t for t in time_call(step, repeat=repeats)['times_s']]


def _ar_data(model, latent_frames: int, batch: int) -> dict:
    latent_h, latent_w = model.latent_size
    latent = torch.randn(batch, model.latent_dim, latent_frames, latent_h, latent_w)
    return dict(inputs=None, data_samples={'label': torch.arange(batch) % 10, 'latent': latent})


def bench_stage_steps(quick: bool = False) -> dict:
    """Median milliseconds of one optimizer step per stage of the main job."""
    repeats = 3 if quick else 7
    out = {'threads': torch.get_num_threads()}
    video = torch.rand(8, 3, 17, 32, 32) * 2 - 1
    for name, amp in (('tokenizer_fp32', False), ('tokenizer_bf16', True)):
        model, wrapper = _build(TOKENIZER_CONFIG, amp)
        out[f'{name}_step_ms'] = statistics.median(
            _step_ms(model, wrapper, dict(inputs=video), max(2, repeats // 2))
        )
    for stage, config in STAGE_CONFIGS.items():
        # as configured (stage 3 compiles its blocks), and then the eager step beside it, for
        # the gain; --quick times eager steps only (the compilation alone takes about 15 s)
        variants = [('', *_build(config, compile_blocks=False if quick else None))]
        if variants[0][1].transformer.compile_blocks:
            variants.append(('_eager', *_build(config, compile_blocks=False)))
        for suffix, model, wrapper in variants:
            for kind, latent_frames, batch in STAGE_BATCHES[stage]:
                data = _ar_data(model, latent_frames, batch)
                key = f'{stage}_{kind}' if stage == 'stage1' else stage
                out[f'{key}{suffix}_step_ms'] = statistics.median(
                    _step_ms(model, wrapper, data, repeats)
                )
    return out


BENCHMARKS = {'stage_steps': bench_stage_steps}
