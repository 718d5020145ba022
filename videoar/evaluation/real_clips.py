"""Real clips of a dataloader, read in order: the references of generation metrics."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from videoar.structures import VideoBatch


def _unbatch(batch: Mapping) -> list[tuple[torch.Tensor, int, str]]:
    """A collated loader batch -> ``[(video (3,F,H,W), label, caption), ...]``."""
    videos = list(batch['inputs'])
    samples = VideoBatch.of(batch.get('data_samples'), len(videos))
    return [
        (video, int(label), caption)
        for video, label, caption in zip(videos, samples.label.tolist(), samples.caption)
    ]


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
    """A dataloader config (defaults: no shuffling, ``video_collate``, no workers) -> DataLoader."""
    if real_dataloader is None or not isinstance(real_dataloader, Mapping):
        return real_dataloader
    cfg = dict(real_dataloader)
    cfg.setdefault('batch_size', batch_size)
    cfg.setdefault('num_workers', 0)
    cfg.setdefault('sampler', dict(type='DefaultSampler', shuffle=False))
    cfg.setdefault('collate_fn', dict(type='video_collate'))
    # outside a Runner (tools/test.py, notebooks) no registry scope is set: use videoar's
    scope = None if DefaultScope.get_current_instance() is not None else 'videoar'
    with DefaultScope.overwrite_default_scope(scope):
        return Runner.build_dataloader(cfg, seed=seed)


__all__ = ['RealClipStream', 'build_real_dataloader']
