"""``FSDP2Runner``: mmengine's ``Runner`` with sharded (DCP) checkpoints.

Selected by ``runner_type='FSDP2Runner'`` (``configs/_base_/strategies/fsdp2.py``), together with
``model_wrapper_cfg=dict(type='FSDP2ModelWrapper', ...)``. Everything else is the plain Runner:
the loops, hooks, ``--resume`` choice of checkpoint, exact resume and preemption work unchanged.
Only three methods differ:

* :meth:`save_checkpoint` runs on every rank: all ranks write the DCP directory
  (:func:`~videoar.engine.fsdp.dcp_checkpoint.save_sharded`), then rank 0 writes the ``.pth``
  (mmengine's own method) with an empty ``state_dict`` and a pointer in ``meta``;
* :meth:`load_checkpoint` loads the weights from the DCP directory a ``.pth`` names, or a full
  ``state_dict`` (a single-process or consolidated checkpoint) into the sharded model;
* :meth:`resume` also loads the optimizer state (step counts included) from the DCP directory.

Without a process group (``--launcher none``) the model is not wrapped, and the run still
reads and writes DCP checkpoints: a 2-rank checkpoint resumes on one process and vice versa.
"""

from __future__ import annotations

import contextlib
import os
import os.path as osp
import shutil
from collections import OrderedDict

import torch.distributed as dist
from mmengine.dist import get_world_size, is_main_process
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint

from videoar.registry import RUNNERS
from videoar.utils import ConfigError

from .dcp_checkpoint import (
    SHARDED_KEY,
    load_full_model_state,
    load_sharded,
    pointer_directory,
    save_sharded,
    sharded_dir,
    sharded_pointer,
)
from .wrapper import FSDP2ModelWrapper

UNSUPPORTED_HOOKS = ('EMAHook',)


@contextlib.contextmanager
def stubbed_state_dicts(model, optim_wrapper):
    """While mmengine writes the ``.pth``: the model's ``state_dict()`` is empty and the
    optimizer wrapper's holds only the loss-scaler state (the tensors are in the DCP dir)."""
    extras = {}
    scaler = getattr(optim_wrapper, 'loss_scaler', None)
    if scaler is not None:
        extras['loss_scaler'] = scaler.state_dict()
    model.state_dict = lambda *args, **kwargs: OrderedDict()
    optim_wrapper.state_dict = lambda: dict(extras, sharded=True)
    try:
        yield
    finally:
        del model.state_dict
        del optim_wrapper.state_dict


def remove_orphan_directories(out_dir: str, keep: str) -> None:
    """Delete ``*.dcp`` directories whose ``.pth`` was rotated out (``max_keep_ckpts``)."""
    for name in sorted(os.listdir(out_dir)) if osp.isdir(out_dir) else []:
        path = osp.join(out_dir, name)
        if name.endswith('.dcp') and osp.isdir(path) and path != keep:
            if not osp.isfile(path[: -len('.dcp')] + '.pth'):
                shutil.rmtree(path, ignore_errors=True)


@RUNNERS.register_module()
class FSDP2Runner(Runner):
    """mmengine ``Runner`` whose checkpoints are sharded with DCP (see the module docstring)."""

    def __init__(self, *args, **kwargs) -> None:
        hooks = [h.get('type') for h in (kwargs.get('custom_hooks') or []) if isinstance(h, dict)]
        for name in UNSUPPORTED_HOOKS:
            if name in hooks:
                raise ConfigError(
                    f'{name} is not supported with FSDP2Runner yet (it keeps a full copy of the '
                    'sharded model); remove it from custom_hooks, or train with DDP.'
                )
        super().__init__(*args, **kwargs)
        self._loaded_checkpoint: tuple[str, dict] | None = None

    def wrap_model(self, model_wrapper_cfg, model):
        """Initialise the weights *before* FSDP2 shards them (mmengine initialises after
        wrapping, then broadcasts every tensor, which DTensors do not support); the wrapper
        then broadcasts rank 0's weights."""
        if self.distributed and hasattr(model, 'init_weights'):
            model.init_weights()
        return super().wrap_model(model_wrapper_cfg, model)

    def _init_model_weights(self) -> None:
        if not self.is_sharded:
            super()._init_model_weights()

    @property
    def plain_model(self):
        """The model inside the wrapper (sharded in place by FSDP2, or plain)."""
        return self.model.module if is_model_wrapper(self.model) else self.model

    @property
    def is_sharded(self) -> bool:
        return isinstance(self.model, FSDP2ModelWrapper)

    def save_checkpoint(
        self,
        out_dir: str,
        filename: str,
        file_client_args=None,
        save_optimizer: bool = True,
        save_param_scheduler: bool = True,
        meta: dict | None = None,
        by_epoch: bool = True,
        backend_args=None,
    ):
        """Every rank writes its shards; rank 0 then writes ``filename`` (see the module doc)."""
        if '://' in str(out_dir) or file_client_args or backend_args:
            raise ConfigError('FSDP2Runner writes sharded checkpoints to local paths only.')
        directory = sharded_dir(osp.join(out_dir, filename))
        optimizer = None
        if save_optimizer and isinstance(self.optim_wrapper, OptimWrapper):
            optimizer = self.optim_wrapper.optimizer
        meta = dict(meta or {})
        meta[SHARDED_KEY] = save_sharded(self.plain_model, optimizer, directory)
        if is_main_process():
            with stubbed_state_dicts(self.plain_model, self.optim_wrapper):
                super().save_checkpoint(
                    out_dir,
                    filename,
                    save_optimizer=save_optimizer,
                    save_param_scheduler=save_param_scheduler,
                    meta=meta,
                    by_epoch=by_epoch,
                )
            remove_orphan_directories(out_dir, keep=directory)
        if get_world_size() > 1:
            dist.barrier()

    def load_checkpoint(
        self, filename: str, map_location='cpu', strict: bool = False, revise_keys=None
    ):
        """Load the weights of ``filename``: from the DCP directory it names, or its full
        ``state_dict`` (into the sharded model when the run is sharded)."""
        checkpoint = _load_checkpoint(filename, map_location='cpu')
        pointer = sharded_pointer(checkpoint)
        if pointer is None and not self.is_sharded:
            revise = revise_keys if revise_keys is not None else [(r'^module.', '')]
            return super().load_checkpoint(filename, map_location, strict, revise)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        if pointer is None:
            load_full_model_state(self.plain_model, checkpoint['state_dict'], strict=strict)
        else:
            directory = pointer_directory(filename, pointer)
            load_sharded(self.plain_model, None, directory, strict=strict)
        self._loaded_checkpoint = (filename, checkpoint)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def resume(
        self,
        filename: str,
        resume_optimizer: bool = True,
        resume_param_scheduler: bool = True,
        map_location='default',
    ) -> None:
        """mmengine's resume; the optimizer state of a sharded checkpoint comes from DCP."""
        self._loaded_checkpoint = None
        checkpoint = _load_checkpoint(filename, map_location='cpu')
        if sharded_pointer(checkpoint) is None and not self.is_sharded:
            return super().resume(filename, resume_optimizer, resume_param_scheduler, map_location)
        super().resume(filename, False, resume_param_scheduler, map_location)
        path, checkpoint = self._loaded_checkpoint
        pointer = sharded_pointer(checkpoint)
        if not resume_optimizer:
            return
        if pointer is None or not pointer.get('has_optimizer', True):
            self.logger.warning(
                f'{path} holds no sharded optimizer state; the optimizer starts fresh.'
            )
            return
        self.optim_wrapper = self.build_optim_wrapper(self.optim_wrapper)
        load_sharded(
            self.plain_model, self.optim_wrapper.optimizer, pointer_directory(path, pointer)
        )
        scaler_state = (checkpoint.get('optimizer') or {}).get('loss_scaler')
        scaler = getattr(self.optim_wrapper, 'loss_scaler', None)
        if scaler is not None and scaler_state:
            scaler.load_state_dict(scaler_state)
        self.logger.info(
            f'resumed the sharded optimizer state of {path} (saved by {pointer["world_size"]} '
            f'rank(s), loaded by {get_world_size()}).'
        )


__all__ = ['FSDP2Runner', 'remove_orphan_directories', 'stubbed_state_dicts']
