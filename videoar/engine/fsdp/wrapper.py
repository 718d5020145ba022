"""FSDP2 (``torch.distributed.fsdp.fully_shard``) as an mmengine model wrapper.

:class:`FSDP2ModelWrapper` is registered in ``MODEL_WRAPPERS``; mmengine's ``Runner.wrap_model``
builds it from ``model_wrapper_cfg`` when the run is distributed (see
``configs/_base_/strategies/fsdp2.py``). It shards, in this order:

1. every module whose class name is in ``block_types`` (the transformer blocks), each one its own
   FSDP unit, with the mixed-precision policy (bf16 parameters and compute, fp32 gradient
   reduction by default);
2. every module named in ``group_modules`` (default: ``transformer``, whose own parameters are the
   final norm), with the same policy and ``output_dtype=float32`` so the rest of the model gets
   fp32 hidden states;
3. the root, whose parameters (embeddings, head, conditioner) stay fp32.

Frozen parameters (``requires_grad=False``: the tokenizer and the quantizer) are never sharded
(``ignored_params``): each rank keeps its full frozen copy, and no gradient is reduced for them.

The wrapper is thin: ``train_step``/``val_step``/``test_step`` call the model's own, so the
forward goes through the sharded root (whose hooks gather the parameters).
"""

from __future__ import annotations

import contextlib

import torch
import torch.distributed as dist
from mmengine.device import get_device
from torch import nn
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import (
    CPUOffloadPolicy,
    MixedPrecisionPolicy,
    OffloadPolicy,
    fully_shard,
)

from videoar.registry import MODEL_WRAPPERS
from videoar.utils import ConfigError

DTYPES = {'float32': torch.float32, 'bfloat16': torch.bfloat16, 'float16': torch.float16}


def mixed_precision_policy(
    mixed_precision: dict | None, output_dtype: torch.dtype | None = None
) -> MixedPrecisionPolicy:
    """``dict(param_dtype='bfloat16', reduce_dtype='float32')`` -> ``MixedPrecisionPolicy``;
    ``None`` -> full fp32."""
    if not mixed_precision:
        return MixedPrecisionPolicy()
    unknown = set(mixed_precision) - {'param_dtype', 'reduce_dtype'}
    if unknown:
        raise ConfigError(
            f'FSDP2ModelWrapper.mixed_precision: unknown key(s) {sorted(unknown)}; use '
            "dict(param_dtype='bfloat16', reduce_dtype='float32')."
        )
    dtypes = {}
    for key in ('param_dtype', 'reduce_dtype'):
        name = mixed_precision.get(key)
        if name is not None and name not in DTYPES:
            raise ConfigError(
                f'FSDP2ModelWrapper.mixed_precision.{key}={name!r}: use one of {sorted(DTYPES)}.'
            )
        dtypes[key] = DTYPES[name] if name else None
    return MixedPrecisionPolicy(output_dtype=output_dtype, **dtypes)


def find_modules(model: nn.Module, block_types, group_modules) -> tuple[list, list]:
    """The ``(blocks, groups)`` to shard: modules whose class name is in ``block_types`` and the
    named submodules ``group_modules`` (missing names are an error)."""
    names = set(block_types)
    blocks = [m for m in model.modules() if type(m).__name__ in names]
    if not blocks:
        raise ConfigError(
            f'FSDP2ModelWrapper: no module of the classes {sorted(names)} in '
            f'{type(model).__name__}; set model_wrapper_cfg.block_types to the class name of '
            'the transformer blocks.'
        )
    groups = []
    for name in group_modules:
        try:
            groups.append(model.get_submodule(name))
        except AttributeError as err:
            raise ConfigError(
                f'FSDP2ModelWrapper.group_modules: {type(model).__name__} has no submodule '
                f'{name!r}.'
            ) from err
    return blocks, groups


def shard_model(
    model: nn.Module,
    mesh=None,
    block_types=('TransformerBlock',),
    group_modules=('transformer',),
    mixed_precision: dict | None = None,
    cpu_offload: bool = False,
    reshard_after_forward: bool = True,
) -> nn.Module:
    """Apply ``fully_shard`` to the blocks, the groups, then the root of ``model`` (in place)."""
    if mesh is None:
        mesh = init_device_mesh(get_device(), (dist.get_world_size(),))
    frozen = {p for p in model.parameters() if not p.requires_grad}
    offload = CPUOffloadPolicy() if cpu_offload else OffloadPolicy()
    inner = mixed_precision_policy(mixed_precision)
    outer = mixed_precision_policy(mixed_precision, torch.float32 if mixed_precision else None)
    common = dict(mesh=mesh, offload_policy=offload, reshard_after_forward=reshard_after_forward)
    blocks, groups = find_modules(model, block_types, group_modules)
    for block in blocks:
        fully_shard(block, mp_policy=inner, ignored_params=frozen or None, **common)
    for group in groups:
        fully_shard(group, mp_policy=outer, ignored_params=frozen or None, **common)
    fully_shard(model, ignored_params=frozen or None, **common)
    return model


def broadcast_module_states(module: nn.Module, src: int = 0) -> None:
    """Give every rank rank ``src``'s parameters and buffers (as DDP does when it wraps)."""
    with torch.no_grad():
        for tensor in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(tensor.data, src=src)


@MODEL_WRAPPERS.register_module()
class FSDP2ModelWrapper(nn.Module):
    """Shards ``module`` with FSDP2 (see the module docstring) and forwards the mmengine steps.

    Args:
        module: the model (an mmengine ``BaseModel``), on CPU or its device.
        block_types: class names of the modules sharded one by one (the transformer blocks).
        group_modules: names of submodules sharded as one unit each after the blocks.
        mixed_precision: ``dict(param_dtype=, reduce_dtype=)`` for the blocks and groups
            (``'bfloat16'``, ``'float16'``, ``'float32'``); ``None`` keeps fp32.
        cpu_offload: keep the sharded parameters, gradients and optimizer state in CPU memory.
        reshard_after_forward: free the gathered parameters after each forward (ZeRO-3);
            False keeps them until the backward (ZeRO-2 like, more memory, less communication).
        compile_blocks: ``torch.compile`` each block (off by default; not useful on CPU).
    """

    def __init__(
        self,
        module: nn.Module,
        block_types=('TransformerBlock',),
        group_modules=('transformer',),
        mixed_precision: dict | None = None,
        cpu_offload: bool = False,
        reshard_after_forward: bool = True,
        compile_blocks: bool = False,
    ) -> None:
        super().__init__()
        if not (dist.is_available() and dist.is_initialized()):
            raise RuntimeError(
                'FSDP2ModelWrapper needs an initialised process group: launch with torchrun '
                '(tools/dist_train.sh) and --launcher pytorch, or slurm with --launcher slurm.'
            )
        if not cpu_offload:
            module = module.to(get_device())
        broadcast_module_states(module)
        if compile_blocks:
            for block in find_modules(module, block_types, ())[0]:
                block.compile()
        self.module = shard_model(
            module,
            block_types=tuple(block_types),
            group_modules=tuple(group_modules),
            mixed_precision=mixed_precision,
            cpu_offload=cpu_offload,
            reshard_after_forward=reshard_after_forward,
        )

    def train_step(self, data, optim_wrapper):
        return self.module.train_step(data, optim_wrapper)

    def val_step(self, data):
        return self.module.val_step(data)

    def test_step(self, data):
        return self.module.test_step(data)

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Accumulate gradients without reducing them (``OptimWrapper`` accumulation)."""
        self.module.set_requires_gradient_sync(False)
        try:
            yield
        finally:
            self.module.set_requires_gradient_sync(True)


__all__ = ['FSDP2ModelWrapper', 'find_modules', 'mixed_precision_policy', 'shard_model']
