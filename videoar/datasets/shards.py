"""WebDataset tar shards of clips (or of tokenizer latents), and a streaming dataset over them.

Format (one ``webdataset`` tar per shard, ``<prefix>-000000.tar`` ...; a sample is the tar
members sharing a key):

* ``<key>.frames.npy``: uint8 ``(F, H, W, 3)`` clip frames, as a dataset served them; or
  ``<key>.mp4`` (``.avi``, ``.webm``, ...): the bytes of a source video file, decoded on read;
* ``<key>.latent.npy``: float16 ``(d, T', h, w)`` latent of the clip (latent shards,
  ``tools/extract_latents.py``);
* ``<key>.cls``: the label as text (``-1``: none); ``<key>.txt``: the caption (UTF-8);
* ``<key>.json``: ``{"index": i, ...}``, the sample's index in the source dataset.

A ``shards.json`` index next to the shards lists them with their sample counts (written by
:class:`ShardWriter`), so a 10M-clip dataset starts without opening a single shard.

:class:`ShardDataset` (``DATASETS``) is an ``IterableDataset``: each epoch the shard list is
permuted (same order on every rank, from ``seed`` and the epoch), rank ``r`` of ``R`` takes
shards ``r, r + R, ...`` and its DataLoader worker ``w`` of ``W`` takes every ``W``-th of those;
samples pass through a shuffle buffer. So every sample is read exactly once per epoch, by one
rank and one worker. With ``infinite=True`` (training) epochs follow one another without end.
"""

from __future__ import annotations

import io
import json
import os
import os.path as osp
import random
import tempfile
from collections.abc import Iterator, Sequence

import numpy as np
import torch
import webdataset as wds
from mmengine.dist import get_dist_info
from torch.utils.data import IterableDataset, get_worker_info

from videoar.io.frames import from_uint8
from videoar.io.video import VIDEO_EXTENSIONS, read_video
from videoar.registry import DATASETS
from videoar.utils import ConfigError

from .transforms import resize_and_crop

INDEX_FILE = 'shards.json'
VIDEO_KEYS = tuple(ext.lstrip('.') for ext in VIDEO_EXTENSIONS)


def _npy_bytes(array: np.ndarray) -> bytes:
    with io.BytesIO() as buffer:
        np.save(buffer, array, allow_pickle=False)
        return buffer.getvalue()


def _npy_load(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


class ShardWriter:
    """Write samples into ``<out_dir>/<prefix>-NNNNNN.tar`` shards of ``samples_per_shard``
    samples, and the ``shards.json`` index on :meth:`close` (use it as a context manager)."""

    def __init__(self, out_dir: str, prefix: str = 'shard', samples_per_shard: int = 1000,
                 start_shard: int = 0) -> None:  # fmt: skip
        os.makedirs(out_dir, exist_ok=True)
        self.out_dir, self.prefix, self.per_shard = out_dir, prefix, int(samples_per_shard)
        self.shard, self.count, self.writer = int(start_shard) - 1, 0, None
        self.shards: list[dict] = []

    def write(self, index: int, label: int = -1, caption: str = '', frames=None, latent=None,
              video_bytes: bytes | None = None, video_ext: str = 'mp4') -> None:  # fmt: skip
        """One sample: ``frames`` uint8 ``(F, H, W, 3)``, ``latent`` ``(d, T', h, w)`` and/or
        the bytes of a video file."""
        if self.writer is None or self.count == self.per_shard:
            self._next_shard()
        sample = {'__key__': f'{index:010d}', 'cls': str(int(label)).encode(),
                  'txt': (caption or '').encode(), 'json': json.dumps({'index': int(index)}).encode()}  # fmt: skip
        if frames is not None:
            sample['frames.npy'] = _npy_bytes(np.ascontiguousarray(frames, dtype=np.uint8))
        if latent is not None:
            latent = latent.detach().cpu().numpy() if torch.is_tensor(latent) else latent
            sample['latent.npy'] = _npy_bytes(np.asarray(latent, dtype=np.float16))
        if video_bytes is not None:
            sample[video_ext.lstrip('.').lower()] = video_bytes
        self.writer.write(sample)
        self.count += 1
        self.shards[-1]['num_samples'] = self.count

    def _next_shard(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.shard += 1
        name = f'{self.prefix}-{self.shard:06d}.tar'
        self.writer = wds.TarWriter(osp.join(self.out_dir, name))
        self.count = 0
        self.shards.append(dict(name=name, num_samples=0))

    def close(self) -> list[dict]:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        write_index(self.out_dir, self.shards)
        return self.shards

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_index(out_dir: str, shards: list[dict]) -> None:
    """Merge ``shards`` into ``<out_dir>/shards.json`` (by name; written atomically)."""
    path = osp.join(out_dir, INDEX_FILE)
    known = {s['name']: s for s in read_index(out_dir)} if osp.isfile(path) else {}
    known.update({s['name']: s for s in shards})
    entries = [known[name] for name in sorted(known)]
    with tempfile.NamedTemporaryFile('w', dir=out_dir, delete=False, suffix='.tmp') as handle:
        json.dump(dict(shards=entries), handle, indent=1)
    os.replace(handle.name, path)


def read_index(shard_dir: str) -> list[dict]:
    with open(osp.join(shard_dir, INDEX_FILE)) as handle:
        return json.load(handle)['shards']


def resolve_shards(shards: str | Sequence[str]) -> tuple[list[str], int | None]:
    """Shard paths and the total sample count (None if unknown) of a directory with
    ``shards.json``, a brace pattern (``data/shard-{000000..000099}.tar``) or a list."""
    if isinstance(shards, str) and osp.isdir(shards):
        if not osp.isfile(osp.join(shards, INDEX_FILE)):
            raise ConfigError(
                f'ShardDataset: {shards} has no {INDEX_FILE}; write the shards with '
                'tools/make_shards.py, or give a brace pattern of the .tar files.'
            )
        entries = read_index(shards)
        return [osp.join(shards, e['name']) for e in entries], sum(
            e['num_samples'] for e in entries
        )
    paths = wds.shardlists.expand_urls(shards) if isinstance(shards, str) else list(shards)
    if not paths:
        raise ConfigError(f'ShardDataset: no shard matches {shards!r}.')
    return paths, None


def shards_for(paths: Sequence[str], epoch: int, seed: int, rank: int, world: int,
               worker: int, workers: int, shuffle: bool) -> list[str]:  # fmt: skip
    """The shards one (rank, worker) reads in ``epoch``: a permutation shared by all ranks
    (from ``seed`` and ``epoch``), sliced by rank, then by worker."""
    order = list(paths)
    if shuffle:
        random.Random(seed * 1_000_003 + epoch).shuffle(order)
    return order[rank::world][worker::workers]


def buffer_shuffle(samples: Iterator, size: int, rng: random.Random) -> Iterator:
    """Shuffle a stream through a buffer of ``size`` samples (``size <= 1``: keep the order)."""
    if size <= 1:
        yield from samples
        return
    buffer = []
    for sample in samples:
        buffer.append(sample)
        if len(buffer) >= size:
            yield buffer.pop(rng.randrange(len(buffer)))
    rng.shuffle(buffer)
    yield from buffer


@DATASETS.register_module()
class ShardDataset(IterableDataset):
    """Stream clips (or latents) from WebDataset shards (see the module docstring).

    Args:
        shards: a directory holding ``shards.json``, a brace pattern, or a list of tar paths.
        num_frames: ``F`` frames per clip (from ``frames.npy`` or a decoded video).
        height, width: output size (resize to cover, then crop); None keeps the stored size.
        crop: ``'center'`` or ``'random'``.
        offset: where the clip starts in a longer stored video: ``'start'`` or ``'random'``.
        kind: ``'video'`` (serve ``inputs``) or ``'latent'`` (serve ``data_samples.latent``,
            as ``LatentCacheDataset`` does).
        num_latent_frames: serve only the first latent frames (``kind='latent'``).
        shuffle: permute the shards per epoch and shuffle samples (``shuffle_buffer``).
        shuffle_buffer: samples held by the per-worker shuffle buffer.
        infinite: restart with the next epoch instead of ending (iteration-based training).
        seed: base seed of the shard order and the buffers.
        rank, world_size: default: mmengine's ``get_dist_info()`` when the dataset is built.
    """

    def __init__(self, shards, num_frames: int | None = None, height: int | None = None,
                 width: int | None = None, crop: str = 'center', offset: str = 'start',
                 kind: str = 'video', num_latent_frames: int | None = None, shuffle: bool = True,
                 shuffle_buffer: int = 256, infinite: bool = False, seed: int = 0,
                 rank: int | None = None, world_size: int | None = None) -> None:  # fmt: skip
        super().__init__()
        if kind not in ('video', 'latent'):
            raise ConfigError(f"ShardDataset.kind={kind!r}: use 'video' or 'latent'.")
        self.paths, self.num_samples = resolve_shards(shards)
        self.num_frames, self.kind, self.num_latent_frames = num_frames, kind, num_latent_frames
        self.size = None if height is None else (int(height), int(width or height))
        self.crop, self.offset = crop, offset
        self.shuffle, self.shuffle_buffer, self.infinite = shuffle, shuffle_buffer, infinite
        self.seed = int(seed)
        dist_rank, dist_world = get_dist_info()
        self.rank = dist_rank if rank is None else int(rank)
        self.world_size = dist_world if world_size is None else int(world_size)
        if len(self.paths) < self.world_size:
            raise ConfigError(
                f'ShardDataset: {len(self.paths)} shard(s) for {self.world_size} ranks; write at '
                'least one shard per rank x worker (tools/make_shards.py --samples-per-shard).'
            )
        self.metainfo = dict(num_samples=self.num_samples, num_shards=len(self.paths))

    def __len__(self) -> int:
        if self.num_samples is None:
            raise TypeError('ShardDataset length is unknown without a shards.json index.')
        return self.num_samples

    def __iter__(self) -> Iterator[dict]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        epoch = 0
        while True:
            mine = shards_for(self.paths, epoch, self.seed, self.rank, self.world_size, worker,
                              workers, self.shuffle)  # fmt: skip
            rng = random.Random(hash((self.seed, epoch, self.rank, worker)))
            samples = wds.tarfile_to_samples()(iter([{'url': path} for path in mine]))
            buffered = buffer_shuffle(samples, self.shuffle_buffer if self.shuffle else 0, rng)
            for sample in buffered:
                yield self.decode(sample, rng)
            epoch += 1
            if not self.infinite:
                return

    def decode(self, sample: dict, rng: random.Random) -> dict:
        """A raw tar sample -> ``dict(inputs, data_samples=dict(label, caption, index, ...))``."""
        meta = json.loads(sample['json']) if 'json' in sample else {}
        data_samples = dict(
            label=int(sample['cls']) if 'cls' in sample else -1,
            caption=sample['txt'].decode() if 'txt' in sample else '',
            index=int(meta.get('index', -1)),
            shard=osp.basename(sample.get('__url__', '')),
        )
        if self.kind == 'latent':
            latent = torch.from_numpy(_npy_load(sample['latent.npy']).astype(np.float32))
            data_samples['latent'] = latent[:, : self.num_latent_frames]
            return dict(inputs=torch.zeros(0), data_samples=data_samples)
        frames = self._frames(sample, rng)
        video = from_uint8(frames)  # (3, F, H, W) in [-1, 1]
        if self.size is not None and tuple(video.shape[-2:]) != self.size:
            np_rng = np.random.default_rng(rng.getrandbits(32))
            video = resize_and_crop(video, self.size, self.crop, rng=np_rng)
        return dict(inputs=video, data_samples=data_samples)

    def _frames(self, sample: dict, rng: random.Random) -> np.ndarray:
        if 'frames.npy' in sample:
            frames = _npy_load(sample['frames.npy'])
        else:
            ext = next((k for k in VIDEO_KEYS if k in sample), None)
            if ext is None:
                raise ValueError(f'shard sample {sample.get("__key__")} holds no clip')
            frames = self._decode_video(sample[ext], ext)
        if self.num_frames is None:
            return frames
        if len(frames) < self.num_frames:
            raise ValueError(
                f'shard sample {sample.get("__key__")}: {len(frames)} frames < num_frames='
                f'{self.num_frames}'
            )
        start = 0 if self.offset == 'start' else rng.randrange(len(frames) - self.num_frames + 1)
        return frames[start : start + self.num_frames]

    def _decode_video(self, data: bytes, ext: str) -> np.ndarray:
        with tempfile.NamedTemporaryFile(suffix=f'.{ext}') as handle:
            handle.write(data)
            handle.flush()
            return read_video(handle.name)


__all__ = ['ShardDataset', 'ShardWriter', 'buffer_shuffle', 'read_index', 'shards_for']
