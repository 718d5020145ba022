"""Sharded checkpoints with ``torch.distributed.checkpoint`` (DCP).

A checkpoint of an FSDP2 run is two things side by side in the work dir:

* ``iter_<N>.dcp/``: the DCP directory, written by every rank (each its own shards of the
  weights and of the AdamW state, FQN-keyed through ``get_state_dict``), with DCP's
  ``.metadata`` written last;
* ``iter_<N>.pth``: mmengine's usual checkpoint (meta, message hub, schedulers, random state of
  ``ExactResumeHook``), written by rank 0 *after* the directory is complete, with an empty
  ``state_dict`` and ``meta['sharded_checkpoint']`` naming the directory.

So a ``.pth`` that exists (it is written atomically) always names a complete directory, and the
existing ``--resume`` choice of checkpoint (``videoar/engine/checkpointing.py``) applies as is.

DCP reshards on load, so a run resumes at any world size whose mesh divides the tensors, and at
world size 1 without FSDP. Optimizer state is loaded into the state ``get_state_dict`` creates,
so the AdamW ``step`` counts come back (not re-initialised to zero).
:func:`consolidate_checkpoint` turns the pair into one ordinary ``.pth`` (full ``state_dict``) that
``tools/test.py`` and ``tools/generate.py`` load.
"""

from __future__ import annotations

import os
import os.path as osp
import tempfile

import torch
import torch.distributed.checkpoint as dcp
from torch import nn
from torch.distributed.checkpoint.format_utils import dcp_to_torch_save
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)

from videoar.io.checkpoint import load_checkpoint_safe

from ..checkpointing import atomic_save_checkpoint

#: ``checkpoint['meta'][SHARDED_KEY]`` of a ``.pth`` whose weights are in a DCP directory.
SHARDED_KEY = 'sharded_checkpoint'
MODEL_KEY = 'model'
OPTIMIZER_KEY = 'optimizer'


def sharded_dir(checkpoint_path: str) -> str:
    """``work_dir/iter_8.pth`` -> ``work_dir/iter_8.dcp``."""
    stem, _ = osp.splitext(str(checkpoint_path))
    return stem + '.dcp'


def sharded_pointer(checkpoint: dict) -> dict | None:
    """The ``meta['sharded_checkpoint']`` entry of a loaded checkpoint, or None."""
    return (checkpoint.get('meta') or {}).get(SHARDED_KEY)


def pointer_directory(checkpoint_path: str, pointer: dict) -> str:
    """The DCP directory a pointer names, relative to the ``.pth`` that holds it."""
    directory = osp.join(osp.dirname(osp.abspath(checkpoint_path)), pointer['directory'])
    if not osp.isfile(osp.join(directory, '.metadata')):
        raise FileNotFoundError(
            f'{checkpoint_path} names the sharded checkpoint {directory}, which is missing or '
            'incomplete (no .metadata). Resume from another checkpoint of the work dir.'
        )
    return directory


def save_sharded(model: nn.Module, optimizer, directory: str) -> dict:
    """Write ``model`` (and ``optimizer``) shards into ``directory``; call it on every rank.

    Returns the pointer to store in ``meta['sharded_checkpoint']``.
    """
    state = {MODEL_KEY: get_model_state_dict(model)}
    if optimizer is not None:
        state[OPTIMIZER_KEY] = get_optimizer_state_dict(model, optimizer)
    dcp.save(state, storage_writer=dcp.FileSystemWriter(directory, overwrite=True))
    world = torch.distributed.get_world_size() if torch.distributed.is_initialized() else 1
    return dict(
        directory=osp.basename(directory),
        format='torch.distributed.checkpoint',
        world_size=world,
        has_optimizer=optimizer is not None,
    )


def load_sharded(model: nn.Module, optimizer, directory: str, strict: bool = True) -> None:
    """Load the model (``optimizer=None``) or the optimizer state from ``directory``; every rank.

    The optimizer's state is created first (``get_optimizer_state_dict`` initialises it), then
    filled from the checkpoint, so scalar entries such as AdamW's ``step`` are restored.
    """
    if optimizer is None:
        state = {MODEL_KEY: get_model_state_dict(model)}
        dcp.load(state, checkpoint_id=directory)
        set_model_state_dict(model, state[MODEL_KEY], options=StateDictOptions(strict=strict))
        return
    state = {OPTIMIZER_KEY: get_optimizer_state_dict(model, optimizer)}
    dcp.load(state, checkpoint_id=directory)
    set_optimizer_state_dict(model, optimizer, state[OPTIMIZER_KEY])


def load_full_model_state(model: nn.Module, state_dict: dict, strict: bool = False) -> None:
    """Load an ordinary (full, unsharded) state dict into a sharded or plain ``model``."""
    state_dict = {k.removeprefix('module.'): v for k, v in state_dict.items()}
    set_model_state_dict(
        model, state_dict, options=StateDictOptions(full_state_dict=True, strict=strict)
    )


def read_sharded_checkpoint(directory: str) -> dict:
    """The whole content of a DCP directory as ``{'model': {...}, 'optimizer': {...}}`` of
    full tensors, read in this process (no process group needed)."""
    handle, tmp = tempfile.mkstemp(suffix='.pt', dir=osp.dirname(osp.abspath(directory)))
    os.close(handle)
    try:
        dcp_to_torch_save(directory, tmp)
        return torch.load(tmp, map_location='cpu', weights_only=True)
    finally:
        os.remove(tmp)


def consolidate_checkpoint(checkpoint_path: str, out_path: str, keep_optimizer: bool = False):
    """Write ``out_path``: the checkpoint at ``checkpoint_path`` with its sharded weights
    gathered into one ordinary ``state_dict``. Returns the number of weight tensors.

    The optimizer state is dropped unless ``keep_optimizer`` (then it is the FQN-keyed state of
    ``get_optimizer_state_dict``, under ``checkpoint['sharded_optimizer']``).
    """
    checkpoint = load_checkpoint_safe(checkpoint_path, map_location='cpu')
    pointer = sharded_pointer(checkpoint)
    if pointer is None:
        raise ValueError(
            f'{checkpoint_path} is not a sharded checkpoint (no meta[{SHARDED_KEY!r}]); it '
            'already holds its full state_dict and loads as it is.'
        )
    content = read_sharded_checkpoint(pointer_directory(checkpoint_path, pointer))
    checkpoint['state_dict'] = content[MODEL_KEY]
    checkpoint.pop('optimizer', None)
    if keep_optimizer and OPTIMIZER_KEY in content:
        checkpoint['sharded_optimizer'] = content[OPTIMIZER_KEY]
    meta = dict(checkpoint['meta'])
    meta['consolidated_from'] = dict(
        meta.pop(SHARDED_KEY), checkpoint=osp.basename(checkpoint_path)
    )
    checkpoint['meta'] = meta
    atomic_save_checkpoint(checkpoint, out_path)
    return len(checkpoint['state_dict'])


__all__ = [
    'SHARDED_KEY',
    'consolidate_checkpoint',
    'load_full_model_state',
    'load_sharded',
    'pointer_directory',
    'read_sharded_checkpoint',
    'save_sharded',
    'sharded_dir',
    'sharded_pointer',
]
