"""Small records on disk: content hashes and JSON files that hold tensors and non-finite floats.

:func:`to_jsonable` is the one conversion of run results to plain JSON values: tensors and numpy
values become numbers or lists, tuples and sets become lists, and non-finite floats become the
strings ``"inf"``, ``"-inf"`` and ``"nan"`` (so a PSNR of identical videos keeps the file valid
JSON). :func:`atomic_write_bytes` / :func:`atomic_write_text` write a file through a temporary
file in the same directory (flushed, fsynced, renamed), so a reader sees the old file or the
complete new one; :func:`write_json` writes a record that way; checkpoints and
``last_checkpoint`` are written that way too (``videoar.engine.checkpointing``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import os.path as osp
from collections.abc import Mapping

import torch

_CHUNK = 1 << 24


def file_sha256(path: str, chunk_bytes: int = 1 << 22) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk_bytes), b''):
            digest.update(block)
    return digest.hexdigest()


def state_dict_sha256(state: Mapping[str, torch.Tensor]) -> str:
    """Hex sha256 over the sorted names, dtypes, shapes and bytes of a state dict's tensors.

    Independent of the file format the tensors came from (pickle, safetensors).
    """
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        digest.update(name.encode())
        digest.update(str(tensor.dtype).encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(
            tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b''
        )
    return digest.hexdigest()


def to_jsonable(value):
    """Tensors, numpy values, tuples and non-finite floats -> plain JSON values."""
    if hasattr(value, 'detach'):
        value = value.detach().cpu()
        value = value.item() if value.numel() == 1 else value.tolist()
    elif hasattr(value, 'tolist') and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, float):
        if math.isnan(value):
            return 'nan'
        if math.isinf(value):
            return 'inf' if value > 0 else '-inf'
        return value
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def _write_chunks(f, data: bytes) -> None:
    """Write ``data`` to the open file ``f`` (a seam for the kill-during-save tests)."""
    view = memoryview(data)
    for start in range(0, len(view), _CHUNK):
        f.write(view[start : start + _CHUNK])


def _fsync_dir(directory: str) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a directory be opened
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is either untouched or complete."""
    path = osp.abspath(path)
    directory = osp.dirname(path)
    os.makedirs(directory, exist_ok=True)
    tmp = osp.join(directory, f'.{osp.basename(path)}.tmp-{os.getpid()}')
    try:
        with open(tmp, 'wb') as f:
            _write_chunks(f, data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    _fsync_dir(directory)


def atomic_write_text(path: str, text: str) -> None:
    """:func:`atomic_write_bytes` for text (UTF-8)."""
    atomic_write_bytes(path, text.encode('utf-8'))


def write_json(path: str, record, indent: int = 2) -> str:
    """Write ``to_jsonable(record)`` to ``path`` atomically (:func:`atomic_write_text`)."""
    atomic_write_text(path, json.dumps(to_jsonable(record), indent=indent) + '\n')
    return osp.abspath(path)


def read_json(path: str):
    """The content of a JSON file, or ``None`` when it does not exist."""
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


__all__ = [
    'atomic_write_bytes',
    'atomic_write_text',
    'file_sha256',
    'read_json',
    'state_dict_sha256',
    'to_jsonable',
    'write_json',
]
