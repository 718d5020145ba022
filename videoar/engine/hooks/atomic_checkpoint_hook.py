"""``AtomicCheckpointHook``: mmengine's ``CheckpointHook`` with a crash-safe rotation order."""

from __future__ import annotations

import os.path as osp
from collections import deque

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from videoar.io.checkpoint import LAST_CHECKPOINT_FILE
from videoar.registry import HOOKS

from ..checkpointing import atomic_write_text


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` (same arguments) that never leaves a work dir without a loadable
    checkpoint.

    mmengine 0.10.7 deletes the oldest kept checkpoint *before* writing the new one, then writes
    ``last_checkpoint`` in place: a kill during the save with ``max_keep_ckpts=1`` leaves
    ``last_checkpoint`` naming a deleted file and a truncated new one. Here the order is: write
    the new checkpoint (atomically, :func:`videoar.engine.checkpointing.atomic_save_checkpoint`),
    then point ``last_checkpoint`` at it (atomically), and only then delete the checkpoints that
    fell out of ``max_keep_ckpts``. A kill at any point leaves the previous checkpoint, or the new
    one, complete and named; at worst one extra old checkpoint stays on disk.
    """

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        before, before_last = list(self.keep_ckpt_ids), self.last_ckpt
        # mmengine's before_train makes keep_ckpt_ids a deque with maxlen, which would drop the
        # oldest id silently (and leave its file on disk); pop it ourselves instead.
        self.keep_ckpt_ids = deque(self.keep_ckpt_ids)
        stale = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            self.keep_ckpt_ids.append(step)
            while len(self.keep_ckpt_ids) > self.max_keep_ckpts:
                stale.append(self.keep_ckpt_ids.popleft())
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        try:
            runner.save_checkpoint(
                self.out_dir,
                ckpt_filename,
                self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler,
                meta=meta,
                by_epoch=self.by_epoch,
                backend_args=self.backend_args,
                **self.args,
            )
        except BaseException:  # e.g. a hook refused the checkpoint: nothing may be rotated out
            self.keep_ckpt_ids, self.last_ckpt = deque(before), before_last
            runner.message_hub.update_info('keep_ckpt_ids', before)
            raise
        if not is_main_process():
            return
        atomic_write_text(osp.join(runner.work_dir, LAST_CHECKPOINT_FILE), self.last_ckpt)
        for old in stale:
            self._remove(self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old)))

    def _remove(self, path: str) -> None:
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):  # checkpoints saved by deepspeed are directories
            self.file_backend.rmtree(path)
