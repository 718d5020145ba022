"""Finiteness checks for training: skip optimizer steps whose loss or gradients are not finite.

:class:`FiniteStepGuard` is installed on a built optimizer wrapper (mmengine's ``OptimWrapper``,
:class:`videoar.engine.compat.PortableAmpOptimWrapper`, or each wrapper of an
``OptimWrapperDict``) by :class:`videoar.engine.hooks.FiniteGuardHook`. mmengine's
``OptimWrapper.update_params(loss)`` runs ``backward(loss)`` and then, when an update is due,
``step()`` (which clips gradients when ``clip_grad`` is set) and ``zero_grad()``. The guard wraps
``backward`` to remember whether the loss was finite and ``step`` to check, before any clipping
or optimizer update, that the loss and the total gradient norm are finite. A bad step is not
taken: parameters and optimizer state stay as they were and the gradients are zeroed. One host
synchronisation per optimizer step reads both flags (all-reduced over ranks, so every rank makes
the same decision).

With float16 loss scaling (``PortableAmpOptimWrapper(dtype='float16')``) inf/NaN gradients are
normal while the scale is found, and ``GradScaler`` already skips those steps; the guard then
checks the loss only.

The module also has the checks the hook runs before a checkpoint is written:
:func:`first_nonfinite` over named tensors and :func:`optimizer_state_tensors`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import torch
import torch.distributed as dist
from mmengine.optim import OptimWrapper, OptimWrapperDict


class NonFiniteTrainingError(RuntimeError):
    """Training stopped: too many consecutive optimizer steps had a non-finite loss or gradient."""


class NonFiniteCheckpointError(RuntimeError):
    """A checkpoint was not written because trainable weights or optimizer state are not finite."""


class FiniteStepGuard:
    """Skips the optimizer steps of one ``OptimWrapper`` whose loss or gradient norm is not finite.

    Use :meth:`install` (idempotent) and :meth:`uninstall`. :meth:`drain` returns, and forgets,
    what happened since its last call: the number of steps taken and the reasons of those skipped.
    """

    def __init__(self, wrapper: OptimWrapper) -> None:
        self.wrapper = wrapper
        self.steps_taken = 0
        self.skipped: list[str] = []
        self._loss_finite: torch.Tensor | None = None
        self._norm = 0.0
        self._backward_inner = wrapper.backward
        self._step_inner = wrapper.step
        scaler = getattr(wrapper, 'loss_scaler', None)
        # float16 loss scaling: GradScaler skips inf/NaN gradient steps itself
        self.check_grads = not (scaler is not None and scaler.is_enabled())

    @classmethod
    def install(cls, wrapper: OptimWrapper) -> FiniteStepGuard:
        """The guard of ``wrapper``, installed on first use."""
        guard = wrapper.__dict__.get('_finite_guard')
        if guard is None:
            guard = cls(wrapper)
            wrapper._finite_guard = guard
            # instance attributes: mmengine's update_params calls self.backward / self.step
            wrapper.backward = guard._backward
            wrapper.step = guard._step
        return guard

    def uninstall(self) -> None:
        for name in ('backward', 'step', '_finite_guard'):
            self.wrapper.__dict__.pop(name, None)

    def drain(self) -> tuple[int, list[str]]:
        taken, skipped = self.steps_taken, self.skipped
        self.steps_taken, self.skipped = 0, []
        return taken, skipped

    def _backward(self, loss: torch.Tensor, **kwargs) -> None:
        finite = torch.isfinite(loss.detach()).all()
        self._loss_finite = finite if self._loss_finite is None else self._loss_finite & finite
        self._backward_inner(loss, **kwargs)

    def _step(self, **kwargs):
        reason = self._problem()
        self._loss_finite = None
        if reason is not None:
            self.skipped.append(reason)
            self.wrapper.zero_grad()
            if (
                self.check_grads
                and self.wrapper.clip_grad_kwargs
                and getattr(self.wrapper, 'grad_name', '') == 'grad_norm'
            ):
                # clipping did not run: log this step's norm, not the previous step's
                self.wrapper.message_hub.update_scalar('train/grad_norm', self._norm)
            return None
        self.steps_taken += 1
        return self._step_inner(**kwargs)

    def _problem(self) -> str | None:
        """Why this step must be skipped (None: it may be taken); one host synchronisation."""
        grads = [
            p.grad
            for group in self.wrapper.optimizer.param_groups
            for p in group['params']
            if p.grad is not None
        ]
        device = grads[0].device if grads else torch.device('cpu')
        loss_ok = self._loss_finite if self._loss_finite is not None else torch.tensor(True)
        norm = torch.zeros((), device=device)
        if self.check_grads and grads:
            norm = torch.nn.utils.get_total_norm(grads, error_if_nonfinite=False).float()
            if hasattr(norm, 'full_tensor'):  # FSDP2: a DTensor of the shards' partial norms
                norm = norm.full_tensor()
        flags = torch.stack([loss_ok.to(device).float(), torch.isfinite(norm).float()])
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            dist.all_reduce(flags, op=dist.ReduceOp.MIN)  # a rank's bad loss stops every rank
        loss_finite, grads_finite = flags.tolist()
        if loss_finite and grads_finite:
            self._norm = 0.0
            return None
        self._norm = float(norm)
        parts = []
        if not loss_finite:
            parts.append('the loss is not finite')
        if not grads_finite:
            parts.append(f'the gradient norm is {self._norm}')
        return ' and '.join(parts)


def optim_wrappers(optim_wrapper) -> list[OptimWrapper]:
    """The ``OptimWrapper`` s of a runner's ``optim_wrapper`` (one, or each of a dict)."""
    if isinstance(optim_wrapper, OptimWrapperDict):
        return list(optim_wrapper.values())
    return [optim_wrapper]


def first_nonfinite(named: Iterable[tuple[str, torch.Tensor]]) -> tuple[str, str] | None:
    """The first floating tensor with a NaN or inf value: ``(name, 'a NaN and b inf values of n')``."""
    for name, tensor in named:
        if not torch.is_tensor(tensor) or not (tensor.is_floating_point() or tensor.is_complex()):
            continue
        finite = torch.isfinite(tensor)
        if not bool(finite.all()):
            bad = tensor[~finite]
            nans = int(torch.isnan(bad).sum())
            return name, f'{nans} NaN and {bad.numel() - nans} inf values of {tensor.numel()}'
    return None


def optimizer_state_tensors(state, prefix: str = 'optimizer') -> Iterator[tuple[str, torch.Tensor]]:
    """Every tensor of an optimizer (wrapper) state dict, nested, named by its path."""
    if torch.is_tensor(state):
        yield prefix, state
    elif isinstance(state, Mapping):
        for key, value in state.items():
            yield from optimizer_state_tensors(value, f'{prefix}.{key}')
    elif isinstance(state, (list, tuple)):
        for index, value in enumerate(state):
            yield from optimizer_state_tensors(value, f'{prefix}.{index}')


__all__ = [
    'FiniteStepGuard',
    'NonFiniteCheckpointError',
    'NonFiniteTrainingError',
    'first_nonfinite',
    'optim_wrappers',
    'optimizer_state_tensors',
]
