"""Crash-safe checkpoints: atomic writes, validation, and choosing what ``--resume`` loads.

* :func:`atomic_save_checkpoint` is mmengine's ``save_checkpoint`` written through
  :func:`videoar.io.records.atomic_write_bytes` (temporary file, fsync, rename) for local
  paths; :mod:`videoar.engine.compat` installs it, so every ``Runner.save_checkpoint`` is atomic.
* :func:`checkpoint_problem` says why a checkpoint file does not load (truncated, corrupt), or
  None; :func:`find_resumable_checkpoint` picks the newest loadable checkpoint of a work dir,
  starting with the one ``last_checkpoint`` names; :func:`prepare_resume` applies that to a
  config before the Runner is built (``--resume`` never hands mmengine a broken or missing file).
"""

from __future__ import annotations

import contextlib
import glob
import io
import os
import os.path as osp
import re
import sys
import zipfile

import torch
from mmengine.runner import checkpoint as mm_checkpoint

from videoar.io.checkpoint import load_checkpoint_safe, named_by_last_checkpoint
from videoar.io.records import atomic_write_bytes, atomic_write_text

#: mmengine's own writer, used for remote (``s3://``, ``pavi://`` ...) destinations.
_MMENGINE_SAVE_CHECKPOINT = mm_checkpoint.save_checkpoint
_TMP_PATTERN = re.compile(r'^\..+\.tmp-\d+$')


class CheckpointLoadError(RuntimeError):
    """A checkpoint chosen for ``--resume`` does not load; the message names the file."""


def atomic_save_checkpoint(checkpoint, filename, file_client_args=None, backend_args=None):
    """mmengine's ``save_checkpoint`` (same signature), atomic for local files."""
    if file_client_args is not None or backend_args is not None or '://' in str(filename):
        return _MMENGINE_SAVE_CHECKPOINT(checkpoint, filename, file_client_args, backend_args)
    with io.BytesIO() as buffer:
        torch.save(checkpoint, buffer)
        atomic_write_bytes(str(filename), buffer.getvalue())


def remove_stale_temporaries(work_dir: str) -> list[str]:
    """Delete the temporary files of writes that were killed (``.<name>.tmp-<pid>``).

    Call it only while holding the work dir's lock (:mod:`videoar.engine.workdir_lock`), when no
    other process writes there. Returns the removed paths.
    """
    removed = []
    for path in glob.glob(osp.join(work_dir, '.*.tmp-*')):
        if _TMP_PATTERN.match(osp.basename(path)) and osp.isfile(path):
            with contextlib.suppress(OSError):
                os.remove(path)
                removed.append(path)
    return removed


def checkpoint_problem(path: str) -> str | None:
    """Why the checkpoint file ``path`` cannot be loaded, or None when it is sound.

    A torch (zip) checkpoint is checked member by member against its CRCs without unpickling;
    anything else is loaded with the safe loader.
    """
    if not osp.isfile(path):
        return 'the file does not exist'
    if osp.getsize(path) == 0:
        return 'the file is empty'
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
            return f'unreadable archive ({err})'
        return None if bad is None else f'corrupt member {bad!r} (CRC mismatch)'
    try:
        load_checkpoint_safe(path, map_location='cpu')
    except Exception as err:  # noqa: BLE001 - any failure means "does not load"
        first = str(err).strip().splitlines()[0] if str(err).strip() else ''
        return f'{type(err).__name__}: {first[:200]} (truncated or not a checkpoint)'
    return None


def _step_of(path: str) -> int:
    match = re.search(r'(\d+)\.pth$', osp.basename(path))
    return int(match.group(1)) if match else -1


def _same_file(a: str, b: str) -> bool:
    try:
        return osp.samefile(a, b)
    except OSError:
        return osp.abspath(a) == osp.abspath(b)


def find_resumable_checkpoint(work_dir: str) -> tuple[str | None, list[tuple[str, str]]]:
    """The newest loadable checkpoint of ``work_dir`` and the ``(path, problem)`` of the ones
    skipped on the way.

    The file ``last_checkpoint`` names comes first, then every ``*.pth`` of the directory,
    newest step first.
    """
    named = named_by_last_checkpoint(work_dir)
    candidates = [] if named is None else [named]
    files = glob.glob(osp.join(work_dir, '*.pth'))
    files.sort(key=lambda p: (_step_of(p), osp.getmtime(p)), reverse=True)
    candidates += [p for p in files if named is None or not _same_file(p, named)]
    skipped = []
    for path in candidates:
        problem = checkpoint_problem(path)
        if problem is None:
            return path, skipped
        skipped.append((path, problem))
    return None, skipped


def _say(message: str) -> None:
    if os.environ.get('RANK', os.environ.get('SLURM_PROCID', '0')) == '0':
        print(f'[videoar] {message}', file=sys.stderr, flush=True)


def prepare_resume(cfg) -> None:
    """Turn ``cfg.resume`` into a checked ``cfg.load_from`` before the Runner is built.

    * ``resume`` with ``load_from``: that file must load, else :class:`CheckpointLoadError`.
    * ``resume`` without ``load_from`` (``--resume``): the newest loadable checkpoint of the
      work dir; each one skipped is reported by name. No checkpoint at all: the run starts fresh
      and says so. Checkpoints that all fail to load: :class:`CheckpointLoadError` (starting
      fresh would overwrite them).
    """
    if not cfg.get('resume'):
        return
    work_dir = cfg.work_dir
    if cfg.get('load_from'):
        problem = checkpoint_problem(cfg.load_from)
        if problem is not None:
            raise CheckpointLoadError(
                f'cannot resume from {cfg.load_from!r}: {problem}. Give another checkpoint, or '
                f'--resume without a path to use the newest loadable one in {work_dir}.'
            )
        return
    path, skipped = find_resumable_checkpoint(work_dir)
    for bad, problem in skipped:
        _say(f'WARNING: checkpoint {bad} does not load ({problem}); skipping it.')
    if path is None and skipped:
        raise CheckpointLoadError(
            f'--resume: none of the {len(skipped)} checkpoint(s) in {work_dir} loads (see above). '
            'Move them away to start fresh, or resume from a copy with --resume <file>.'
        )
    if path is None:
        _say(f'--resume: no checkpoint in {work_dir} yet; starting fresh.')
        cfg.resume = False
        return
    _say(f'--resume: resuming from {path}.')
    cfg.load_from = path


__all__ = [
    'CheckpointLoadError',
    'atomic_save_checkpoint',
    'atomic_write_bytes',
    'atomic_write_text',
    'checkpoint_problem',
    'find_resumable_checkpoint',
    'prepare_resume',
    'remove_stale_temporaries',
]
