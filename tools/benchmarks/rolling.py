"""Per-frame sampling time over 32 latent frames, with and without the rolling KV cache.

``BENCHMARKS[name](quick) -> dict``. The class-conditional tiny model
(``configs/_base_/models/videoar_tiny.py``, random weights), batch 4 with CFG, no decoding.
Without the rolling cache the whole video is cached (its layout is allowed past the trained
length for the measurement), so attention grows with the history; with it, the last ``W``
(trained) latent frames are kept. Per-frame times are the intervals between the ends of
consecutive frames (timestamps taken by a subclass of the sampler's residual pyramid).
"""

from __future__ import annotations

import statistics
import time

import torch

from videoar.models.sampling import sampler as sampler_module
from videoar.models.sampling.sampler import sample_video
from videoar.models.sequence import ResidualPyramid

from .generation import CLASS_CONFIG, _model


class _TimedPyramid(ResidualPyramid):
    stamps: list = []

    def end_frame(self):
        out = super().end_frame()
        _TimedPyramid.stamps.append(time.perf_counter())
        return out


def _frame_times(model, latent_frames: int, window, batch: int) -> list[float]:
    labels = {'label': torch.full((batch,), 3, dtype=torch.long)}
    num_frames = 1 + 4 * (latent_frames - 1)
    _TimedPyramid.stamps = []
    original = sampler_module.ResidualPyramid
    sampler_module.ResidualPyramid = _TimedPyramid
    try:
        start = time.perf_counter()
        sample_video(model, labels, num_frames=num_frames, cfg_scale=3.0, seed=0, decode=False,
                     window=window)  # fmt: skip
    finally:
        sampler_module.ResidualPyramid = original
    stamps = [start] + _TimedPyramid.stamps
    return [b - a for a, b in zip(stamps, stamps[1:])]


def bench_rolling_cache(quick: bool = False) -> dict:
    """Per-frame ms at latent frames 1, 4, 16, 32 and the frame-32 / frame-4 ratio."""
    latent_frames = 16 if quick else 32
    repeats = 1 if quick else 3
    model = _model(CLASS_CONFIG)
    window = int(model.latent_frames)
    model.max_frames = max(int(model.max_frames), latent_frames)  # full cache past training
    runs = {'full_cache': [], 'rolling': []}
    _frame_times(model, 4, None, 4)  # warm-up
    for _ in range(repeats):  # interleaved
        runs['full_cache'].append(_frame_times(model, latent_frames, None, 4))
        runs['rolling'].append(_frame_times(model, latent_frames, window, 4))
    out = dict(latent_frames=latent_frames, window=window, batch=4, repeats=repeats)
    for name, times in runs.items():
        per_frame = [statistics.median(run[i] for run in times) for i in range(latent_frames)]
        for frame in (1, 4, 16, latent_frames):
            out[f'{name}_frame{frame}_ms'] = 1000 * per_frame[frame - 1]
        last4 = statistics.median(per_frame[-4:])
        out[f'{name}_last_over_frame4'] = last4 / statistics.median(per_frame[2:6])
        out[f'{name}_total_s'] = sum(per_frame)
    return out


BENCHMARKS = {'rolling_cache': bench_rolling_cache}
