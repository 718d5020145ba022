"""Passing weights between training stages whose shapes differ, and finding a stage's result.

A curriculum trains the same model at growing resolution and duration (VideoAR §5.1). Most
tensors keep their shape from one stage to the next; the few that do not (a learned positional
table, a per-scale embedding that grew with the scale schedule) are adapted when loading:

1. a submodule that defines ``adapt_state_dict(prefix, state_dict)`` rewrites its own entries
   (e.g. interpolates a positional table); it edits ``state_dict`` in place (and may return it);
2. every module's own ``_load_from_state_dict`` runs as in ``nn.Module.load_state_dict`` (so a
   module that resizes tables there, like ``LearnedAbsolutePE``, keeps working);
3. a tensor whose shape still differs gets the overlapping slice along every dimension copied
   (``dst[:a, :b] = src[:a, :b]``); the rest keeps its initialisation. This is logged.

:func:`find_final_checkpoint` reads a stage's ``finished.json`` (written by
``StageFinishedHook``), or mmengine's ``last_checkpoint`` file.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from torch import nn


@dataclass
class LoadReport:
    """What :func:`load_adapted_state_dict` did.

    Attributes:
        loaded: keys copied as they were (same shape).
        adapted: key -> how it was adapted (``adapt_state_dict``, the module's own loader, or
            the overlapping slice), with both shapes.
        missing: model keys the state dict did not provide (they keep their values).
        unexpected: state-dict keys the model does not have (ignored).
        not_selected: model keys outside ``key_prefixes`` (not loaded on purpose).
    """

    loaded: list[str] = field(default_factory=list)
    adapted: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    not_selected: list[str] = field(default_factory=list)

    def summary(self, max_keys: int = 8) -> str:
        def keys(items) -> str:
            items = list(items)
            shown = ', '.join(items[:max_keys])
            return shown + (f', ... (+{len(items) - max_keys})' if len(items) > max_keys else '')

        lines = [
            f'{len(self.loaded)} tensors loaded, {len(self.adapted)} adapted, '
            f'{len(self.missing)} missing, {len(self.unexpected)} unexpected'
            + (f', {len(self.not_selected)} not selected' if self.not_selected else '')
        ]
        lines += [f'  adapted {k}: {how}' for k, how in self.adapted.items()]
        if self.missing:
            lines.append(f'  missing (kept their values): {keys(self.missing)}')
        if self.unexpected:
            lines.append(f'  unexpected (ignored): {keys(self.unexpected)}')
        return '\n'.join(lines)


def _shape(t) -> tuple:
    return tuple(t.shape)


def _own_tensors(module: nn.Module) -> dict[str, torch.Tensor]:
    """The parameters and persistent buffers that ``module`` itself owns (not its children)."""
    own = {n: p for n, p in module._parameters.items() if p is not None}
    skip = module._non_persistent_buffers_set
    own.update({n: b for n, b in module._buffers.items() if b is not None and n not in skip})
    return own


@torch.no_grad()
def _copy_overlap(dst: torch.Tensor, src: torch.Tensor) -> tuple | None:
    """Copy ``src[:a, :b, ...]`` into ``dst`` over the overlap; None if the ranks differ."""
    if dst.dim() != src.dim():
        return None
    overlap = tuple(min(a, b) for a, b in zip(dst.shape, src.shape))
    index = tuple(slice(0, n) for n in overlap)
    dst[index].copy_(src[index].to(device=dst.device, dtype=dst.dtype))
    return overlap


def _log(logger, message: str, level: int | None = None) -> None:
    import logging

    print_log(
        message, logger=logger if logger is not None else 'current', level=level or logging.INFO
    )


def load_adapted_state_dict(
    model: nn.Module,
    state_dict: Mapping[str, torch.Tensor],
    logger=None,
    key_prefixes: Sequence[str] | None = None,
) -> LoadReport:
    """Load ``state_dict`` into ``model``, adapting tensors whose shapes differ.

    Args:
        model: the model (a DDP/mmengine wrapper is unwrapped).
        state_dict: e.g. ``checkpoint['state_dict']``; a leading ``module.`` is stripped.
        logger: an mmengine logger (default: the current one).
        key_prefixes: load only keys starting with one of these (e.g. ``['transformer.']``).

    Returns:
        A :class:`LoadReport`. Tensors are copied in place, so an optimizer built on the model's
        parameters stays valid.

    Raises:
        RuntimeError: a module's own loader reported an error other than a size mismatch.
    """
    if is_model_wrapper(model):
        model = model.module
    metadata = getattr(state_dict, '_metadata', None)
    state: dict[str, torch.Tensor] = OrderedDict(
        (re.sub(r'^module\.', '', k), v) for k, v in state_dict.items()
    )
    prefixes = tuple(key_prefixes) if key_prefixes else None
    report = LoadReport()
    own_all = model.state_dict()
    if prefixes:
        state = OrderedDict((k, v) for k, v in state.items() if k.startswith(prefixes))
        report.not_selected = [k for k in own_all if not k.startswith(prefixes)]
    before = {k: _shape(v) for k, v in state.items()}
    mismatched = {k for k, s in before.items() if k in own_all and s != _shape(own_all[k])}

    # 1. modules that adapt their own entries
    for prefix, module in model.named_modules():
        adapt = getattr(module, 'adapt_state_dict', None)
        if not callable(adapt):
            continue
        prefix = prefix + '.' if prefix else ''
        if not any(k.startswith(prefix) for k in mismatched):
            continue
        result = adapt(prefix, state)
        if result is not None and result is not state:
            state = OrderedDict(result)
        for key in sorted(k for k in mismatched if k.startswith(prefix)):
            if key in state and _shape(state[key]) == _shape(own_all[key]):
                report.adapted[key] = (
                    f'{before[key]} -> {_shape(own_all[key])} by '
                    f'{type(module).__name__}.adapt_state_dict'
                )

    # 2. + 3. the module tree, as nn.Module.load_state_dict, with the overlap fallback
    missing: list[str] = []
    unexpected: list[str] = []
    errors: list[str] = []
    handled_mismatch: set[str] = set()

    def load(module: nn.Module, local: dict, prefix: str) -> None:
        local_metadata = {} if metadata is None else metadata.get(prefix[:-1], {})
        module._load_from_state_dict(
            local, prefix, local_metadata, True, missing, unexpected, errors
        )
        for name, tensor in _own_tensors(module).items():
            key = prefix + name
            if key not in local:
                continue
            src = local[key]
            if _shape(src) == _shape(tensor):
                if key in mismatched and key not in report.adapted:
                    report.adapted[key] = (
                        f"{before[key]} -> {_shape(tensor)} by {type(module).__name__}'s loader"
                    )
                elif key not in report.adapted:
                    report.loaded.append(key)
                continue
            handled_mismatch.add(key)
            overlap = _copy_overlap(tensor, src)
            if overlap is None:
                report.adapted[key] = (
                    f'NOT loaded: checkpoint {_shape(src)} vs model {_shape(tensor)} differ in rank'
                )
            else:
                report.adapted[key] = (
                    f'{_shape(src)} -> {_shape(tensor)}: copied the overlapping slice {overlap}, '
                    'the rest keeps its initialisation'
                )
        for name, child in module._modules.items():
            if child is not None:
                child_prefix = prefix + name + '.'
                child_local = {k: v for k, v in local.items() if k.startswith(child_prefix)}
                load(child, child_local, child_prefix)

    load(model, state, '')
    errors = [
        e
        for e in errors
        if not any(e.startswith(f'size mismatch for {k}:') for k in handled_mismatch)
    ]
    if errors:
        raise RuntimeError(
            f'loading weights into {type(model).__name__} failed:\n\t' + '\n\t'.join(errors)
        )
    report.missing = [k for k in missing if not (prefixes and not k.startswith(prefixes))]
    report.unexpected = list(unexpected)
    _log(logger, f'weights loaded into {type(model).__name__}: ' + report.summary())
    return report


__all__ = ['LoadReport', 'load_adapted_state_dict']
