"""``InitFromStageHook``: start a training stage from the previous stage's final weights."""

from __future__ import annotations

import os.path as osp
from collections.abc import Sequence

from mmengine.hooks import Hook
from mmengine.runner.checkpoint import find_latest_checkpoint

from videoar.io.checkpoint import (
    CheckpointNotFoundError,
    find_final_checkpoint,
    load_checkpoint_safe,
)
from videoar.registry import HOOKS
from videoar.utils import ConfigError, unwrap
from videoar.utils.state_dict import load_adapted_state_dict

from .utils import ema_hooks

#: the ``--cfg-options`` key of this hook's checkpoint (hooks are addressed by type)
OPTION_KEY = 'custom_hooks.InitFromStageHook.checkpoint'


@HOOKS.register_module()
class InitFromStageHook(Hook):
    """Initialise the model from another stage's final checkpoint before training starts.

    Resolution and duration may differ between stages: weights go through
    :func:`videoar.utils.state_dict.load_adapted_state_dict` (tensors of equal shape copied,
    positional tables and per-scale tables adapted). mmengine's ``EMAHook`` copy, built from the
    random init, is re-synchronised with the loaded weights.

    Nothing is loaded when the run resumed (``runner.iter > 0``: the resumed checkpoint already
    holds this stage's weights) or when ``load_from`` loaded a checkpoint explicitly.

    Args:
        checkpoint: path of the checkpoint to start from; or
        stage_work_dir: the previous stage's work directory (its ``finished.json`` or
            ``last_checkpoint`` names the checkpoint).
        command: the command that produces the checkpoint, named in the error when it is missing
            (e.g. ``'python tools/train.py configs/videoar_stage1.py'``).
        key_prefixes: load only keys with one of these prefixes (e.g. ``['transformer.']``).
        require_finished: with ``stage_work_dir``, refuse a stage without ``finished.json``.

    The checkpoint is checked in ``before_run``, so a missing one fails before any training.
    """

    priority = 'VERY_HIGH'

    def __init__(
        self,
        checkpoint: str | None = None,
        stage_work_dir: str | None = None,
        command: str | None = None,
        key_prefixes: Sequence[str] | None = None,
        require_finished: bool = False,
    ) -> None:
        if checkpoint is None and stage_work_dir is None:
            raise ConfigError(
                'InitFromStageHook needs checkpoint=PATH or stage_work_dir=DIR (the previous '
                "stage's work directory)."
            )
        if isinstance(key_prefixes, str):
            key_prefixes = [key_prefixes]
        self.checkpoint = checkpoint
        self.stage_work_dir = stage_work_dir
        self.command = command
        self.key_prefixes = list(key_prefixes) if key_prefixes else None
        self.require_finished = bool(require_finished)
        self.resolved_checkpoint: str | None = None
        self.loaded_checkpoint: str | None = None
        self.report = None

    # ---- resolution ----------------------------------------------------------------------
    def _how_to_fix(self) -> str:
        run = f'run `{self.command}` first, or ' if self.command else ''
        return f'{run}pass --cfg-options {OPTION_KEY}=PATH'

    def resolve_checkpoint(self) -> str:
        """The checkpoint path to load; :class:`CheckpointNotFoundError` if it does not exist."""
        if self.checkpoint is not None:
            path = osp.expanduser(str(self.checkpoint))
            if not osp.isfile(path):
                raise CheckpointNotFoundError(
                    f'InitFromStageHook: the checkpoint {path!r} does not exist; '
                    f'{self._how_to_fix()}.'
                )
            return path
        try:
            return find_final_checkpoint(
                self.stage_work_dir, command=self.command, require_finished=self.require_finished
            )
        except CheckpointNotFoundError as err:
            raise CheckpointNotFoundError(
                f'InitFromStageHook: {err} Or pass --cfg-options {OPTION_KEY}=PATH.'
            ) from None

    def _will_resume(self, runner) -> bool:
        if not getattr(runner, '_resume', False):
            return False
        latest = find_latest_checkpoint(runner.work_dir)
        return latest is not None and osp.isfile(latest)

    # ---- hooks -----------------------------------------------------------------------------
    def before_run(self, runner) -> None:
        if self._will_resume(runner) or runner._load_from is not None:
            return  # the resumed (or explicitly loaded) checkpoint holds this stage's weights
        self.resolved_checkpoint = self.resolve_checkpoint()
        runner.logger.info(f'InitFromStageHook: will initialise from {self.resolved_checkpoint}')

    def before_train(self, runner) -> None:
        if runner.iter > 0:
            runner.logger.info(
                f'InitFromStageHook: resumed at iteration {runner.iter}; not loading the '
                "previous stage (the resumed checkpoint holds this stage's weights)."
            )
            return
        if runner._load_from is not None and getattr(runner, '_has_loaded', False):
            runner.logger.info(
                f'InitFromStageHook: load_from={runner._load_from} was loaded explicitly; '
                'not loading the previous stage.'
            )
            return
        path = self.resolved_checkpoint or self.resolve_checkpoint()
        checkpoint = load_checkpoint_safe(path, map_location='cpu')
        state_dict = checkpoint.get('state_dict', checkpoint)
        model = unwrap(runner.model)
        self.report = load_adapted_state_dict(
            model, state_dict, logger=runner.logger, key_prefixes=self.key_prefixes
        )
        for hook in ema_hooks(runner):  # the EMA copy was built from the random init
            hook.ema_model.module.load_state_dict(hook.src_model.state_dict())
            runner.logger.info('InitFromStageHook: re-synchronised the EMA copy of the model.')
        self.loaded_checkpoint = osp.abspath(path)
        runner.logger.info(f'InitFromStageHook: initialised the model from {path}')
