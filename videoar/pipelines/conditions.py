"""The conditions of a request: the kind of conditioner, class names and indices, prompts.

A request names classes (indices or names) for a class-conditional model, prompts for a
text-conditional one, or neither (unconditional: the learned null condition). This module checks
the request against the model's conditioner (from the built model, or from the config before
any weights are loaded), resolves class names to indices, lists the condition of every video and
turns a batch of them into what the sampler reads (a :class:`~videoar.structures.VideoBatch`, or
the null :class:`~videoar.models.conditioners.Condition`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from mmengine.config import Config

from videoar.models.conditioners import ClassConditioner, Condition
from videoar.registry import CONDITIONERS, DATASETS
from videoar.structures import VideoBatch

from .errors import GenerationError
from .request import GenerationRequest


@dataclass
class Conditions:
    """The condition of every requested video.

    Attributes:
        mode: ``'class'``, ``'text'`` or ``'unconditional'``.
        kind: the conditioner's kind (``'class'``, ``'text'`` or ``None`` when unknown).
        per_video: one dict per video, in order: ``class`` and ``class_name``, or ``prompt``, or
            ``unconditional=True``; and ``sample`` (its index among the videos of a condition).
        class_indices: the requested classes as indices (``None`` unless ``mode == 'class'``).
        class_names: the names of the requested classes, in request order.
    """

    mode: str
    kind: str | None
    per_video: list[dict]
    class_indices: list[int] | None = None
    class_names: list[str] | None = None

    def __len__(self) -> int:
        return len(self.per_video)


def conditioner_kind(conditioner_or_cfg) -> str | None:
    """``'class'``, ``'text'`` or ``None`` (unknown) for a conditioner object, class or config."""
    target = conditioner_or_cfg
    if isinstance(target, Mapping):
        name = target.get('type')
        target = CONDITIONERS.get(name) if isinstance(name, str) else name
    cls = target if isinstance(target, type) else type(target)
    kind = getattr(cls, 'condition_kind', None)
    if kind is not None:
        return kind
    if issubclass(cls, ClassConditioner) or hasattr(target, 'num_classes'):
        return 'class'
    return None


def _type_name(conditioner_or_cfg) -> str:
    if isinstance(conditioner_or_cfg, Mapping):
        name = conditioner_or_cfg.get('type')
        return name if isinstance(name, str) else getattr(name, '__name__', str(name))
    return type(conditioner_or_cfg).__name__


def _num_classes(conditioner_or_cfg) -> int | None:
    if isinstance(conditioner_or_cfg, Mapping):
        value = conditioner_or_cfg.get('num_classes')
    else:
        value = getattr(conditioner_or_cfg, 'num_classes', None)
    return None if value is None else int(value)


def class_names_from_config(cfg: Config | None) -> list[str] | None:
    """Class names from a config: ``class_names``, or a dataloader's dataset ``classes``/metainfo.

    Datasets that cannot be built here (data not on disk) are skipped; ``None`` when no names
    are found.
    """
    if cfg is None:
        return None
    if cfg.get('class_names'):
        return [str(c) for c in cfg['class_names']]
    for key in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        loader = cfg.get(key)
        dataset = loader.get('dataset') if isinstance(loader, Mapping) else None
        if not isinstance(dataset, Mapping):
            continue
        if dataset.get('classes'):
            return [str(c) for c in dataset['classes']]
        try:
            built = DATASETS.build(dict(dataset))
            classes = (getattr(built, 'metainfo', None) or {}).get('classes')
        except Exception:  # noqa: BLE001 - data not available here: try the next source
            continue
        if classes:
            return [str(c) for c in classes]
    return None


def resolve_classes(
    classes: Sequence, num_classes: int | None, names: Sequence[str] | None
) -> list[int]:
    """Class indices from indices or names; an unknown class raises listing the valid ones."""
    if names is not None and num_classes is not None and len(names) != num_classes:
        names = None  # names from another dataset: fall back to indices
    count = num_classes if num_classes is not None else (len(names) if names else None)
    lookup = {str(n).lower(): i for i, n in enumerate(names or [])}
    resolved = []
    for value in classes:
        index = None
        if isinstance(value, (bool, np.bool_)):
            index = None
        elif isinstance(value, (int, np.integer)):
            index = int(value)
        elif isinstance(value, str) and value.strip():
            text = value.strip()
            if text.lower() in lookup:
                index = lookup[text.lower()]
            elif text.lstrip('-').isdigit():
                index = int(text)
        if index is None or index < 0 or (count is not None and index >= count):
            raise GenerationError(f'unknown class {value!r}; {_valid_classes(count, names)}')
        resolved.append(index)
    return resolved


def _valid_classes(count: int | None, names: Sequence[str] | None) -> str:
    if names:
        listed = ', '.join(f'{i}={n}' for i, n in enumerate(names))
        if len(listed) > 1500:
            listed = listed[:1500] + ', ...'
        return f'valid classes are the indices 0..{len(names) - 1} or the names: {listed}.'
    if count is not None:
        return f'valid classes are 0..{count - 1}.'
    return 'valid classes are non-negative integers.'


def resolve_conditions(
    request: GenerationRequest, conditioner_or_cfg, cfg: Config | None
) -> Conditions:
    """Check the request against a conditioner (object or config) and list every video's condition.

    Raises GenerationError for prompts to a class-conditional model, classes to a text model, or
    an unknown class (listing the valid ones, with names from ``cfg`` when it has them).
    """
    source = conditioner_or_cfg
    kind = conditioner_kind(source) if source is not None else None
    if kind == 'class' and request.prompts is not None:
        raise GenerationError(
            f'this model is class-conditional ({_type_name(source)}): give classes, not prompts.'
        )
    if kind == 'text' and request.classes is not None:
        raise GenerationError(
            f'this model is text-conditional ({_type_name(source)}): give prompts, not classes.'
        )
    num = int(request.num_samples)
    if request.mode == 'text':
        per_video = [dict(sample=s, prompt=p) for p in request.prompts for s in range(num)]
        return Conditions('text', kind, per_video)
    if request.mode == 'unconditional':
        return Conditions('unconditional', kind, [dict(sample=s, unconditional=True)
                                                  for s in range(num)])  # fmt: skip
    names = class_names_from_config(cfg)
    num_classes = _num_classes(source) if source is not None else None
    indices = resolve_classes(request.classes, num_classes, names)
    labels = [names[i] if names and i < len(names) else str(i) for i in indices]
    per_video = [
        dict(sample=s, **{'class': index, 'class_name': name})
        for index, name in zip(indices, labels)
        for s in range(num)
    ]
    return Conditions('class', kind, per_video, class_indices=indices, class_names=labels)


def truncated_prompts(conditioner, prompts: Sequence[str] | None) -> list[str]:
    """The prompts the text encoder cuts (warned about); empty for other conditioners."""
    if prompts is None or not hasattr(conditioner, 'is_truncated'):
        return []
    truncated = [p for p in prompts if conditioner.is_truncated(p)]
    if truncated:
        warnings.warn(
            f"{len(truncated)} prompt(s) exceed the text encoder's {conditioner.prefix_len} "
            f'tokens and are cut: {truncated}',
            stacklevel=4,
        )
    return truncated


def batch_conditions(
    model, per_video: Sequence[dict], mode: str, device: torch.device
) -> tuple[VideoBatch | None, Condition | None]:
    """What the sampler reads for a batch of videos: ``(data_samples, condition)``.

    Class and text batches become a :class:`VideoBatch` with ``label (B,)`` or ``caption``;
    unconditional ones the conditioner's null :class:`Condition`.
    """
    if mode == 'class':
        return VideoBatch.build(label=[c['class'] for c in per_video]), None
    if mode == 'text':
        return VideoBatch.build(caption=[c['prompt'] for c in per_video]), None
    return None, model.conditioner.null(len(per_video), device)


__all__ = [
    'Conditions',
    'batch_conditions',
    'class_names_from_config',
    'conditioner_kind',
    'resolve_classes',
    'resolve_conditions',
    'truncated_prompts',
]
