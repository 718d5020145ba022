"""The typed batch that datasets, models, evaluation and pipelines pass as ``data_samples``.

A dataset item is ``dict(inputs=video (3, F, H, W) or an empty tensor, data_samples=dict(label=,
caption=, index=, latent=, ...))``. The ``video_collate`` function (``FUNCTIONS``) stacks the
inputs and turns the per-item dicts into one :class:`VideoBatch`, so everything downstream reads
typed fields instead of guessing between a dict of batched values and a list of dicts.

``VideoBatch.of`` is the single place that still accepts the untyped forms (a dict of batched
values, a list of per-sample dicts, or ``None`` with a batch size), for callers outside a
dataloader (hand-written tests, notebooks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace

import torch
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from torch.utils.data import default_collate

NO_LABEL = -1
FIELD_NAMES = ('label', 'caption', 'index', 'latent')


@dataclass
class VideoBatch:
    """Conditions and metadata of ``B`` clips.

    Attributes:
        label: ``(B,)`` long class labels, ``-1`` where a sample has none.
        caption: ``B`` captions (``''`` where a sample has none).
        index: ``(B,)`` long dataset indices (seed offsets, pairing with real clips).
        latent: ``(B, d, T', h, w)`` cached tokenizer latents, or ``None`` (encode the video).
        extra: any other per-sample metadata, collated (e.g. ``path``: a list of ``B`` strings).
    """

    label: torch.Tensor
    caption: list[str]
    index: torch.Tensor
    latent: torch.Tensor | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        size = len(self.label)
        for name, value in (('caption', self.caption), ('index', self.index)):
            if len(value) != size:
                raise ValueError(f'VideoBatch: {len(value)} {name} entries for {size} labels.')
        if self.latent is not None and len(self.latent) != size:
            raise ValueError(f'VideoBatch: {len(self.latent)} latents for {size} labels.')

    def __len__(self) -> int:
        return len(self.label)

    @property
    def batch_size(self) -> int:
        return len(self.label)

    @property
    def has_labels(self) -> bool:
        """True when at least one sample carries a class label."""
        return bool((self.label >= 0).any())

    @property
    def has_captions(self) -> bool:
        """True when at least one sample carries a caption."""
        return any(self.caption)

    # ---- building ---------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        batch_size: int | None = None,
        label=None,
        caption: Sequence[str] | None = None,
        index=None,
        latent: torch.Tensor | None = None,
        **extra,
    ) -> VideoBatch:
        """A batch from any subset of the fields; absent ones get their defaults.

        ``batch_size`` is needed only when no field (nor a batched ``extra`` entry: a tensor,
        list or tuple) tells it.
        """
        batched = [v for v in extra.values() if isinstance(v, (list, tuple)) or _is_batched(v)]
        sizes = {len(v) for v in (label, caption, index, latent, *batched) if v is not None}
        if batch_size is not None:
            sizes.add(int(batch_size))
        if len(sizes) != 1:
            raise ValueError(
                'VideoBatch.build: give batch_size or at least one field, all of the same '
                f'length (got lengths {sorted(sizes)}).'
            )
        size = sizes.pop()
        return cls(
            label=_long(label, size, NO_LABEL),
            caption=[str(c) for c in caption] if caption is not None else [''] * size,
            index=_long(index, size, None),
            latent=None if latent is None else torch.as_tensor(latent),
            extra=dict(extra),
        )

    @classmethod
    def collate(cls, samples: Sequence[Mapping]) -> VideoBatch:
        """Per-item metadata dicts -> one batch (what ``video_collate`` calls)."""
        if not samples:
            raise ValueError('VideoBatch.collate: no samples.')
        keys = set().union(*(s.keys() for s in samples))
        own = {f.name for f in fields(cls)} - {'extra'}
        values = {}
        for key in keys:
            column = [s.get(key) for s in samples]
            if key == 'caption':
                values[key] = ['' if c is None else str(c) for c in column]
            elif key in ('label', 'index'):
                values[key] = [NO_LABEL if v is None else int(v) for v in column]
            elif key == 'latent':
                values[key] = torch.stack([torch.as_tensor(v) for v in column])
            elif all(torch.is_tensor(v) for v in column):
                values[key] = default_collate(column)
            else:
                values[key] = column
        extra = {k: values.pop(k) for k in list(values) if k not in own}
        return cls.build(len(samples), **values, **extra)

    @classmethod
    def of(cls, data_samples, batch_size: int | None = None) -> VideoBatch:
        """The batch of ``data_samples`` in any accepted form (see the module docstring)."""
        if isinstance(data_samples, VideoBatch):
            if batch_size is not None and len(data_samples) != batch_size:
                raise ValueError(
                    f'data_samples hold {len(data_samples)} samples, batch_size={batch_size}.'
                )
            return data_samples
        if data_samples is None:
            if batch_size is None:
                raise ValueError('give batch_size= (or data_samples / a condition).')
            return cls.build(batch_size)
        if isinstance(data_samples, Mapping):
            values = dict(data_samples)
            if batch_size is not None:
                values['batch_size'] = batch_size
            return cls.build(**values)
        if isinstance(data_samples, Sequence) and all(isinstance(s, Mapping) for s in data_samples):
            batch = cls.collate(data_samples)
            return cls.of(batch, batch_size)
        raise TypeError(
            'data_samples must be a VideoBatch, a dict of batched values or a list of dicts; '
            f'got {type(data_samples).__name__}.'
        )

    # ---- using ------------------------------------------------------------------------------
    def to(self, device) -> VideoBatch:
        """The batch with its tensors on ``device``."""
        return replace(
            self,
            label=self.label.to(device),
            index=self.index.to(device),
            latent=None if self.latent is None else self.latent.to(device),
        )

    def select(self, rows) -> VideoBatch:
        """The samples at ``rows`` (a slice, or a list/tensor of positions)."""
        if isinstance(rows, slice):
            positions = list(range(len(self)))[rows]
        else:
            positions = [int(r) for r in rows]
        pick = torch.as_tensor(positions, dtype=torch.long)
        extra = {
            k: (v[pick] if torch.is_tensor(v) else [v[i] for i in positions])
            for k, v in self.extra.items()
        }
        return VideoBatch(
            label=self.label[pick],
            caption=[self.caption[i] for i in positions],
            index=self.index[pick],
            latent=None if self.latent is None else self.latent[pick],
            extra=extra,
        )

    def __getitem__(self, key: str):
        """Read access by name (``batch['label']``), for models written against the dict form of
        ``data_samples``; ``KeyError`` for a name that is neither a field nor an ``extra`` key."""
        if key in FIELD_NAMES:
            return getattr(self, key)
        if key in self.extra:
            return self.extra[key]
        raise KeyError(key)

    def __contains__(self, key: str) -> bool:
        """True for a field that is set (``latent`` may be ``None``) or an ``extra`` key."""
        return self.get(key) is not None

    def get(self, key: str, default=None):
        """A field or an ``extra`` entry by name (``default`` when absent)."""
        if key in FIELD_NAMES:
            value = getattr(self, key)
            return default if value is None else value
        return self.extra.get(key, default)


def _is_batched(value) -> bool:
    return torch.is_tensor(value) and value.dim() > 0


def _long(values, size: int, fill: int | None) -> torch.Tensor:
    if values is None:
        if fill is None:
            return torch.arange(size, dtype=torch.long)
        return torch.full((size,), fill, dtype=torch.long)
    return torch.as_tensor(values, dtype=torch.long).reshape(size)


@MMENGINE_FUNCTIONS.register_module()
def video_collate(items: Sequence[Mapping]) -> dict:
    """Collate dataset items into ``dict(inputs=(B, 3, F, H, W), data_samples=VideoBatch)``.

    Registered in mmengine's root ``FUNCTIONS``: the Runner looks collate functions up there
    without a scope, as it does its own ``default_collate`` and ``pseudo_collate``.

    ``inputs`` are stacked with torch's ``default_collate`` (latent-cache items carry empty
    tensors, stacked to ``(B, 0)``); ``data_samples`` become one :class:`VideoBatch`.
    """
    if not items:
        raise ValueError('video_collate: no items.')
    inputs = default_collate([item['inputs'] for item in items])
    samples = VideoBatch.collate([dict(item.get('data_samples') or {}) for item in items])
    return dict(inputs=inputs, data_samples=samples)


__all__ = ['NO_LABEL', 'VideoBatch', 'video_collate']
