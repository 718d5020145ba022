"""Joint training on images and videos (curriculum stage 1), one modality per batch.

An image is the first frame of a clip: with a causal tokenizer the first frame is encoded alone,
so an image's latent is exactly latent frame 0 of the clip. :class:`JointImageVideoDataset`
serves an index either as the full clip or as its first frame, and
:class:`ModalityBatchSampler` decides the modality once per batch, so every batch stacks
(all images ``F = 1``, or all clips).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from videoar.registry import DATA_SAMPLERS, DATASETS
from videoar.utils import ConfigError

IMAGE, VIDEO = 'image', 'video'


@DATASETS.register_module()
class JointImageVideoDataset(Dataset):
    """Wraps a video dataset so an index ``(i, 'image')`` gives the first frame of clip ``i``.

    Plain integer indices give the clip. Works on pixel items (``inputs (3, F, H, W)``) and on
    latent-cache items (``data_samples['latent'] (d, T', h, w)``): both are cut to one frame.

    Args:
        dataset: the wrapped dataset (config dict or object).
    """

    def __init__(self, dataset) -> None:
        if isinstance(dataset, dict):
            dataset = DATASETS.build(dataset)
        self.dataset = dataset
        self.metainfo = getattr(dataset, 'metainfo', {})

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index) -> dict:
        modality = VIDEO
        if isinstance(index, (tuple, list)):
            index, modality = index
        item = self.dataset[int(index)]
        if modality == VIDEO:
            return item
        if modality != IMAGE:
            raise ValueError(f"modality must be '{IMAGE}' or '{VIDEO}', got {modality!r}")
        item = dict(item)
        inputs = item['inputs']
        if torch.is_tensor(inputs) and inputs.dim() == 4:
            item['inputs'] = inputs[:, :1].contiguous()
        meta = dict(item['data_samples'])
        if 'latent' in meta:
            meta['latent'] = meta['latent'][:, :1].contiguous()
        if 'caption' in meta and ' moving' in str(meta['caption']):
            meta['caption'] = str(meta['caption']).split(' moving')[
                0
            ]  # 'digit 3 moving up' -> 'digit 3'
        item['data_samples'] = meta
        return item


@DATA_SAMPLERS.register_module()
class ModalityBatchSampler(Sampler):
    """Batches of ``batch_size`` indices from ``sampler``, each tagged with one modality.

    Batch ``n`` is an image batch with probability ``image_ratio``, decided by
    ``default_rng([seed, n])`` so a resumed run sees the same sequence.

    Args:
        sampler: the index sampler (e.g. ``InfiniteSampler``).
        batch_size: samples per batch.
        image_ratio: fraction of image batches in [0, 1].
        seed: seed of the modality draws.
    """

    def __init__(self, sampler, batch_size: int, image_ratio: float = 0.5, seed: int = 0) -> None:
        if not 0.0 <= image_ratio <= 1.0:
            raise ConfigError(
                f'ModalityBatchSampler.image_ratio must be in [0, 1], got {image_ratio}.'
            )
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.image_ratio = float(image_ratio)
        self.seed = int(seed)
        self._start = 0

    def modality_of(self, batch_index: int) -> str:
        draw = np.random.default_rng([self.seed, batch_index]).random()
        return IMAGE if draw < self.image_ratio else VIDEO

    def set_start(self, num_batches: int) -> None:
        """Make the next iteration start at batch ``num_batches`` (a resumed run): the indices of
        the earlier batches are drawn from ``sampler`` and dropped, without loading any item, and
        the modalities continue from batch ``num_batches``."""
        if num_batches < 0:
            raise ValueError(
                f'ModalityBatchSampler.set_start needs >= 0 batches, got {num_batches}.'
            )
        self._start = int(num_batches)

    def __iter__(self):
        indices = iter(self.sampler)
        count, self._start = self._start, 0
        for _ in range(count * self.batch_size):
            next(indices)
        batch = []
        for index in indices:
            batch.append(index)
            if len(batch) == self.batch_size:
                modality = self.modality_of(count)
                yield [(i, modality) for i in batch]
                batch, count = [], count + 1

    def __len__(self) -> int:
        return len(self.sampler) // self.batch_size

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.sampler, 'set_epoch'):
            self.sampler.set_epoch(epoch)
