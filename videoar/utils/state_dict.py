"""Loading weights whose shapes differ from the model's: the one weight-adaptation protocol.

A curriculum trains the same model at growing resolution and duration. Most tensors keep their
shape from one stage to the next; the few that do not (a learned positional table, a per-scale
table that follows the scale schedule) are adapted when loading:

1. **the protocol**: a module that knows how to map its own entries onto its current shapes
   implements ``adapt_state_dict(prefix, state_dict)``: it rewrites ``state_dict[prefix + name]``
   in place (it may also return the dict). It must be idempotent (a second call on adapted
   entries changes nothing). ``MultiScaleQuantizer`` (per-scale tables under another scale
   schedule) and ``LearnedAbsolutePE`` (positional tables) implement it, and also run it from
   torch's plain ``load_state_dict``, so loading a checkpoint of another schedule works
   everywhere;
2. :func:`load_adapted_state_dict` calls ``adapt_state_dict`` of every module that owns an entry
   whose shape differs from the model's, then torch's own ``load_state_dict(strict=False)`` for
   the entries of equal shape;
3. a tensor whose shape still differs gets the overlapping slice along every dimension copied
   (``dst[:a, :b] = src[:a, :b]``); the rest keeps its initialisation. The :class:`LoadReport`
   says which.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
from mmengine.logging import print_log
from torch import nn

from .modules import unwrap


@dataclass
class LoadReport:
    """What :func:`load_adapted_state_dict` did.

    Attributes:
        loaded: keys copied as they were (same shape).
        adapted: key -> how it was adapted (``adapt_state_dict`` or the overlapping slice), with
            both shapes.
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


def _shape(tensor) -> tuple:
    return tuple(tensor.shape)


@torch.no_grad()
def _copy_overlap(dst: torch.Tensor, src: torch.Tensor) -> tuple | None:
    """Copy ``src[:a, :b, ...]`` into ``dst`` over the overlap; None if the ranks differ."""
    if dst.dim() != src.dim():
        return None
    overlap = tuple(min(a, b) for a, b in zip(dst.shape, src.shape))
    index = tuple(slice(0, n) for n in overlap)
    dst[index].copy_(src[index].to(device=dst.device, dtype=dst.dtype))
    return overlap


def adapt_entries(
    model: nn.Module, state: dict[str, torch.Tensor], own: Mapping[str, torch.Tensor]
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Step 1: ``adapt_state_dict`` of every module that owns an entry of another shape.

    Returns:
        ``(state, adapted)``: the (possibly new) state dict and ``{key: how}`` for the entries
        that now have the model's shape.
    """
    before = {k: _shape(v) for k, v in state.items()}
    mismatched = {k for k, s in before.items() if k in own and s != _shape(own[k])}
    adapted: dict[str, str] = {}
    for prefix, module in model.named_modules():
        adapt = getattr(module, 'adapt_state_dict', None)
        prefix = prefix + '.' if prefix else ''
        if not callable(adapt) or not any(k.startswith(prefix) for k in mismatched):
            continue
        result = adapt(prefix, state)
        if result is not None and result is not state:
            state = OrderedDict(result)
        for key in sorted(k for k in mismatched if k.startswith(prefix)):
            if key in state and _shape(state[key]) == _shape(own[key]):
                adapted[key] = (
                    f'{before[key]} -> {_shape(own[key])} by '
                    f'{type(module).__name__}.adapt_state_dict'
                )
    return state, adapted


def _copy_overlaps(
    differs: dict[str, torch.Tensor], own: Mapping[str, torch.Tensor], report: LoadReport
) -> None:
    """Step 3: the overlapping slice of every tensor whose shape still differs."""
    for key, src in differs.items():
        dst = own[key]
        overlap = _copy_overlap(dst, src)
        if overlap is None:
            report.adapted[key] = (
                f'NOT loaded: checkpoint {_shape(src)} vs model {_shape(dst)} differ in rank'
            )
        else:
            report.adapted[key] = (
                f'{_shape(src)} -> {_shape(dst)}: copied the overlapping slice {overlap}, '
                'the rest keeps its initialisation'
            )


def _strict_errors(report: LoadReport, differs: Mapping, own: Mapping) -> list[str]:
    errors = [
        f'size mismatch for {k}: checkpoint {_shape(v)}, model {_shape(own[k])}'
        for k, v in differs.items()
    ]
    if report.missing:
        errors.append(f'missing keys: {report.missing}')
    if report.unexpected:
        errors.append(f'unexpected keys: {report.unexpected}')
    return errors


def load_adapted_state_dict(
    model: nn.Module,
    state_dict: Mapping[str, torch.Tensor],
    logger=None,
    key_prefixes: Sequence[str] | None = None,
    strict: bool = False,
) -> LoadReport:
    """Load ``state_dict`` into ``model``, adapting tensors whose shapes differ (module docstring).

    Args:
        model: the model (a DDP/mmengine wrapper is unwrapped).
        state_dict: e.g. ``checkpoint['state_dict']``; a leading ``module.`` is stripped.
        logger: an mmengine logger (default: the current one).
        key_prefixes: load only keys starting with one of these (e.g. ``['transformer.']``).
        strict: after the modules' own adaptation, raise instead of copying overlapping slices
            or ignoring missing / unexpected keys (a checkpoint of another architecture).

    Returns:
        A :class:`LoadReport`. Tensors are copied in place, so an optimizer built on the model's
        parameters stays valid.

    Raises:
        RuntimeError: ``strict`` and the state dict does not fit after adaptation.
    """
    model = unwrap(model)
    metadata = getattr(state_dict, '_metadata', None)
    state = OrderedDict((re.sub(r'^module\.', '', k), v) for k, v in state_dict.items())
    prefixes = tuple(key_prefixes) if key_prefixes else None
    report = LoadReport()
    own = model.state_dict()
    if prefixes:
        state = OrderedDict((k, v) for k, v in state.items() if k.startswith(prefixes))
        report.not_selected = [k for k in own if not k.startswith(prefixes)]
    state, report.adapted = adapt_entries(model, state, own)
    differs = {k: v for k, v in state.items() if k in own and _shape(v) != _shape(own[k])}
    equal = OrderedDict((k, v) for k, v in state.items() if k not in differs)
    if metadata is not None:
        equal._metadata = metadata  # torch's per-module version info
    result = model.load_state_dict(equal, strict=False)
    report.loaded = [k for k in equal if k in own and k not in report.adapted]
    report.missing = [
        k
        for k in result.missing_keys
        if k not in differs and not (prefixes and not k.startswith(prefixes))
    ]
    report.unexpected = list(result.unexpected_keys)
    errors = _strict_errors(report, differs, own) if strict else []
    if errors:
        raise RuntimeError(
            f'loading weights into {type(model).__name__} failed:\n\t' + '\n\t'.join(errors)
        )
    _copy_overlaps(differs, own, report)
    print_log(
        f'weights loaded into {type(model).__name__}: ' + report.summary(),
        logger=logger if logger is not None else 'current',
        level=logging.INFO,
    )
    return report


__all__ = ['LoadReport', 'adapt_entries', 'load_adapted_state_dict']
