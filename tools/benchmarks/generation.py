"""Seconds per generated video of the tiny models, for each generation mode.

``BENCHMARKS[name](quick) -> dict``. Models are the repository's tiny CPU configs with random
weights (timing does not depend on training): the class-conditional
``configs/_base_/models/videoar_tiny.py`` and the text-conditional
``configs/videoar-t2v_tiny_movingdigits-32x32-17f.py`` (17 x 32 x 32, 5 latent frames of 4 x 4,
4 scales = 20 sampling steps per video, width 128, 4 blocks). Every mode runs through
:func:`videoar.pipelines.generate` (CFG on, so each step is one batched forward of 2 x B rows) and
includes tokenizer decoding; ``quick=True`` makes fewer videos.
"""

from __future__ import annotations

import os.path as osp
import time

import torch

from videoar.models.sampling.sampler import sample_video
from videoar.pipelines import generate, init_model, load_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLASS_CONFIG = osp.join(ROOT, 'configs', '_base_', 'models', 'videoar_tiny.py')
TEXT_CONFIG = osp.join(ROOT, 'configs', 'videoar-t2v_tiny_movingdigits-32x32-17f.py')


def _model(config: str):
    torch.manual_seed(0)
    return init_model(load_config(config))


def _seconds_per_video(model, repeats: int, **kwargs) -> dict:
    generate(model, progress=False, **{**kwargs, 'num_samples': 1})  # warm-up
    start = time.perf_counter()
    for seed in range(repeats):
        out = generate(model, progress=False, seed=seed, **kwargs)
    seconds = (time.perf_counter() - start) / repeats
    videos = out['videos'].shape[0]
    return dict(
        seconds_per_video=seconds / videos,
        videos_per_call=videos,
        frames=int(out['videos'].shape[2]),
        sampling_steps_per_video=out['settings']['sampling_steps_per_video'],
        windows=out['windows']['num_windows'],
    )


def bench_generation_modes(quick: bool = False) -> dict:
    """Seconds per video: class, text, continuation (9 given frames), long (33 frames)."""
    repeats = 1 if quick else 3
    num = 1 if quick else 4
    class_model = _model(CLASS_CONFIG)
    text_model = _model(TEXT_CONFIG)
    clip = torch.rand(3, 17, 32, 32) * 2 - 1
    results = {}
    results['class'] = _seconds_per_video(
        class_model, repeats, classes=[3], num_samples=num, cfg_schedule='TemporalSpatialCFG'
    )
    results['text'] = _seconds_per_video(
        text_model, repeats, prompts=['digit 3 moving up-left'], num_samples=num,
        cfg_schedule='DecreasingCFG',
    )  # fmt: skip
    results['continuation'] = _seconds_per_video(
        class_model, repeats, classes=[3], num_samples=num, init_video=clip, init_frames=9,
        cfg_schedule='TemporalSpatialCFG',
    )  # fmt: skip
    results['long'] = _seconds_per_video(
        class_model, repeats, classes=[3], num_samples=num, num_frames=33, overlap=1,
        cfg_schedule='TemporalSpatialCFG',
    )  # fmt: skip
    # the transformer alone (no tokenizer decoding), 20 steps with CFG, batch `num`
    labels = {'label': torch.full((num,), 3, dtype=torch.long)}
    sample_video(class_model, labels, decode=False, cfg_scale=3.0)
    start = time.perf_counter()
    for seed in range(repeats):
        sample_video(class_model, labels, decode=False, cfg_scale=3.0, seed=seed)
    results['class']['sampling_only_seconds_per_video'] = (
        (time.perf_counter() - start) / repeats / num
    )
    flat = {'threads': torch.get_num_threads()}
    for mode, numbers in results.items():
        for key, value in numbers.items():
            flat[f'{mode}_{key}'] = value
    return flat


BENCHMARKS = {'generation_modes': bench_generation_modes}
