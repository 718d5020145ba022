"""The one place where videoar adapts mmengine 0.10.7 to current torch (>= 2.6).

Importing this module (``videoar.engine`` does) applies four fixes, each covered by tests:

1. **Safe checkpoint loading.** torch >= 2.6 loads with ``weights_only=True``, which refuses the
   mmengine objects stored in a checkpoint's ``meta`` (e.g. ``HistoryBuffer``), so ``--resume``
   breaks. We do *not* turn ``weights_only`` off: mmengine's local-file loader is re-registered to
   load through :func:`videoar.io.checkpoint.load_checkpoint_safe`, ``weights_only=True`` inside
   an allowlist of exactly the globals mmengine and numpy write. A checkpoint holding any other
   pickled global is refused with ``UnsafeCheckpointError``, which names the global.
2. **bf16 autocast on CPU.** mmengine's ``AmpOptimWrapper`` asserts a GPU. :class:`PortableAmpOptimWrapper`
   autocasts on CPU and CUDA alike; gradient scaling is only enabled for float16.
3. **gloo DDP without CUDA.** mmengine's launcher calls ``torch.cuda.set_device`` and wraps DDP with
   ``device_ids=[LOCAL_RANK]``. :func:`setup_cpu_distributed` initialises gloo itself (the Runner
   then skips its own init) and :func:`ddp_wrapper_cfg_for_cpu` gives a wrapper config without device ids.
4. **Atomic checkpoint writes.** mmengine writes a checkpoint in place, so a kill during the save
   leaves a truncated file under the final name. ``Runner.save_checkpoint`` (used by every
   checkpoint writer: ``CheckpointHook``, ``PreemptionHook``, ``StageFinishedHook``, plugins)
   now writes local files through :func:`videoar.engine.checkpointing.atomic_save_checkpoint`
   (temporary file, fsync, rename). This must be global: a hook-level fix would miss the other
   writers. A checkpoint that does not load is reported with its file name.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.runner import checkpoint as mm_checkpoint
from mmengine.runner import runner as mm_runner
from mmengine.runner.checkpoint import CheckpointLoader
from torch.distributed.fsdp.sharded_grad_scaler import ShardedGradScaler

from videoar.io.checkpoint import (
    SAFE_GLOBALS,
    UnsafeCheckpointError,
    allow_checkpoint_globals,
    load_checkpoint_safe,
)
from videoar.registry import OPTIM_WRAPPERS

from .checkpointing import atomic_save_checkpoint


@CheckpointLoader.register_scheme(prefixes='', force=True)
def _load_from_local_safe(filename, map_location):
    """mmengine's local loader, replaced: same behaviour, but weights_only with an allowlist,
    and a file that does not load (e.g. truncated by a kill) is named in the error."""
    try:
        return load_checkpoint_safe(filename, map_location=map_location)
    except RuntimeError as err:
        raise RuntimeError(
            f'cannot load checkpoint {filename!r} ({err}); it is probably truncated (a run '
            'killed while saving). Resume with --resume (no path) to use the newest loadable '
            'checkpoint of the work dir, or name another file.'
        ) from err


# Every checkpoint mmengine's Runner writes goes through this name (fix 4).
mm_runner.save_checkpoint = atomic_save_checkpoint
mm_checkpoint.save_checkpoint = atomic_save_checkpoint


@OPTIM_WRAPPERS.register_module()
class PortableAmpOptimWrapper(AmpOptimWrapper):
    """``AmpOptimWrapper`` that also runs on CPU (bf16 autocast) and uses ``torch.amp``.

    Args:
        dtype: 'bfloat16' (default) or 'float16'. Loss scaling is enabled only for float16.
        loss_scale: as in mmengine ('dynamic', a float, or a dict of GradScaler arguments).
        device_type: 'cpu' or 'cuda'; default: 'cuda' when available, else 'cpu'.
    """

    def __init__(
        self,
        loss_scale='dynamic',
        dtype='bfloat16',
        use_fsdp: bool = False,
        device_type: str | None = None,
        **kwargs,
    ) -> None:
        OptimWrapper.__init__(self, **kwargs)  # skip the GPU-only assert of AmpOptimWrapper
        if isinstance(dtype, str):
            if dtype not in self.valid_dtypes:
                raise ValueError(f'dtype must be one of {self.valid_dtypes}, got {dtype!r}')
            dtype = getattr(torch, dtype)
        self.cast_dtype = dtype
        self.device_type = device_type or ('cuda' if torch.cuda.is_available() else 'cpu')
        self._scale_update_param = None
        enabled = dtype == torch.float16
        scaler_kwargs: dict = {}
        if isinstance(loss_scale, float):
            self._scale_update_param = loss_scale
            scaler_kwargs['init_scale'] = loss_scale
        elif isinstance(loss_scale, dict):
            scaler_kwargs.update(loss_scale)
        elif loss_scale != 'dynamic':
            raise TypeError(f'loss_scale must be "dynamic", a float or a dict, got {loss_scale!r}')
        if use_fsdp:
            self.loss_scaler = ShardedGradScaler(enabled=enabled, **scaler_kwargs)
        else:
            self.loss_scaler = torch.amp.GradScaler(
                self.device_type, enabled=enabled, **scaler_kwargs
            )

    def load_state_dict(self, state_dict: dict) -> None:
        # A disabled scaler (bf16) saves an empty state, which GradScaler refuses to load.
        if not state_dict.get('loss_scaler'):
            state_dict.pop('loss_scaler', None)
        super().load_state_dict(state_dict)


def setup_cpu_distributed(launcher: str, backend: str = 'gloo') -> bool:
    """Initialise a gloo process group for ``--launcher pytorch|slurm`` on a machine without CUDA.

    mmengine's ``init_dist`` calls ``torch.cuda.set_device``, which fails without CUDA; the Runner
    skips its own initialisation when a process group exists. Returns True if it initialised.
    """
    if launcher == 'none' or torch.cuda.is_available() or not dist.is_available():
        return False
    if dist.is_initialized():
        return False
    if launcher == 'slurm':
        os.environ.setdefault('RANK', os.environ.get('SLURM_PROCID', '0'))
        os.environ.setdefault('WORLD_SIZE', os.environ.get('SLURM_NTASKS', '1'))
        os.environ.setdefault('LOCAL_RANK', os.environ.get('SLURM_LOCALID', '0'))
        os.environ.setdefault('MASTER_PORT', '29500')
        if 'MASTER_ADDR' not in os.environ:
            nodes = os.environ.get('SLURM_NODELIST', '127.0.0.1')
            os.environ['MASTER_ADDR'] = nodes.split(',')[0].split('[')[0]
    dist.init_process_group(backend=backend)
    return True


def ddp_wrapper_cfg_for_cpu(model_wrapper_cfg: dict | None) -> dict:
    """A DDP wrapper config without ``device_ids`` (required for CPU modules)."""
    cfg = dict(model_wrapper_cfg or {})
    cfg.setdefault('type', 'MMDistributedDataParallel')
    cfg['device_ids'] = None
    cfg.setdefault('broadcast_buffers', False)
    return cfg


__all__ = [
    'SAFE_GLOBALS',
    'PortableAmpOptimWrapper',
    'UnsafeCheckpointError',
    'allow_checkpoint_globals',
    'ddp_wrapper_cfg_for_cpu',
    'load_checkpoint_safe',
    'setup_cpu_distributed',
]
