"""Speed of reaching a resumed position in a real-video training stream.

``BENCHMARKS[name](quick) -> dict`` of measured numbers (wired into ``tools/benchmark.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time

import torch
from mmengine.dataset import InfiniteSampler
from torch.utils.data import DataLoader

from videoar.datasets import VideoFolderDataset, VisitInfiniteSampler
from videoar.engine.exact_resume import set_sampler_position
from videoar.structures import video_collate

from .data import _sample_video


def _per_visit_dataset(folder: str, videos: int) -> VideoFolderDataset:
    lines = [json.dumps({'path': f'clip{i}.mp4', 'label': i}) for i in range(videos)]
    with open(os.path.join(folder, 'train.jsonl'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return VideoFolderDataset(
        ann_file=os.path.join(folder, 'train.jsonl'), num_frames=17, height=64, width=64,
        offset='random', crop='random', deterministic=False, seed=0,
    )  # fmt: skip


def resume_fast_forward(quick: bool = True) -> dict:
    """Time to the first batch after resuming at batch ``N`` of a per-visit video dataset
    (``VideoFolderDataset(deterministic=False)``, 17 x 64 x 64 clips, batch 4): decoding the
    skipped batches (mmengine's way, ``InfiniteSampler``) vs skipping indices only
    (``VisitInfiniteSampler.set_start``); both must give the same batch."""
    batches, batch_size, videos = (10, 4, 6) if quick else (50, 4, 6)
    with tempfile.TemporaryDirectory() as folder:
        source, description = _sample_video(folder)
        for i in range(videos):
            shutil.copyfile(source, os.path.join(folder, f'clip{i}.mp4'))

        def loader(sampler_type):
            dataset = _per_visit_dataset(folder, videos)
            sampler = sampler_type(dataset, shuffle=True, seed=0)
            return DataLoader(
                dataset, batch_size=batch_size, sampler=sampler, collate_fn=video_collate
            )

        start = time.perf_counter()
        stream = iter(loader(InfiniteSampler))
        for _ in range(batches):
            next(stream)
        loaded = next(stream)
        decode_s = time.perf_counter() - start

        start = time.perf_counter()
        fast = loader(VisitInfiniteSampler)
        reason = set_sampler_position(fast, batches * batch_size, batch_size)
        skipped = next(iter(fast))
        skip_s = time.perf_counter() - start
    return dict(
        video=description,
        resume_at_batch=batches,
        decode_skipped_s=round(decode_s, 3),
        skip_indices_s=round(skip_s, 3),
        speedup=round(decode_s / skip_s, 1),
        same_batch=reason is None and torch.equal(loaded['inputs'], skipped['inputs']),
    )


BENCHMARKS = {'resume_fast_forward': resume_fast_forward}
