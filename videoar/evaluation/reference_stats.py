"""Reference (real-data) feature statistics for Fréchet distances, saved with a fingerprint.

A statistics file (``.npz``, see :class:`~videoar.evaluation.stats.StreamingGaussianStats`)
stores the float64 count, mean and centred second moment of the real features together with a
JSON fingerprint: the extractor's :meth:`fingerprint` (weights sha256, frames, resolution,
precision, ...), the clip ``frame_stride``, ``ddof``, the sample count and a description of the
source. Reusing a file with a different protocol raises :class:`ReferenceStatsMismatchError`:
mixing statistics of two extractors, or of clips of different length, gives meaningless FVDs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import torch
from mmengine.dist import is_main_process
from tqdm import tqdm

from .stats import StreamingGaussianStats


class ReferenceStatsMismatchError(ValueError):
    """A saved reference statistics file was computed under a different protocol."""


def normalise(value):
    """A JSON round trip (tuples -> lists, keys sorted), so fingerprints compare reliably."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def stats_fingerprint(
    extractor_fingerprint: Mapping,
    frame_stride: int,
    ddof: int,
    num_samples: int,
    source=None,
) -> dict:
    """The fingerprint saved beside reference statistics."""
    return normalise(
        dict(
            extractor=dict(extractor_fingerprint),
            frame_stride=frame_stride,
            ddof=ddof,
            num_samples=num_samples,
            source=source,
        )
    )


def check_fingerprint(saved: Mapping, expected: Mapping, path: str, check_source: bool) -> None:
    """Raise :class:`ReferenceStatsMismatchError` naming every field that differs.

    ``expected['num_samples']`` of ``None`` accepts any count; ``source`` is compared only when
    ``check_source``.
    """
    saved, expected = normalise(saved), normalise(expected)
    keys = ['extractor', 'frame_stride', 'ddof']
    if expected.get('num_samples') is not None:
        keys.append('num_samples')
    if check_source:
        keys.append('source')
    diffs = []
    for key in keys:
        if saved.get(key) != expected.get(key):
            if isinstance(saved.get(key), dict) and isinstance(expected.get(key), dict):
                sub = sorted(
                    k
                    for k in set(saved[key]) | set(expected[key])
                    if saved[key].get(k) != expected[key].get(k)
                )
                detail = ', '.join(
                    f'{key}.{k}: saved {saved[key].get(k)!r} vs now {expected[key].get(k)!r}'
                    for k in sub
                )
                diffs.append(detail)
            else:
                diffs.append(f'{key}: saved {saved.get(key)!r} vs now {expected.get(key)!r}')
    if diffs:
        raise ReferenceStatsMismatchError(
            f'reference statistics {path!r} were computed under a different protocol: '
            + '; '.join(diffs)
            + '. Delete the file (it is recomputed when reference_dataset is set) or point '
            'reference_stats at another path.'
        )


@torch.no_grad()
def compute_reference_stats(
    dataset,
    extractor,
    num_samples: int | None = None,
    batch_size: int = 8,
    device: str | torch.device = 'cpu',
    video_key: str = 'inputs',
    progress: bool = True,
) -> StreamingGaussianStats:
    """Features of the first ``num_samples`` items of ``dataset`` (all if ``None``), streamed.

    The items are taken in index order, so the result does not depend on the number of
    processes or on a sampler. A progress bar (tqdm) is shown on rank 0.

    Args:
        dataset: a map-style dataset whose items hold ``video_key`` ``(3, F, H, W)`` in ``[-1, 1]``.
        extractor: ``forward(video (B, 3, F, H, W)) -> (B, D)``.
    """
    total = len(dataset) if num_samples is None else int(num_samples)
    if total > len(dataset):
        raise ValueError(
            f'num_reference={total} but the reference dataset has only {len(dataset)} items; '
            'sampling with replacement would bias the statistics (use a longer dataset).'
        )
    stats = StreamingGaussianStats()
    bar = None
    if progress and is_main_process():
        bar = tqdm(total=total, desc='reference features', unit='clip', leave=False)
    for start in range(0, total, batch_size):
        items = [dataset[i] for i in range(start, min(start + batch_size, total))]
        videos = torch.stack([torch.as_tensor(item[video_key]) for item in items]).to(device)
        stats.update(extractor(videos).double().cpu())
        if bar is not None:
            bar.update(len(items))
    if bar is not None:
        bar.close()
    return stats
