"""Small helpers on ``nn.Module`` state shared by every layer: freezing and temporary modes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from mmengine.model import is_model_wrapper
from torch import nn


def freeze(module: nn.Module) -> nn.Module:
    """Put ``module`` in eval mode and stop gradients to its parameters; returns it."""
    module.eval()
    module.requires_grad_(False)
    return module


@contextlib.contextmanager
def eval_mode(*modules: nn.Module) -> Iterator[None]:
    """Run the ``with`` block with every module in eval mode, then restore each module's mode.

    Only the top-level flag of each module is remembered (``train(mode)`` restores its
    children); a module that keeps parts frozen overrides ``train`` to do so.
    """
    modes = [module.training for module in modules]
    for module in modules:
        module.eval()
    try:
        yield
    finally:
        for module, mode in zip(modules, modes):
            module.train(mode)


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside a DDP / mmengine model wrapper (the model itself when not wrapped)."""
    return model.module if is_model_wrapper(model) else model


__all__ = ['eval_mode', 'freeze', 'unwrap']
