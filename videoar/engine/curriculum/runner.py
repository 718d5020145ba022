"""Running a curriculum: one mmengine Runner per train stage, in order, then the evaluation.

A stage whose ``finished.json`` (``StageFinishedHook``) reports at least the configured
``max_iters`` is skipped; an interrupted (or extended) stage resumes from its latest checkpoint
(``curriculum.auto_resume``, default True, or ``--resume``).
"""

from __future__ import annotations

import datetime
import gc
import os.path as osp
import time
import uuid

from mmengine.config import Config
from mmengine.dist import barrier, is_main_process

from videoar.io.checkpoint import find_final_checkpoint, read_finished, read_last_checkpoint
from videoar.io.runs import write_curriculum_record
from videoar.utils import ConfigError

from .. import launch
from ..config_options import merge_options
from ..option_checks import preflight_components
from .evaluate import run_evaluate_stage
from .linking import (
    add_finished_hook,
    default_cache_dirs,
    link_init,
    link_tokenizer,
    resolve_placeholders,
)
from .stages import Stage, parse_shared_options, parse_stages, resolve_config_path


class Curriculum:
    """The state of one curriculum run (see :mod:`videoar.engine.curriculum`).

    Args:
        cfg: the curriculum config (``work_dir``, ``stages``, optional ``curriculum``).
        resume: resume interrupted stages even when ``curriculum.auto_resume`` is False.
        amp: bf16 mixed precision for every train stage (``tools/train.py --amp``).
        launcher: the launcher of every train stage.
    """

    def __init__(self, cfg: Config, resume: bool = False, amp: bool = False, launcher='none'):
        if not cfg.get('work_dir'):
            raise ConfigError('a curriculum config needs work_dir (or pass --work-dir).')
        self.cfg = cfg
        self.root = osp.abspath(cfg.work_dir)
        self.stages = parse_stages(cfg)
        self.shared_options, self.auto_resume = parse_shared_options(cfg)
        self.resume = bool(resume)
        self.amp = bool(amp)
        self.launcher = launcher
        self.filename = getattr(cfg, 'filename', None)
        self.command = f'python tools/train.py {self.filename or "<curriculum config>"}'
        self.records: dict[str, dict] = {}

    @staticmethod
    def say(message: str) -> None:
        if is_main_process():
            print(f'[videoar] {message}', flush=True)

    def work_dir(self, name: str) -> str:
        return osp.join(self.root, name)

    def final_checkpoint(self, name: str) -> str:
        return find_final_checkpoint(
            self.work_dir(name), command=self.command, require_finished=True
        )

    # ---- stage configs ---------------------------------------------------------------------
    def load_stage_config(self, stage: Stage, link: bool = True) -> Config:
        """The stage's config with the shared and its own options, the work dir and the links."""
        cfg = launch.load_config(resolve_config_path(stage.config, self.filename))
        merge_options(cfg, self.shared_options)
        merge_options(cfg, stage.cfg_options)
        cfg.work_dir = self.work_dir(stage.name)
        cfg.inputs = None  # a standalone stage's default inputs; the curriculum links its own
        if link:
            names = [s.name for s in self.stages]
            resolve_placeholders(cfg, self.root, names, self.work_dir, self.final_checkpoint)
            if stage.init_from:
                link_init(cfg, self.final_checkpoint(stage.init_from), self.command)
            if stage.tokenizer_from:
                link_tokenizer(cfg, self.final_checkpoint(stage.tokenizer_from))
        default_cache_dirs(cfg, self.root)
        add_finished_hook(cfg)
        return cfg

    def preflight(self) -> None:
        """Check every train stage's resolved config (stage config, shared and stage
        ``cfg_options``) before anything trains: datasets, hooks and the model on the meta device.
        Raises one :class:`ConfigError` that names the stage."""
        for stage in self.stages:
            if stage.kind != 'train':
                continue
            try:
                cfg = self.load_stage_config(stage, link=False)
                preflight_components(cfg)
                launch.preflight_model(cfg)
            except ConfigError as err:
                raise ConfigError(f'stage {stage.name} ({stage.config}): {err}') from err

    def write_record(self) -> str:
        """``<work_dir>/run.json``: what this curriculum produces, for later runs to find
        (:mod:`videoar.io.runs`)."""
        tokenizers = [s.tokenizer_from for s in self.stages if s.tokenizer_from]
        return write_curriculum_record(
            self.root,
            {stage.name: stage.kind for stage in self.stages},
            tokenizer_stage=tokenizers[0] if tokenizers else None,
            config=self.filename,
        )

    # ---- running -----------------------------------------------------------------------------
    def plan(self) -> list[tuple[Stage, str]]:
        """``(stage, status)`` with status ``evaluate``, ``finished``, ``interrupted`` or ``new``."""
        out = []
        for stage in self.stages:
            if stage.kind == 'evaluate':
                status = 'evaluate'
            elif read_finished(self.work_dir(stage.name)) is not None:
                status = 'finished'
            elif read_last_checkpoint(self.work_dir(stage.name)):
                status = 'interrupted'
            else:
                status = 'new'
            out.append((stage, status))
        return out

    def run(self) -> dict:
        """Run every stage; returns ``dict(work_dir, stages={name: record}, wall_time_s)``."""
        start = time.time()
        self.say(f'curriculum {self.filename}: {len(self.stages)} stages in {self.root}')
        if is_main_process():
            self.write_record()
        for stage, status in self.plan():
            what = stage.config if stage.kind == 'train' else f'evaluate {stage.from_stage}'
            self.say(f'  {stage.name:<12} {status:<12} {what} -> {self.work_dir(stage.name)}')
        for stage in self.stages:
            if stage.kind == 'train':
                self.records[stage.name] = self.run_train_stage(stage)
            else:
                self.records[stage.name] = run_evaluate_stage(self, stage)
        total = time.time() - start
        self.say(f'curriculum done in {total:.1f} s. Work dir: {self.root}')
        for name, record in self.records.items():
            where = record.get('checkpoint') or record.get('report') or ''
            seconds = record.get('wall_time_s', 0)
            self.say(f'  {name:<12} {record["status"]:<10} {seconds:8.1f} s  {where}')
        return dict(work_dir=self.root, stages=self.records, wall_time_s=round(total, 2))

    def _finished_record(self, stage: Stage) -> dict | None:
        """The record of a stage that finished its configured iterations earlier, else None."""
        work_dir = self.work_dir(stage.name)
        finished = read_finished(work_dir)
        if finished is None:
            return None
        cfg = self.load_stage_config(stage, link=False)
        max_iters = cfg.get('train_cfg', {}).get('max_iters')
        if max_iters is not None and finished.get('iteration', 0) < max_iters:
            self.say(
                f'stage {stage.name}: finished at iteration {finished.get("iteration")} but now '
                f'configured for {max_iters}; continuing it.'
            )
            return None
        self.say(
            f'stage {stage.name}: finished earlier ({work_dir}/finished.json), skipped. '
            f'Delete that file (or the folder) to train it again.'
        )
        self._warn_if_stale(stage, finished)
        return dict(
            status='skipped',
            checkpoint=finished.get('checkpoint'),
            iteration=finished.get('iteration'),
            wall_time_s=finished.get('wall_time_s', 0.0),
            work_dir=work_dir,
        )

    def _train_config(self, stage: Stage) -> tuple[Config, str | None]:
        """The linked stage config set up to train or resume; and the checkpoint it resumes."""
        cfg = self.load_stage_config(stage)
        launch.check_top_level_keys(cfg, for_training=True)
        latest = read_last_checkpoint(self.work_dir(stage.name))
        resuming = latest is not None and (self.resume or self.auto_resume)
        cfg.resume = resuming
        cfg.load_from = None
        if self.amp:
            launch.enable_amp(cfg)
        launch.setup_launcher(cfg, self.launcher)
        if cfg.get('experiment_name') is None:
            stamp = datetime.datetime.now().strftime('%Y%m%d_%H%M%S')
            cfg.experiment_name = f'{stage.name}_{stamp}_{uuid.uuid4().hex[:6]}'
        return cfg, latest if resuming else None

    def run_train_stage(self, stage: Stage) -> dict:
        """Train (or resume, or skip) one stage; returns its record."""
        skipped = self._finished_record(stage)
        if skipped is not None:
            return skipped
        work_dir = self.work_dir(stage.name)
        cfg, resumed_from = self._train_config(stage)
        how = f'resuming from {resumed_from}' if resumed_from else 'starting'
        self.say(f'stage {stage.name}: {how} ({cfg.filename}) -> {work_dir}')
        start = time.time()
        runner = launch.build_runner(cfg)
        runner.train()
        del runner
        gc.collect()
        barrier()
        wall = time.time() - start
        finished = read_finished(work_dir)
        if finished is None:
            raise RuntimeError(f'stage {stage.name} ended without {work_dir}/finished.json.')
        self.say(
            f'stage {stage.name}: done in {wall:.1f} s, final checkpoint {finished["checkpoint"]}'
        )
        return dict(
            status='resumed' if resumed_from else 'trained',
            checkpoint=finished['checkpoint'],
            iteration=finished.get('iteration'),
            wall_time_s=round(wall, 2),
            work_dir=work_dir,
        )

    def _warn_if_stale(self, stage: Stage, finished: dict) -> None:
        """Warn when a skipped stage's sources finished after it (it used older weights)."""
        for source in filter(None, (stage.init_from, stage.tokenizer_from)):
            upstream = read_finished(self.work_dir(source)) or {}
            if str(upstream.get('finished_at', '')) > str(finished.get('finished_at', '')):
                self.say(
                    f'WARNING: stage {source} finished after stage {stage.name}, which was '
                    f'trained from its older weights; delete {self.work_dir(stage.name)} to '
                    'retrain it.'
                )


def preflight_curriculum(cfg: Config) -> None:
    """Check every train stage of a curriculum config up front (:meth:`Curriculum.preflight`)."""
    Curriculum(cfg).preflight()


def run_curriculum(cfg: Config, resume: bool = False, amp: bool = False, launcher: str = 'none'):
    """Run every stage of ``cfg.stages`` in order (see :mod:`videoar.engine.curriculum`).

    Returns a summary ``dict(work_dir, stages={name: record}, wall_time_s)``.
    """
    return Curriculum(cfg, resume=resume, amp=amp, launcher=launcher).run()


__all__ = ['Curriculum', 'preflight_curriculum', 'run_curriculum']
