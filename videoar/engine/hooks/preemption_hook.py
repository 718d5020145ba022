"""``PreemptionHook``: on SIGTERM / SIGUSR1 / Ctrl-C, save a checkpoint at the next iteration
boundary and exit with :data:`PREEMPTED_EXIT_CODE`, so ``--resume`` loses nothing."""

from __future__ import annotations

import os
import os.path as osp
import signal
import sys
import threading

import torch
from mmengine.dist import all_reduce, get_world_size, is_main_process
from mmengine.hooks import CheckpointHook, Hook

from videoar.io.checkpoint import LAST_CHECKPOINT_FILE
from videoar.registry import HOOKS

from ..checkpointing import atomic_write_text

#: Exit code of a run stopped by a signal after saving its checkpoint: ``EX_TEMPFAIL`` of
#: ``sysexits.h`` ("temporary failure; the user is invited to retry"). Distinct from 0 (done),
#: 1 (error), 2 (usage), 130 (a second Ctrl-C) and 143 (killed by SIGTERM without saving), so a
#: scheduler script can tell "requeue me, a checkpoint is there" from a crash.
PREEMPTED_EXIT_CODE = 75

#: Environment variable naming a file where a stopped run writes its exit code. A launcher whose
#: own exit status hides the workers' (torchrun exits with 1 whenever a worker exits non-zero)
#: sets it and exits with the recorded code: ``tools/dist_train.sh`` does.
EXIT_CODE_FILE_ENV = 'VIDEOAR_EXIT_CODE_FILE'


def record_exit_code(code: int) -> None:
    """Write ``code`` to the file named by ``$VIDEOAR_EXIT_CODE_FILE``, if it is set."""
    path = os.environ.get(EXIT_CODE_FILE_ENV)
    if path:
        atomic_write_text(path, f'{int(code)}\n')


class Preempted(SystemExit):
    """Raised (on every rank) after the preemption checkpoint is written; exits with
    :data:`PREEMPTED_EXIT_CODE` unless caught."""

    def __init__(self, message: str, code: int = PREEMPTED_EXIT_CODE) -> None:
        super().__init__(code)
        self.message = message


@HOOKS.register_module()
class PreemptionHook(Hook):
    """Save and stop cleanly when the scheduler (or the user) asks the run to stop.

    ``before_train`` installs handlers for ``signals`` and for SIGINT (the previous handlers come
    back in ``after_train`` or when the run stops). A signal only sets a flag; after the current
    iteration, every rank agrees on the flag (one all-reduce), rank 0 writes ``iter_<N>.pth``
    through the run's ``CheckpointHook`` (so ``last_checkpoint`` and rotation stay consistent;
    with :class:`AtomicCheckpointHook` the write is atomic), and every rank raises
    :class:`Preempted`. A second Ctrl-C stops at once (``KeyboardInterrupt``, no save).
    ``launch.build_runner`` adds this hook to every training Runner unless the config has one.

    Args:
        signals: names of the signals that ask for a save-and-exit (SIGINT is always handled).
        exit_code: exit code after the save (default :data:`PREEMPTED_EXIT_CODE`).
    """

    priority = 'LOWEST'  # after CheckpointHook: a periodic save of this very step is reused

    def __init__(self, signals=('SIGTERM', 'SIGUSR1'), exit_code: int = PREEMPTED_EXIT_CODE):
        unknown = [s for s in signals if not isinstance(getattr(signal, str(s), None), int)]
        if unknown:
            raise ValueError(
                f'PreemptionHook: unknown signal name(s) {unknown}; use names such as '
                "'SIGTERM', 'SIGUSR1', 'SIGUSR2'."
            )
        self.signals = [getattr(signal, s) for s in signals if s != 'SIGINT']
        self.exit_code = int(exit_code)
        self.requested: str | None = None
        self._previous: dict = {}

    # -- signal handling -----------------------------------------------------------------------

    def _handle(self, signum, frame) -> None:
        name = signal.Signals(signum).name
        if signum == signal.SIGINT and self.requested is not None:
            self.restore_handlers()
            raise KeyboardInterrupt(f'second {name}: stopping at once, without a checkpoint')
        self.requested = self.requested or name
        hint = ' (Ctrl-C again to stop at once)' if signum == signal.SIGINT else ''
        print(
            f'[videoar] {name} received: saving a checkpoint at the end of this iteration, '
            f'then exiting with code {self.exit_code}{hint}.',
            file=sys.stderr,
            flush=True,
        )

    def install_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            print(
                '[videoar] PreemptionHook: training runs outside the main thread, where Python '
                'cannot install signal handlers; signals will not save a checkpoint.',
                file=sys.stderr,
                flush=True,
            )
            return
        for signum in [*self.signals, signal.SIGINT]:
            if signum not in self._previous:
                self._previous[signum] = signal.signal(signum, self._handle)

    def restore_handlers(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        self._previous = {}

    # -- hook points ---------------------------------------------------------------------------

    def before_train(self, runner) -> None:
        self.requested = None
        self.install_handlers()

    def after_train(self, runner) -> None:
        self.restore_handlers()

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if not self._agreed(runner) or runner.iter + 1 >= runner.max_iters:
            return  # nothing asked, or the run ends with this iteration anyway (exit 0)
        self.restore_handlers()
        step = runner.iter + 1
        path = self._save(runner, step)
        record_exit_code(self.exit_code)
        raise Preempted(
            f'stopped by {self.requested or "a signal on another rank"} after iteration {step}; '
            f'checkpoint {path}. Continue with: tools/train.py <config> --work-dir '
            f'{runner.work_dir} --resume',
            self.exit_code,
        )

    def _agreed(self, runner) -> bool:
        flag = torch.tensor([1.0 if self.requested else 0.0])
        if get_world_size() > 1:
            all_reduce(flag, op='sum')
        return bool(flag.item() > 0)

    def _save(self, runner, step: int) -> str:
        hook = next((h for h in runner.hooks if isinstance(h, CheckpointHook)), None)
        if hook is not None and not hook.by_epoch:
            name = hook.filename_tmpl.format(step)
            if not (hook.last_ckpt and osp.basename(str(hook.last_ckpt)) == name):
                hook._save_checkpoint(runner)
            return str(hook.last_ckpt)
        filename = f'iter_{step}.pth'
        runner.save_checkpoint(
            runner.work_dir, filename, meta=dict(epoch=runner.epoch, iter=step), by_epoch=False
        )
        path = osp.join(runner.work_dir, filename)
        if is_main_process():
            atomic_write_text(osp.join(runner.work_dir, LAST_CHECKPOINT_FILE), path)
        return path
