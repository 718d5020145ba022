"""Activation checkpointing (``ARTransformer(grad_checkpointing=True)``, ``use_reentrant=False``)
gives the same gradients as without it, under DDP and under FSDP2 (gloo, 2 CPU processes); and
FSDP2's reduced gradients equal DDP's.

The test runs this file with torchrun; ``main`` is the per-rank worker."""

import os
import sys

import pytest
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from videoar.engine.fsdp import shard_model
from videoar.models.transformers import ARTransformer


def _gradients(wrap: str, checkpointing: bool) -> dict:
    torch.manual_seed(0)
    model = ARTransformer(dim=32, depth=2, num_heads=2, qk_norm=True,
                          grad_checkpointing=checkpointing)  # fmt: skip
    model.train()
    if wrap == 'ddp':
        wrapped = DistributedDataParallel(model)
    else:
        wrapped = shard_model(model, group_modules=())
    torch.manual_seed(1 + dist.get_rank())  # each rank its own batch
    tokens = torch.randn(2, 6, 32)
    causal = torch.ones(6, 6, dtype=torch.bool).tril()[None]
    wrapped(tokens, attn_mask=causal).pow(2).mean().backward()
    grads = {}
    for name, param in model.named_parameters():
        grad = param.grad
        grads[name] = grad.full_tensor() if hasattr(grad, 'full_tensor') else grad
    return grads


def main() -> None:
    dist.init_process_group('gloo')
    results = {(w, c): _gradients(w, c) for w in ('ddp', 'fsdp2') for c in (False, True)}
    reference = results[('ddp', False)]
    for key, grads in results.items():
        assert grads.keys() == reference.keys(), key
        for name, grad in grads.items():
            torch.testing.assert_close(grad, reference[name], atol=1e-6, rtol=1e-5,
                                       msg=f'{key} {name}')  # fmt: skip
    dist.barrier()
    if dist.get_rank() == 0:
        print('SAME GRADIENTS', len(reference))
    dist.destroy_process_group()


@pytest.mark.dist
def test_checkpointing_keeps_gradients_under_ddp_and_fsdp2(run_tool):
    proc = run_tool('-m', 'torch.distributed.run', '--nproc-per-node', '2', '--master-port',
                    '29543', os.path.abspath(__file__), check=True)  # fmt: skip
    assert 'SAME GRADIENTS' in proc.stdout


if __name__ == '__main__':
    sys.exit(main())
