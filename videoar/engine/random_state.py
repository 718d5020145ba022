"""Capture and restore every random state a training run draws from, in checkpoint-safe form.

A state is stored only as tensors, lists, dicts, ints, floats and strings, so it passes the
``weights_only`` allowlist of ``videoar/io/checkpoint.py``. Covered:

* the global generators: python ``random``, numpy's legacy ``np.random``, torch CPU and (when
  available) every CUDA device;
* the generators a model or a data pipeline *owns*: attributes holding a ``torch.Generator``,
  a ``numpy.random.Generator``, a ``numpy.random.RandomState`` or a ``random.Random``, found on
  the modules of the model and on the dataset, its sub-datasets and the sampler, plus any of
  those objects that defines ``state_dict()`` / ``load_state_dict()`` (named ``'<owner>.state'``).

:func:`capture_random_state` and :func:`restore_random_state` are used by
``videoar/engine/exact_resume.py`` (``ExactResumeHook``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

STATE_VERSION = 1

_OWNED_TYPES = (torch.Generator, np.random.Generator, np.random.RandomState, random.Random)


# ---- the global generators -----------------------------------------------------------------
def _python_state(rng) -> dict:
    version, internal, gauss = rng.getstate()
    return dict(version=int(version), internal=list(internal), gauss=gauss)


def _set_python_state(rng, state: dict) -> None:
    rng.setstate((state['version'], tuple(state['internal']), state['gauss']))


def _numpy_legacy_state(rng) -> dict:
    kind, keys, pos, has_gauss, cached = rng.get_state()
    return dict(
        kind=str(kind),
        keys=[int(k) for k in keys],
        pos=int(pos),
        has_gauss=int(has_gauss),
        cached_gaussian=float(cached),
    )


def _set_numpy_legacy_state(rng, state: dict) -> None:
    keys = np.asarray(state['keys'], dtype=np.uint32)
    rng.set_state((state['kind'], keys, state['pos'], state['has_gauss'], state['cached_gaussian']))


def capture_global_state() -> dict:
    """The states of python ``random``, ``np.random``, torch CPU and torch CUDA (if any)."""
    state = dict(
        python=_python_state(random),
        numpy=_numpy_legacy_state(np.random),
        torch=torch.get_rng_state(),
    )
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['torch_cuda'] = list(torch.cuda.get_rng_state_all())
    return state


def restore_global_state(state: dict) -> None:
    """Inverse of :func:`capture_global_state`."""
    _set_python_state(random, state['python'])
    _set_numpy_legacy_state(np.random, state['numpy'])
    torch.set_rng_state(state['torch'].cpu())
    cuda = state.get('torch_cuda')
    if cuda is not None and torch.cuda.is_available():
        if len(cuda) != torch.cuda.device_count():
            raise RuntimeError(
                f'The checkpoint holds the CUDA random states of {len(cuda)} devices but '
                f'{torch.cuda.device_count()} are visible; resume with the same devices '
                '(CUDA_VISIBLE_DEVICES) to continue the run exactly.'
            )
        torch.cuda.set_rng_state_all([s.cpu() for s in cuda])


# ---- generators owned by the model and the data --------------------------------------------
def _owned_state(obj) -> dict:
    if isinstance(obj, torch.Generator):
        return dict(kind='torch', state=obj.get_state())
    if isinstance(obj, np.random.Generator):
        return dict(kind='numpy', state=obj.bit_generator.state)
    if isinstance(obj, np.random.RandomState):
        return dict(kind='numpy_legacy', state=_numpy_legacy_state(obj))
    return dict(kind='python', state=_python_state(obj))


def _set_owned_state(obj, saved: dict, name: str) -> None:
    kind = saved['kind']
    expected = _owned_state(obj)['kind']
    if kind != expected:
        raise TypeError(
            f'Random state {name!r}: the checkpoint holds a {kind} generator but the run now '
            f'has a {expected} one; resume with the config the checkpoint was written with.'
        )
    if kind == 'torch':
        obj.set_state(saved['state'].cpu())
    elif kind == 'numpy':
        obj.bit_generator.state = saved['state']
    elif kind == 'numpy_legacy':
        _set_numpy_legacy_state(obj, saved['state'])
    else:
        _set_python_state(obj, saved['state'])


def _stateful(obj) -> bool:
    return callable(getattr(obj, 'state_dict', None)) and callable(
        getattr(obj, 'load_state_dict', None)
    )


def iter_owners(model: nn.Module | None, dataloader) -> Iterator[tuple[str, object]]:
    """``(name, owner)`` for the model's modules, the dataset (and sub-datasets) and the sampler."""
    if model is not None:
        model = getattr(model, 'module', model)  # DDP
        for name, module in model.named_modules():
            yield ('model.' + name).rstrip('.'), module
    if dataloader is None:
        return
    dataset = getattr(dataloader, 'dataset', None)
    if dataset is not None:
        yield 'dataset', dataset
        for i, sub in enumerate(getattr(dataset, 'datasets', None) or []):
            yield f'dataset.datasets.{i}', sub
    for attr in ('sampler', 'batch_sampler'):
        sampler = getattr(dataloader, attr, None)
        if sampler is not None:
            yield attr, sampler


def capture_owned_state(model: nn.Module | None, dataloader) -> dict:
    """States of the generators the model and the data own, keyed by attribute path."""
    out: dict = {}
    for owner_name, owner in iter_owners(model, dataloader):
        if not isinstance(owner, nn.Module) and _stateful(owner):
            out[f'{owner_name}.state'] = dict(kind='state_dict', state=owner.state_dict())
        for attr, value in vars(owner).items():
            if isinstance(value, _OWNED_TYPES):
                out[f'{owner_name}.{attr}'] = _owned_state(value)
    return out


def restore_owned_state(model: nn.Module | None, dataloader, saved: dict) -> None:
    """Inverse of :func:`capture_owned_state`; a generator missing on either side is an error."""
    found: dict = {}
    for owner_name, owner in iter_owners(model, dataloader):
        if not isinstance(owner, nn.Module) and _stateful(owner):
            found[f'{owner_name}.state'] = owner
        for attr, value in vars(owner).items():
            if isinstance(value, _OWNED_TYPES):
                found[f'{owner_name}.{attr}'] = value
    if set(found) != set(saved):
        raise RuntimeError(
            'The random generators owned by the model/data differ from the checkpoint: missing '
            f'now {sorted(set(saved) - set(found))}, new {sorted(set(found) - set(saved))}. '
            'Resume with the config the checkpoint was written with.'
        )
    for name, obj in found.items():
        entry = saved[name]
        if entry['kind'] == 'state_dict':
            obj.load_state_dict(entry['state'])
        else:
            _set_owned_state(obj, entry, name)


def capture_random_state(model: nn.Module | None = None, dataloader=None) -> dict:
    """Everything :func:`restore_random_state` needs, as checkpoint-safe containers."""
    return dict(
        version=STATE_VERSION,
        globals=capture_global_state(),
        owned=capture_owned_state(model, dataloader),
    )


def restore_random_state(state: dict, model: nn.Module | None = None, dataloader=None) -> None:
    """Restore a :func:`capture_random_state` result (same model and data layout)."""
    if state.get('version') != STATE_VERSION:
        raise RuntimeError(
            f'Unknown random-state version {state.get("version")!r} in the checkpoint '
            f'(this videoar writes {STATE_VERSION}).'
        )
    restore_global_state(state['globals'])
    restore_owned_state(model, dataloader, state['owned'])


__all__ = [
    'STATE_VERSION',
    'capture_global_state',
    'capture_owned_state',
    'capture_random_state',
    'iter_owners',
    'restore_global_state',
    'restore_owned_state',
    'restore_random_state',
]
