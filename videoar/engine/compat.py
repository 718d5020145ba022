"""The one place where videoar adapts mmengine 0.10.7 to current torch (>= 2.6).

Importing this module (``videoar.engine`` does) applies three fixes, each covered by tests:

1. **Safe checkpoint loading.** torch >= 2.6 loads with ``weights_only=True``, which refuses the
   mmengine objects stored in a checkpoint's ``meta`` (e.g. ``HistoryBuffer``), so ``--resume``
   breaks. We do *not* turn ``weights_only`` off: mmengine's local-file loader is re-registered to
   load with ``weights_only=True`` inside an allowlist of exactly the globals mmengine and numpy
   write (:data:`SAFE_GLOBALS`). A checkpoint holding any other pickled global is refused with
   :class:`UnsafeCheckpointError`, which names the global.
2. **bf16 autocast on CPU.** mmengine's ``AmpOptimWrapper`` asserts a GPU. :class:`PortableAmpOptimWrapper`
   autocasts on CPU and CUDA alike; gradient scaling is only enabled for float16.
3. **gloo DDP without CUDA.** mmengine's launcher calls ``torch.cuda.set_device`` and wraps DDP with
   ``device_ids=[LOCAL_RANK]``. :func:`setup_cpu_distributed` initialises gloo itself (the Runner
   then skips its own init) and :func:`ddp_wrapper_cfg_for_cpu` gives a wrapper config without device ids.
"""

from __future__ import annotations

import collections
import os
import pickle
import re

import numpy as np
import torch
import torch.distributed as dist
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.runner.checkpoint import CheckpointLoader

from videoar.registry import OPTIM_WRAPPERS


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds a pickled object outside videoar's allowlist."""


def _numpy_globals() -> list:
    out = [np.ndarray, np.dtype]
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    out += [_reconstruct, scalar]
    # the concrete dtype classes (numpy.dtypes.Float64DType, ...) pickled with arrays
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        out += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')]
    return out


def _mmengine_globals() -> list:
    from mmengine.config import ConfigDict
    from mmengine.logging.history_buffer import HistoryBuffer

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
    from mmengine.logging.history_buffer import HistoryBuffer

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
            'videoar.engine.compat.allow_checkpoint_globals(<the class>), or re-save only '
            'its tensors (e.g. with safetensors).'
        ) from err


@CheckpointLoader.register_scheme(prefixes='', force=True)
def _load_from_local_safe(filename, map_location):
    """mmengine's local loader, replaced: same behaviour, but weights_only with an allowlist."""
    return load_checkpoint_safe(filename, map_location=map_location)


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
            from torch.distributed.fsdp.sharded_grad_scaler import ShardedGradScaler

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
