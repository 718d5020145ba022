"""Real clips of a dataloader, read in order: the references of generation metrics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from mmengine.runner import Runner


def _unbatch(batch) -> list[tuple[torch.Tensor, int, str]]:
    """A collated loader batch -> ``[(video (3,F,H,W), label, caption), ...]``."""
    videos = batch['inputs']
    if isinstance(videos, torch.Tensor):
        videos = list(videos)
    samples = batch.get('data_samples')
    size = len(videos)

    def field_of(key, default):
        if isinstance(samples, Mapping):
            value = samples.get(key)
            if value is None:
                return [default] * size
            return value.tolist() if isinstance(value, torch.Tensor) else list(value)
        if isinstance(samples, Sequence):
            return [
                (s.get(key, default) if isinstance(s, Mapping) else getattr(s, key, default))
                for s in samples
            ]
        return [default] * size

    labels, captions = field_of('label', -1), field_of('caption', '')
    return [(videos[i], int(labels[i]), str(captions[i])) for i in range(size)]


class RealClipStream:
    """Clips of a dataloader in order, ``n`` at a time; starts over when exhausted."""

    def __init__(self, dataloader, skip: int = 0) -> None:
        self.dataloader = dataloader
        self._iter = None
        self._buffer: list = []
        self.wrapped = False
        self.consumed = 0
        if skip:
            self.take(skip)

    def _refill(self) -> None:
        if self._iter is None:
            self._iter = iter(self.dataloader)
        try:
            batch = next(self._iter)
        except StopIteration:
            self._iter = iter(self.dataloader)
            self.wrapped = True
            batch = next(self._iter)
        self._buffer.extend(_unbatch(batch))

    def take(self, count: int) -> list[tuple[torch.Tensor, int, str]]:
        while len(self._buffer) < count:
            before = len(self._buffer)
            self._refill()
            if len(self._buffer) == before:
                raise RuntimeError('the real dataloader yields no clips.')
        out, self._buffer = self._buffer[:count], self._buffer[count:]
        self.consumed += count
        return out


def build_real_dataloader(real_dataloader, batch_size: int, seed: int | None = None):
    """A dataloader config (defaults: no shuffling, default collate, no workers) -> DataLoader."""
    if real_dataloader is None or not isinstance(real_dataloader, Mapping):
        return real_dataloader
    cfg = dict(real_dataloader)
    cfg.setdefault('batch_size', batch_size)
    cfg.setdefault('num_workers', 0)
    cfg.setdefault('sampler', dict(type='DefaultSampler', shuffle=False))
    cfg.setdefault('collate_fn', dict(type='default_collate'))
    return Runner.build_dataloader(cfg, seed=seed)


__all__ = ['RealClipStream', 'build_real_dataloader']
