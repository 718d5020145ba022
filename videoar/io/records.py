"""Small records on disk: content hashes and JSON files that hold tensors and non-finite floats.

:func:`to_jsonable` is the one conversion of run results to plain JSON values: tensors and numpy
values become numbers or lists, tuples and sets become lists, and non-finite floats become the
strings ``"inf"``, ``"-inf"`` and ``"nan"`` (so a PSNR of identical videos keeps the file valid
JSON). :func:`write_json` writes such a record atomically (a partial file is never left behind).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import os.path as osp
from collections.abc import Mapping

import torch


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


def write_json(path: str, record, indent: int = 2) -> str:
    """Write ``to_jsonable(record)`` to ``path`` atomically (temporary file, then rename)."""
    path = osp.abspath(path)
    os.makedirs(osp.dirname(path), exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        json.dump(to_jsonable(record), f, indent=indent)
        f.write('\n')
    os.replace(tmp, path)
    return path


def read_json(path: str):
    """The content of a JSON file, or ``None`` when it does not exist."""
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


__all__ = ['file_sha256', 'read_json', 'state_dict_sha256', 'to_jsonable', 'write_json']
