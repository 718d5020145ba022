"""Checkpoints on disk: safe loading, the state dict inside, and where a run's result is.

* :func:`load_checkpoint_safe` is ``torch.load`` with ``weights_only=True`` inside an allowlist of
  exactly the globals mmengine and numpy write into a checkpoint (:data:`SAFE_GLOBALS`); any other
  pickled global is refused with :class:`UnsafeCheckpointError`, which names it. ``weights_only``
  is never turned off. ``videoar.engine.compat`` makes mmengine's Runner load through it.
* :func:`load_state_dict` returns the model state dict of an mmengine checkpoint or a bare state
  dict (a DDP ``module.`` prefix is stripped).
* :func:`find_final_checkpoint` / :func:`resolve_checkpoint` find the final checkpoint of a run
  from its work directory: ``finished.json`` (written by ``StageFinishedHook`` when training
  ended), else mmengine's ``last_checkpoint`` file.
"""

from __future__ import annotations

import collections
import json
import os
import os.path as osp
import pickle
import re
from collections.abc import Mapping

import numpy as np
import torch

try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct, scalar
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct, scalar
from mmengine.config import ConfigDict
from mmengine.logging.history_buffer import HistoryBuffer

FINISHED_FILE = 'finished.json'
LAST_CHECKPOINT_FILE = 'last_checkpoint'


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds a pickled object outside videoar's allowlist."""


def _numpy_globals() -> list:
    out = [np.ndarray, np.dtype, _reconstruct, scalar]
    # the concrete dtype classes (numpy.dtypes.Float64DType, ...) pickled with arrays
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        out += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')]
    return out


def _mmengine_globals() -> list:
    return [HistoryBuffer, ConfigDict]


#: The globals a checkpoint written by mmengine's Runner may contain besides tensors.
SAFE_GLOBALS: list = [
    *_numpy_globals(),
    *_mmengine_globals(),
    collections.OrderedDict,
    collections.defaultdict,
]
SAFE_GLOBALS = list(dict.fromkeys(SAFE_GLOBALS))


def _getattr_owners() -> tuple:
    return (HistoryBuffer,)


def _restricted_getattr(obj, name: str):
    """Stands in for ``getattr`` while unpickling.

    mmengine pickles ``HistoryBuffer.statistics_methods`` as ``getattr(HistoryBuffer, 'min')``.
    Plain ``getattr`` would open every attribute of every allowed object to the pickle (an
    escape from the allowlist), so only public attributes of those classes are served.
    """
    if obj in _getattr_owners() and isinstance(name, str) and not name.startswith('_'):
        return getattr(obj, name)
    raise UnsafeCheckpointError(
        f'checkpoint asks for getattr({obj!r}, {name!r}), which videoar does not allow.'
    )


SAFE_GLOBALS.append((_restricted_getattr, 'builtins.getattr'))


def allow_checkpoint_globals(*objects) -> None:
    """Add trusted classes or functions to the checkpoint allowlist (for plugin metadata)."""
    for obj in objects:
        if obj not in SAFE_GLOBALS:
            SAFE_GLOBALS.append(obj)


def load_checkpoint_safe(filename: str, map_location='cpu'):
    """``torch.load`` with ``weights_only=True`` and videoar's allowlist.

    Raises:
        FileNotFoundError: the file does not exist.
        UnsafeCheckpointError: the file pickles a global outside :data:`SAFE_GLOBALS`.
    """
    filename = os.path.expanduser(str(filename))
    if not os.path.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename!r} can not be found.')
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        text = str(err)
        match = re.search(r'(?:Unsupported global: GLOBAL|unsupported GLOBAL) ([\w.]+)', text)
        if match:
            what = f'the pickled global {match.group(1)}, which is'
        else:
            boiler = ('Check the documentation', 'Weights only load failed', '\t(')
            lines = [
                ln.strip()
                for ln in text.split('WeightsUnpickler error:')[-1].splitlines()
                if ln.strip() and not ln.startswith(boiler)
            ]
            what = f'a pickled object ({lines[-1].strip()[:300] if lines else text[:300]})'
        raise UnsafeCheckpointError(
            f'refusing to load {filename!r}: it contains {what} '
            "not in videoar's checkpoint allowlist (tensors, numpy arrays and mmengine run "
            'metadata). Loading it could run arbitrary code. If you wrote this file yourself '
            'and trust it, allow that type with '
            'videoar.io.allow_checkpoint_globals(<the class>), or re-save only '
            'its tensors (e.g. with safetensors).'
        ) from err


def load_state_dict(checkpoint: str) -> dict:
    """The model state dict of a checkpoint file, read safely (:func:`load_checkpoint_safe`).

    Accepts an mmengine checkpoint (``ckpt['state_dict']``) or a bare state dict; the
    ``module.`` prefix of checkpoints written from a DDP-wrapped model is stripped.
    """
    ckpt = load_checkpoint_safe(checkpoint, map_location='cpu')
    if isinstance(ckpt, Mapping) and 'sharded_checkpoint' in (ckpt.get('meta') or {}):
        raise ValueError(
            f'{checkpoint!r} is a sharded (FSDP2) checkpoint: its weights are in the directory '
            'beside it. Make one file of it with python tools/consolidate_checkpoint.py '
            f'{checkpoint} and load that.'
        )
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, Mapping) else ckpt
    if not isinstance(state, Mapping):
        raise TypeError(f'{checkpoint!r} holds no state dict (got {type(state).__name__}).')
    if state and all(k.startswith('module.') for k in state):
        state = {k[len('module.') :]: v for k, v in state.items()}
    return dict(state)


# ---------------------------------------------------------------------------------------------
# finding a run's final checkpoint
# ---------------------------------------------------------------------------------------------


class CheckpointNotFoundError(FileNotFoundError):
    """A run's final checkpoint does not exist; the message names the command producing it."""


def named_by_last_checkpoint(work_dir: str) -> str | None:
    """The path mmengine's ``last_checkpoint`` file names (whether or not that file exists),
    or None when there is no such file or it is empty."""
    last = osp.join(work_dir, LAST_CHECKPOINT_FILE)
    if not osp.isfile(last):
        return None
    with open(last) as f:
        named = f.read().strip()
    return _resolve(named, work_dir) if named else None


def read_last_checkpoint(work_dir: str) -> str | None:
    """The checkpoint named by mmengine's ``last_checkpoint`` file, if both exist."""
    path = named_by_last_checkpoint(work_dir)
    return path if path is not None and osp.isfile(path) else None


#: the ``finished.json`` entries that hold paths (a string or a list of strings)
FINISHED_PATH_KEYS = ('checkpoint', 'init_checkpoint', 'tokenizer_checkpoint', 'latent_cache_dirs')


def _moved(path, old_dir: str, new_dir: str, old_root: str, new_root: str):
    """``path`` of a copied or moved run, in its new place when it is there (else unchanged)."""
    if not isinstance(path, str) or not osp.isabs(path):
        return path
    for old, new in ((old_dir, new_dir), (old_root, new_root)):
        if path.startswith(old + os.sep):
            candidate = new + path[len(old) :]
            if osp.exists(candidate):
                return candidate
    return path


def relocate_finished(finished: dict, work_dir: str) -> dict:
    """``finished.json`` of a work dir that was copied or moved (as a whole, or with the
    curriculum folder around it): the absolute paths it recorded under its old place point to the
    same files in the new place, where those exist. Unmoved runs are returned unchanged."""
    recorded = finished.get('checkpoint')
    if not isinstance(recorded, str) or not osp.isabs(recorded):
        return finished
    old_dir, new_dir = osp.dirname(recorded), osp.abspath(work_dir)
    if old_dir == new_dir or osp.realpath(old_dir) == osp.realpath(new_dir):
        return finished
    roots = (old_dir, new_dir, osp.dirname(old_dir), osp.dirname(new_dir))
    out = dict(finished)
    for key in FINISHED_PATH_KEYS:
        value = out.get(key)
        if isinstance(value, list):
            out[key] = [_moved(v, *roots) for v in value]
        elif value is not None:
            out[key] = _moved(value, *roots)
    return out


def read_finished(work_dir: str) -> dict | None:
    """The content of ``<work_dir>/finished.json``, or None when the stage has not finished.
    The paths of a copied or moved run point into its new place (:func:`relocate_finished`)."""
    path = osp.join(work_dir, FINISHED_FILE)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return relocate_finished(json.load(f), work_dir)


def _resolve(path: str, work_dir: str) -> str:
    path = os.path.expanduser(path)
    return path if osp.isabs(path) else osp.join(work_dir, path)


def _not_found(work_dir: str, what: str, command: str | None) -> CheckpointNotFoundError:
    how = (
        f'run `{command}` first'
        if command
        else f'train that stage first (python tools/train.py <its config> --work-dir {work_dir})'
    )
    return CheckpointNotFoundError(
        f'no final checkpoint in {osp.abspath(work_dir)}: {what}. To produce it, {how}.'
    )


def find_final_checkpoint(
    work_dir: str, command: str | None = None, require_finished: bool = False
) -> str:
    """The final checkpoint of the run in ``work_dir``.

    Reads ``finished.json`` (written by ``StageFinishedHook`` when training ended); without it,
    mmengine's ``last_checkpoint`` file (the latest checkpoint, which is the final one when the
    run was not interrupted), unless ``require_finished``.

    Raises:
        CheckpointNotFoundError: nothing found; the message names ``command``, the command that
            produces the checkpoint.
    """
    finished = read_finished(work_dir)
    if finished is not None:
        path = _resolve(str(finished.get('checkpoint', '')), work_dir)
        if not finished.get('checkpoint') or not osp.isfile(path):
            raise _not_found(
                work_dir, f'{FINISHED_FILE} names the checkpoint {path!r}, which does not exist',
                command,
            )  # fmt: skip
        return path
    if require_finished:
        what = f'the run has no {FINISHED_FILE} (it did not finish, or never started)'
        raise _not_found(work_dir, what, command)
    last = osp.join(work_dir, LAST_CHECKPOINT_FILE)
    if osp.isfile(last):
        with open(last) as f:
            path = _resolve(f.read().strip(), work_dir)
        if osp.isfile(path):
            return path
        raise _not_found(work_dir, f'last_checkpoint names {path!r}, which does not exist', command)
    if not osp.isdir(work_dir):
        raise _not_found(work_dir, 'the directory does not exist', command)
    raise _not_found(
        work_dir, f'neither {FINISHED_FILE} nor {LAST_CHECKPOINT_FILE} is there', command
    )


def resolve_checkpoint(spec, what: str = 'checkpoint') -> str | None:
    """A checkpoint given as a file, a run's work directory, or ``dict(work_dir=, command=)``.

    A work directory resolves to its final checkpoint (:func:`find_final_checkpoint`); the
    ``command`` (the one that trains that run) is named in the error when nothing is there.
    ``None`` stays ``None``.
    """
    if spec is None:
        return None
    command = None
    if isinstance(spec, Mapping):
        spec = {k: v for k, v in spec.items() if k != '_delete_'}  # mmengine config marker
        unknown = set(spec) - {'work_dir', 'command'}
        if unknown or 'work_dir' not in spec:
            raise CheckpointNotFoundError(
                f'{what}: give a file, a work directory, or dict(work_dir=..., command=...); '
                f'got {dict(spec)!r}.'
            )
        spec, command = spec['work_dir'], spec.get('command')
    spec = osp.expanduser(str(spec))
    if osp.isfile(spec):
        return spec
    if osp.isdir(spec) or command is not None:
        return find_final_checkpoint(spec, command=command)
    raise CheckpointNotFoundError(
        f'{what} {spec!r} does not exist (neither a file nor a directory).'
    )


__all__ = [
    'FINISHED_FILE',
    'LAST_CHECKPOINT_FILE',
    'SAFE_GLOBALS',
    'CheckpointNotFoundError',
    'UnsafeCheckpointError',
    'allow_checkpoint_globals',
    'find_final_checkpoint',
    'load_checkpoint_safe',
    'load_state_dict',
    'named_by_last_checkpoint',
    'read_finished',
    'read_last_checkpoint',
    'relocate_finished',
    'resolve_checkpoint',
]
