"""Speed of the evaluation components (wired into ``tools/benchmark.py`` by ``BENCHMARKS``).

Each function takes ``quick`` (fewer repetitions) and returns measured numbers.
"""

from __future__ import annotations

import numpy as np
import torch

from videoar.evaluation.feature_extractors.i3d import I3D
from videoar.evaluation.feature_extractors.moving_digits_classifier import (
    DEFAULT_TRAINING,
    train_moving_digits_classifier,
)
from videoar.evaluation.frechet import frechet_distance

from .timing import time_call


def _time(fn, repeats: int) -> float:
    """Median seconds of ``fn()`` after one warm-up call."""
    return time_call(fn, repeat=repeats)['median_s']


def bench_i3d(quick: bool = True) -> dict:
    """I3D feature extraction (16 frames, 224x224 after resize from 128x128), fp32 and bf16,
    with 1 torch thread and with the current setting.

    Uses random weights (the speed does not depend on the values), so it runs without the
    cached checkpoint.
    """
    batch = 2 if quick else 4
    repeats = 1 if quick else 2
    video = torch.rand(batch, 3, 16, 128, 128) * 2 - 1
    default_threads = torch.get_num_threads()
    out = dict(batch=batch, num_frames=16)
    for threads in sorted({1, default_threads}):
        torch.set_num_threads(threads)
        try:
            for precision in ('fp32', 'bf16'):
                model = I3D(random_init=True, precision=precision, batch_size=batch)
                seconds = _time(lambda model=model: model(video), repeats)
                out[f'{precision}_{threads}thr_clips_per_s'] = batch / seconds
        finally:
            torch.set_num_threads(default_threads)
    return out


def bench_frechet(quick: bool = True) -> dict:
    """Fréchet distance at D = 400 (symmetric eigh method, float64)."""
    rng = np.random.RandomState(0)
    n = 1000 if quick else 4096
    x, y = rng.normal(size=(n, 400)), rng.normal(size=(n, 400)) + 0.1
    args = (x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))
    seconds = _time(lambda: frechet_distance(*args), 1 if quick else 5)
    return dict(dim=400, seconds=seconds)


def bench_moving_digits_classifier(quick: bool = True) -> dict:
    """Training speed and val accuracy of the MovingDigits classifier (17x32x32 clips).

    ``quick`` trains 40 iterations (speed only); the full run uses the default schedule, i.e.
    exactly what ``get_or_train_moving_digits_classifier`` does on first use (not cached here).
    """
    iters = 40 if quick else DEFAULT_TRAINING['iters']
    model = train_moving_digits_classifier(num_frames=17, img_size=32, iters=iters)
    meta = model.meta
    return dict(
        iters=iters,
        seconds=meta['train_seconds'],
        s_per_iter=meta['train_seconds'] / iters,
        val_accuracy=meta['val_accuracy'],
    )


BENCHMARKS = {
    'i3d_features': bench_i3d,
    'frechet_distance': bench_frechet,
    'moving_digits_classifier': bench_moving_digits_classifier,
}
