"""``FiniteGuardHook``: the NaN policy of a training run.

* An optimizer step whose loss or gradient norm is not finite is skipped (parameters and
  optimizer state unchanged, gradients zeroed) and logged as a warning with the iteration
  (:class:`videoar.engine.finite_guard.FiniteStepGuard`, installed on every optimizer wrapper).
* After ``max_consecutive`` consecutive skipped iterations the run stops with
  :class:`~videoar.engine.finite_guard.NonFiniteTrainingError` naming the iterations.
* A checkpoint whose trainable weights or optimizer state hold a NaN or inf is never written
  (:class:`~videoar.engine.finite_guard.NonFiniteCheckpointError`). mmengine 0.10.7's
  ``CheckpointHook`` deletes the oldest kept checkpoint *before* it saves the new one, so the
  weights are checked in ``after_train_iter`` / ``after_train_epoch`` (priority LOW, before the
  checkpoint hook's VERY_LOW) whenever a checkpoint hook is about to save: nothing is deleted
  and ``last_checkpoint`` keeps naming the last finite checkpoint. ``before_save_checkpoint``
  checks every other save (e.g. one requested outside the checkpoint hook); ``after_val_epoch``
  checks before a ``save_best`` checkpoint replaces the previous best. The averaged
  weights of an ``EMAHook`` are checked too (its ``ema_state_dict`` in the checkpoint).
* The learning-rate schedule follows the iteration count: a skipped step still advances it, as
  iterations (and the logs) do.
"""

from __future__ import annotations

import os.path as osp

from mmengine.hooks import CheckpointHook, EMAHook, Hook
from mmengine.model import is_model_wrapper

from videoar.io.checkpoint import read_last_checkpoint
from videoar.registry import HOOKS

from ..finite_guard import (
    FiniteStepGuard,
    NonFiniteCheckpointError,
    NonFiniteTrainingError,
    first_nonfinite,
    optim_wrappers,
    optimizer_state_tensors,
)


@HOOKS.register_module()
class FiniteGuardHook(Hook):
    """Skip non-finite optimizer steps, stop after ``max_consecutive``, never save NaN weights.

    Args:
        max_consecutive: consecutive iterations with a skipped step after which training stops.
        check_checkpoints: refuse to write a checkpoint with non-finite trainable weights or
            optimizer state.
    """

    priority = 'LOW'

    def __init__(self, max_consecutive: int = 5, check_checkpoints: bool = True) -> None:
        if int(max_consecutive) < 1:
            raise ValueError(f'max_consecutive must be at least 1, got {max_consecutive!r}.')
        self.max_consecutive = int(max_consecutive)
        self.check_checkpoints = check_checkpoints
        self.guards: list[FiniteStepGuard] = []
        self.consecutive = 0
        self.first_bad_iter: int | None = None
        self.skipped_total = 0

    def before_train(self, runner) -> None:
        self.guards = [FiniteStepGuard.install(w) for w in optim_wrappers(runner.optim_wrapper)]
        self.consecutive, self.first_bad_iter, self.skipped_total = 0, None, 0

    def after_train(self, runner) -> None:
        for guard in self.guards:
            guard.uninstall()
        self.guards = []
        if self.skipped_total:
            runner.logger.warning(
                f'FiniteGuardHook: {self.skipped_total} optimizer step(s) were skipped in this '
                'run because the loss or the gradients were not finite.'
            )

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        iteration = runner.iter + 1
        taken, reasons = 0, []
        for guard in self.guards:
            guard_taken, guard_reasons = guard.drain()
            taken += guard_taken
            reasons += guard_reasons
        if reasons:
            self._count_bad(runner, iteration, '; '.join(reasons))
        elif taken:
            self.consecutive, self.first_bad_iter = 0, None
        if self.check_checkpoints and self._iter_save_due(runner):
            self._refuse_nonfinite_model(runner, f'iteration {iteration}')

    def after_train_epoch(self, runner) -> None:
        if self.check_checkpoints and self._epoch_save_due(runner):
            self._refuse_nonfinite_model(runner, f'epoch {runner.epoch + 1}')

    def after_val_epoch(self, runner, metrics=None) -> None:
        # a checkpoint hook with save_best deletes the previous best before it saves a new one
        if self.check_checkpoints and any(
            getattr(hook, 'save_best', None)
            for hook in runner.hooks
            if isinstance(hook, CheckpointHook)
        ):
            self._refuse_nonfinite_model(runner, f'the best checkpoint of iteration {runner.iter}')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if not self.check_checkpoints:
            return
        trainable = {
            name for name, p in _unwrap(runner.model).named_parameters() if p.requires_grad
        }
        state = checkpoint.get('state_dict', {})
        named = [(name, state[name]) for name in state if name in trainable]
        named += list(optimizer_state_tensors(checkpoint.get('optimizer', {})))
        named += _averaged(checkpoint.get('ema_state_dict', {}), trainable, 'ema_state_dict.')
        meta = checkpoint.get('meta') or {}
        self._refuse(runner, named, f'iteration {meta.get("iter", runner.iter)}')

    # ------------------------------------------------------------------ helpers

    def _count_bad(self, runner, iteration: int, reason: str) -> None:
        self.consecutive += 1
        self.skipped_total += 1
        if self.first_bad_iter is None:
            self.first_bad_iter = iteration
        runner.logger.warning(
            f'iteration {iteration}: optimizer step skipped because {reason}; parameters and '
            f'optimizer state are unchanged ({self.consecutive} consecutive, the run stops at '
            f'{self.max_consecutive}).'
        )
        if self.consecutive >= self.max_consecutive:
            raise NonFiniteTrainingError(
                f'training stopped at iteration {iteration}: the optimizer steps of '
                f'{self.consecutive} consecutive iterations ({self.first_bad_iter} to '
                f'{iteration}) were skipped because the loss or the gradients were not finite '
                f'(last: {reason}). {_last_good(runner)} Lower the learning rate, add gradient '
                'clipping (optim_wrapper.clip_grad=dict(max_norm=1.0)) or check the data, then '
                'resume with --resume; the limit is default_hooks.finite_guard.max_consecutive.'
            )

    def _refuse_nonfinite_model(self, runner, when: str) -> None:
        model = _unwrap(runner.model)
        named = [(n, p.detach()) for n, p in model.named_parameters() if p.requires_grad]
        trainable = {name for name, _ in named}
        for hook in runner.hooks:
            if isinstance(hook, EMAHook) and getattr(hook, 'ema_model', None) is not None:
                named += _averaged(hook.ema_model.state_dict(), trainable, 'ema_model.')
        for index, wrapper in enumerate(optim_wrappers(runner.optim_wrapper)):
            named += list(
                optimizer_state_tensors(wrapper.optimizer.state_dict(), f'optimizer{index}')
            )
        self._refuse(runner, named, when)

    def _refuse(self, runner, named, when: str) -> None:
        bad = first_nonfinite(named)
        if bad is None:
            return
        name, what = bad
        raise NonFiniteCheckpointError(
            f'not saving the checkpoint of {when}: {name} is not finite ({what}); a checkpoint '
            f'with non-finite weights or optimizer state is never written. {_last_good(runner)} '
            'Lower the learning rate or add gradient clipping (optim_wrapper.clip_grad='
            'dict(max_norm=1.0)), then resume from that checkpoint with --resume.'
        )

    def _iter_save_due(self, runner) -> bool:
        return any(
            hook.every_n_train_iters(runner, hook.interval, hook.save_begin)
            or (hook.save_last and hook.is_last_train_iter(runner))
            for hook in _checkpoint_hooks(runner, by_epoch=False)
        )

    def _epoch_save_due(self, runner) -> bool:
        return any(
            hook.every_n_epochs(runner, hook.interval, hook.save_begin)
            or (hook.save_last and hook.is_last_train_epoch(runner))
            for hook in _checkpoint_hooks(runner, by_epoch=True)
        )


def _unwrap(model):
    return model.module if is_model_wrapper(model) else model


def _averaged(ema_state: dict, trainable: set[str], prefix: str) -> list:
    """The entries of an EMA state dict (keys ``module.<name>``) that average a trainable
    parameter, named ``prefix + key``."""
    return [
        (prefix + key, value)
        for key, value in ema_state.items()
        if key.removeprefix('module.') in trainable
    ]


def _checkpoint_hooks(runner, by_epoch: bool) -> list:
    return [
        hook
        for hook in runner.hooks
        if isinstance(hook, CheckpointHook) and bool(hook.by_epoch) == by_epoch
    ]


def _last_good(runner) -> str:
    last = read_last_checkpoint(runner.work_dir)
    if last is None:
        return 'No checkpoint of this run was written yet.'
    return f'The last finite checkpoint is {osp.abspath(last)}.'


__all__ = ['FiniteGuardHook']
