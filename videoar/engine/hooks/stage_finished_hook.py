"""``StageFinishedHook``: mark a finished training run so a curriculum can skip it."""

from __future__ import annotations

import datetime
import os
import os.path as osp
import time

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from videoar.io.checkpoint import FINISHED_FILE, LAST_CHECKPOINT_FILE, read_last_checkpoint
from videoar.io.records import atomic_write_text, write_json
from videoar.registry import HOOKS
from videoar.utils import unwrap

from ..runs import latent_cache_datasets


@HOOKS.register_module()
class StageFinishedHook(Hook):
    """After training, write ``<work_dir>/finished.json``.

    The file holds ``checkpoint`` (absolute path of the final checkpoint), ``iteration``,
    ``max_iters``, ``epoch``, ``wall_time_s`` (training time of this process, from
    ``before_train``), ``resumed_from_iter``, ``finished_at`` (ISO time), ``config``, when an
    ``InitFromStageHook`` ran, ``init_checkpoint``, and what later runs need to find this
    run's inputs (``videoar.io.runs``): ``model_type``, ``tokenizer_checkpoint`` (the frozen
    tokenizer a generator trained with) and ``latent_cache_dirs``.

    If the run's last iteration has no checkpoint (``CheckpointHook`` without ``save_last``, or
    none at all), the hook saves ``iter_<N>.pth`` itself and points ``last_checkpoint`` at it,
    so the marker always names the final weights. A stale marker is removed when training
    (re)starts, so an interrupted run never looks finished. Harmless in any config.
    """

    priority = 'VERY_LOW'  # after CheckpointHook (also VERY_LOW, registered before custom hooks)

    def __init__(self, filename: str = FINISHED_FILE) -> None:
        self.filename = filename
        self._start_time: float | None = None
        self._start_iter = 0

    def before_train(self, runner) -> None:
        self._start_time = time.time()
        self._start_iter = runner.iter
        path = osp.join(runner.work_dir, self.filename)
        if is_main_process() and osp.isfile(path):
            os.remove(path)

    def _saved_at_this_iter(self, runner, path: str | None) -> bool:
        if path is None:
            return False
        name = osp.basename(path)
        return name in (f'iter_{runner.iter}.pth', f'epoch_{runner.epoch}.pth')

    def after_train(self, runner) -> None:
        checkpoint = read_last_checkpoint(runner.work_dir)
        if not self._saved_at_this_iter(runner, checkpoint):
            filename = f'iter_{runner.iter}.pth'
            meta = dict(epoch=int(runner.epoch), iter=int(runner.iter))  # the loop already counted
            runner.save_checkpoint(runner.work_dir, filename, meta=meta, by_epoch=False)
            checkpoint = osp.join(runner.work_dir, filename)
            if is_main_process():
                atomic_write_text(osp.join(runner.work_dir, LAST_CHECKPOINT_FILE), checkpoint)
            runner.logger.info(f'StageFinishedHook: saved the final weights to {checkpoint}')
        if not is_main_process():
            return
        init_checkpoint = None
        for hook in runner.hooks:
            if getattr(hook, 'loaded_checkpoint', None):
                init_checkpoint = hook.loaded_checkpoint
        record = dict(
            checkpoint=osp.abspath(checkpoint),
            iteration=int(runner.iter),
            max_iters=int(runner.max_iters),
            epoch=int(runner.epoch),
            wall_time_s=round(time.time() - (self._start_time or time.time()), 2),
            resumed_from_iter=int(self._start_iter),
            finished_at=datetime.datetime.now().isoformat(timespec='seconds'),
            config=getattr(runner.cfg, 'filename', None),
            init_checkpoint=init_checkpoint,
            **produced_by(runner),
        )
        path = write_json(osp.join(runner.work_dir, self.filename), record)
        runner.logger.info(f'StageFinishedHook: wrote {path} (final checkpoint {checkpoint})')


def produced_by(runner) -> dict:
    """``model_type``, ``tokenizer_checkpoint`` and ``latent_cache_dirs`` of a run (absolute)."""
    model_cfg = runner.cfg.get('model') or {}
    model_type = model_cfg.get('type') if hasattr(model_cfg, 'get') else None
    record = dict(model_type=model_type if isinstance(model_type, str) else None)
    tokenizer = getattr(unwrap(runner.model), 'tokenizer_checkpoint', None)
    if isinstance(tokenizer, str):
        record['tokenizer_checkpoint'] = osp.abspath(tokenizer)
    caches = [d.get('cache_dir') for d in latent_cache_datasets(runner.cfg)]
    record['latent_cache_dirs'] = sorted({osp.abspath(c) for c in caches if c})
    return record
