"""Run a multi-stage curriculum with one mmengine Runner per stage (VideoAR §5.1).

``python tools/train.py configs/videoar_curriculum.py`` calls :func:`run_curriculum` when the
config has a ``stages`` list. A curriculum config::

    work_dir = './work_dirs/videoar_curriculum'
    stages = [
        dict(name='tokenizer', config='configs/tokenizer/....py'),
        dict(name='stage1', config='configs/videoar_stage1.py', tokenizer_from='tokenizer'),
        dict(name='stage2', config='configs/videoar_stage2.py', init_from='stage1',
             tokenizer_from='tokenizer', cfg_options={'train_cfg.max_iters': 300}),
        dict(name='evaluate', kind='evaluate', from_stage='stage2',
             evaluation=dict(metrics=[...], num_samples=100, references=['real', 'shuffled'],
                             real_dataloader=dict(dataset=...)),
             grid=dict(num_videos=16, fps=8)),
    ]
    curriculum = dict(cfg_options={'default_hooks.logger.interval': 10}, auto_resume=True)

Stage entry keys:

* ``name``: the stage's work directory is ``<work_dir>/<name>``.
* ``kind``: ``'train'`` (default) or ``'evaluate'``.
* ``config``: the stage's config file (relative to the current directory, the curriculum
  config's directory, or the repository root).
* ``cfg_options``: overrides, as ``--cfg-options`` (dotted keys or nested dicts); applied after
  the shared ``curriculum.cfg_options``. String values may use placeholders: ``{work_dir}``
  (the curriculum's), ``{work_dir:NAME}`` and ``{checkpoint:NAME}`` (stage ``NAME``'s final
  checkpoint).
* ``init_from``: an earlier train stage whose final checkpoint initialises this one: the
  ``checkpoint`` of the stage config's ``InitFromStageHook`` is set to it (the hook is added
  when the config has none). Weights are adapted to the new resolution/duration
  (:func:`videoar.engine.weights.load_adapted_state_dict`).
* ``tokenizer_from``: an earlier train stage (the tokenizer) whose final checkpoint becomes
  ``model.tokenizer_checkpoint`` (when the model takes that argument, as ``VideoAR``) and the
  ``checkpoint`` of every ``LatentCacheDataset`` in the stage's dataloaders (whose
  ``cache_dir``, when unset, becomes ``<work_dir>/latent_cache``).
* evaluate stages: ``from_stage`` (default: the last train stage before it), ``evaluation``
  (the arguments of :func:`videoar.engine.hooks.evaluate_generation`; default: those of the
  ``GenerationEvaluationHook`` in the source stage's config) and ``grid``
  (``num_videos=16, nrow=None, fps=8``).

Behaviour: a stage whose ``finished.json`` (``StageFinishedHook``, added to every train stage)
reports at least the configured ``max_iters`` is skipped; an interrupted (or extended) stage
resumes from its latest checkpoint (``curriculum.auto_resume``, default True, or ``--resume``).
The evaluate stage loads the source stage's final checkpoint (EMA weights when EMA was on: they
are what mmengine stores in ``state_dict``), runs the evaluation once and writes
``<work_dir>/metrics.json``, ``samples.mp4``/``samples.gif`` and ``report.md``; it is skipped
when those exist for the same final checkpoint.
"""

from __future__ import annotations

import copy
import datetime
import gc
import inspect
import json
import os
import os.path as osp
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from mmengine.config import Config, ConfigDict
from mmengine.dist import barrier, is_main_process

from videoar.evaluation.generation import evaluate_generation
from videoar.evaluation.report import write_metrics_json
from videoar.io.checkpoint import find_final_checkpoint, read_finished, read_last_checkpoint
from videoar.pipelines import init_model
from videoar.registry import MODELS
from videoar.utils import ConfigError, check_choice, check_known_keys

from . import launch
from .hooks.video_visualization_hook import write_video_grid

STAGE_KEYS = (
    'name', 'kind', 'config', 'cfg_options', 'init_from', 'tokenizer_from', 'from_stage',
    'evaluation', 'grid',
)  # fmt: skip
CURRICULUM_KEYS = ('cfg_options', 'auto_resume')
GRID_KEYS = ('num_videos', 'nrow', 'fps')
EVAL_DONE_FILE = 'evaluated.json'
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
_PLACEHOLDER = re.compile(r'\{(work_dir|checkpoint)(?::([^{}]+))?\}')


@dataclass
class Stage:
    name: str
    kind: str = 'train'
    config: str | None = None
    cfg_options: dict = field(default_factory=dict)
    init_from: str | None = None
    tokenizer_from: str | None = None
    from_stage: str | None = None
    evaluation: dict | None = None
    grid: dict = field(default_factory=dict)


def _say(message: str) -> None:
    if is_main_process():
        print(f'[videoar] {message}', flush=True)


# ---------------------------------------------------------------------------------------------
# parsing and preparing stage configs
# ---------------------------------------------------------------------------------------------


def parse_stages(cfg: Config) -> list[Stage]:
    """Check the ``stages`` list of a curriculum config and return it as :class:`Stage` s."""
    entries = cfg.get('stages')
    if not isinstance(entries, (list, tuple)) or not entries:
        raise ConfigError('a curriculum config needs stages = [dict(name=..., config=...), ...].')
    stages: list[Stage] = []
    for i, entry in enumerate(entries):
        where = f'stages[{i}]'
        if not isinstance(entry, Mapping):
            raise ConfigError(f'{where} must be a dict(name=..., config=...), got {entry!r}.')
        check_known_keys(entry, STAGE_KEYS, where)
        name = entry.get('name')
        if not isinstance(name, str) or not re.fullmatch(r'[A-Za-z0-9_.-]+', name):
            raise ConfigError(
                f'{where}.name must be a folder name (letters, digits, _ . -), got {name!r}.'
            )
        if any(s.name == name for s in stages):
            raise ConfigError(f'{where}: the stage name {name!r} is used twice.')
        stage = Stage(
            name=name,
            kind=entry.get('kind', 'train'),
            config=entry.get('config'),
            cfg_options=dict(entry.get('cfg_options') or {}),
            init_from=entry.get('init_from'),
            tokenizer_from=entry.get('tokenizer_from'),
            from_stage=entry.get('from_stage'),
            evaluation=copy.deepcopy(_to_dict(entry.get('evaluation'))),
            grid=dict(entry.get('grid') or {}),
        )
        check_choice(stage.kind, ('train', 'evaluate'), f'{where}.kind')
        earlier = [s.name for s in stages if s.kind == 'train']
        if stage.kind == 'train':
            if not stage.config:
                raise ConfigError(f'{where} ({name}): a train stage needs config=PATH.')
            for key in ('from_stage', 'evaluation', 'grid'):
                if entry.get(key) is not None:
                    raise ConfigError(f'{where} ({name}): {key} is for evaluate stages only.')
        else:
            for key in ('init_from', 'tokenizer_from'):
                if entry.get(key) is not None:
                    raise ConfigError(f'{where} ({name}): {key} is for train stages only.')
            if not earlier:
                raise ConfigError(
                    f'{where} ({name}): an evaluate stage needs a train stage before it.'
                )
            stage.from_stage = stage.from_stage or earlier[-1]
            check_known_keys(stage.grid, GRID_KEYS, f'{where}.grid')
        for key in ('init_from', 'tokenizer_from', 'from_stage'):
            source = getattr(stage, key)
            if source is not None and source not in earlier:
                raise ConfigError(
                    f'{where} ({name}): {key}={source!r} must name an earlier train stage; '
                    f'earlier train stages: {earlier}.'
                )
        stages.append(stage)
    return stages


def _to_dict(value):
    if isinstance(value, ConfigDict):
        return value.to_dict()
    return dict(value) if isinstance(value, Mapping) else value


def resolve_config_path(path: str, curriculum_file: str | None) -> str:
    """A stage config path: as given, next to the curriculum config, or in the repository."""
    candidates = [path]
    if curriculum_file:
        here = osp.dirname(osp.abspath(curriculum_file))
        candidates += [osp.join(here, path), osp.join(osp.dirname(here), path)]
    candidates.append(osp.join(REPO_ROOT, path))
    for candidate in candidates:
        if osp.isfile(candidate):
            return candidate
    raise ConfigError(f'stage config {path!r} not found (looked in {candidates}).')


class Curriculum:
    """The state of one curriculum run (see the module docstring)."""

    def __init__(self, cfg: Config, resume: bool = False, amp: bool = False, launcher='none'):
        if not cfg.get('work_dir'):
            raise ConfigError('a curriculum config needs work_dir (or pass --work-dir).')
        self.cfg = cfg
        self.root = osp.abspath(cfg.work_dir)
        self.stages = parse_stages(cfg)
        shared = _to_dict(cfg.get('curriculum')) or {}
        check_known_keys(shared, CURRICULUM_KEYS, 'curriculum')
        self.shared_options = dict(shared.get('cfg_options') or {})
        self.auto_resume = bool(shared.get('auto_resume', True))
        self.resume = bool(resume)
        self.amp = bool(amp)
        self.launcher = launcher
        self.filename = getattr(cfg, 'filename', None)
        self.command = f'python tools/train.py {self.filename or "<curriculum config>"}'
        self.records: dict[str, dict] = {}

    def work_dir(self, name: str) -> str:
        return osp.join(self.root, name)

    def final_checkpoint(self, name: str) -> str:
        return find_final_checkpoint(
            self.work_dir(name), command=self.command, require_finished=True
        )

    # ---- stage configs ---------------------------------------------------------------------
    def load_stage_config(self, stage: Stage, link: bool = True) -> Config:
        """The stage's config with the shared and its own options, the work dir and the links."""
        path = resolve_config_path(stage.config, self.filename)
        cfg = launch.load_config(path)
        for options in (self.shared_options, stage.cfg_options):
            if options:
                cfg.merge_from_dict(copy.deepcopy(options))
        cfg.work_dir = self.work_dir(stage.name)
        if link:
            self._resolve_placeholders(cfg)
            if stage.init_from:
                self._link_init(cfg, stage)
            if stage.tokenizer_from:
                self._link_tokenizer(cfg, self.final_checkpoint(stage.tokenizer_from))
        self._default_cache_dirs(cfg)
        hooks = list(cfg.get('custom_hooks') or [])
        if not any(_hook_type(h) == 'StageFinishedHook' for h in hooks):
            hooks.append(dict(type='StageFinishedHook'))
        cfg.custom_hooks = hooks
        return cfg

    def _resolve_placeholders(self, cfg: Config) -> None:
        def replace(text: str) -> str:
            def one(match):
                what, name = match.group(1), match.group(2)
                if name is None:
                    if what == 'checkpoint':
                        raise ConfigError('{checkpoint} needs a stage name: {checkpoint:NAME}.')
                    return self.root
                if not any(s.name == name for s in self.stages):
                    raise ConfigError(f'placeholder {match.group(0)} names no stage.')
                return self.work_dir(name) if what == 'work_dir' else self.final_checkpoint(name)

            return _PLACEHOLDER.sub(one, text)

        updates = {
            path: replace(value)
            for path, value in _walk_strings(cfg._cfg_dict.to_dict())
            if _PLACEHOLDER.search(value)
        }
        if updates:
            cfg.merge_from_dict(updates)

    def _link_init(self, cfg: Config, stage: Stage) -> None:
        checkpoint = self.final_checkpoint(stage.init_from)
        hooks = list(cfg.get('custom_hooks') or [])
        found = False
        for hook in hooks:
            if _hook_type(hook) == 'InitFromStageHook':
                hook['checkpoint'] = checkpoint
                hook['stage_work_dir'] = None
                hook.setdefault('command', self.command)
                found = True
        if not found:
            hooks.insert(
                0, dict(type='InitFromStageHook', checkpoint=checkpoint, command=self.command)
            )
        cfg.custom_hooks = hooks

    def _link_tokenizer(self, cfg: Config, checkpoint: str) -> None:
        model = cfg.get('model')
        if isinstance(model, Mapping) and _accepts(model.get('type'), 'tokenizer_checkpoint'):
            cfg.model.tokenizer_checkpoint = checkpoint
        for dataset in _latent_cache_datasets(cfg):
            tokenizer = dataset.get('tokenizer')
            if isinstance(tokenizer, Mapping) and 'checkpoint' in tokenizer:
                tokenizer['checkpoint'] = checkpoint
            else:
                dataset['checkpoint'] = checkpoint

    def _default_cache_dirs(self, cfg: Config) -> None:
        for dataset in _latent_cache_datasets(cfg):
            if dataset.get('cache_dir') is None:
                dataset['cache_dir'] = osp.join(self.root, 'latent_cache')

    # ---- running -----------------------------------------------------------------------------
    def plan(self) -> list[tuple[Stage, str]]:
        out = []
        for stage in self.stages:
            if stage.kind == 'evaluate':
                out.append((stage, 'evaluate'))
                continue
            if read_finished(self.work_dir(stage.name)) is not None:
                out.append((stage, 'finished'))
            elif read_last_checkpoint(self.work_dir(stage.name)):
                out.append((stage, 'interrupted'))
            else:
                out.append((stage, 'new'))
        return out

    def run(self) -> dict:
        start = time.time()
        _say(f'curriculum {self.filename}: {len(self.stages)} stages in {self.root}')
        for stage, status in self.plan():
            what = f'{stage.config}' if stage.kind == 'train' else f'evaluate {stage.from_stage}'
            _say(f'  {stage.name:<12} {status:<12} {what} -> {self.work_dir(stage.name)}')
        for stage in self.stages:
            if stage.kind == 'train':
                self.records[stage.name] = self.run_train_stage(stage)
            else:
                self.records[stage.name] = self.run_evaluate_stage(stage)
        total = time.time() - start
        _say(f'curriculum done in {total:.1f} s. Work dir: {self.root}')
        for name, record in self.records.items():
            where = record.get('checkpoint') or record.get('report') or ''
            _say(
                f'  {name:<12} {record["status"]:<10} {record.get("wall_time_s", 0):8.1f} s  {where}'
            )
        return dict(work_dir=self.root, stages=self.records, wall_time_s=round(total, 2))

    def run_train_stage(self, stage: Stage) -> dict:
        work_dir = self.work_dir(stage.name)
        finished = read_finished(work_dir)
        if finished is not None:
            max_iters = (
                self.load_stage_config(stage, link=False).get('train_cfg', {}).get('max_iters')
            )
            if max_iters is None or finished.get('iteration', 0) >= max_iters:
                _say(
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
            _say(
                f'stage {stage.name}: finished at iteration {finished.get("iteration")} but now '
                f'configured for {max_iters}; continuing it.'
            )
        cfg = self.load_stage_config(stage)
        launch.check_top_level_keys(cfg, for_training=True)
        latest = read_last_checkpoint(work_dir)
        resuming = latest is not None and (self.resume or self.auto_resume)
        cfg.resume = resuming
        cfg.load_from = None
        if self.amp:
            launch.enable_amp(cfg)
        launch.setup_launcher(cfg, self.launcher)
        if cfg.get('experiment_name') is None:
            stamp = datetime.datetime.now().strftime('%Y%m%d_%H%M%S')
            cfg.experiment_name = f'{stage.name}_{stamp}_{uuid.uuid4().hex[:6]}'
        how = f'resuming from {latest}' if resuming else 'starting'
        _say(f'stage {stage.name}: {how} ({cfg.filename}) -> {work_dir}')
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
        _say(f'stage {stage.name}: done in {wall:.1f} s, final checkpoint {finished["checkpoint"]}')
        return dict(
            status='resumed' if resuming else 'trained',
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
                _say(
                    f'WARNING: stage {source} finished after stage {stage.name}, which was '
                    f'trained from its older weights; delete {self.work_dir(stage.name)} to '
                    'retrain it.'
                )

    # ---- evaluation ------------------------------------------------------------------------
    def _evaluation_settings(self, stage: Stage, source_cfg: Config) -> dict:
        settings = stage.evaluation
        if settings is None:
            hooks = [
                h
                for h in source_cfg.get('custom_hooks') or []
                if _hook_type(h) == 'GenerationEvaluationHook'
            ]
            if not hooks:
                raise ConfigError(
                    f'evaluate stage {stage.name}: give evaluation=dict(metrics=[...], '
                    f'num_samples=...), or add a GenerationEvaluationHook to the config of '
                    f'{stage.from_stage}.'
                )
            settings = _to_dict(hooks[0])
            for key in ('type', 'interval', 'use_ema', 'evaluate_at_end', 'out_file', 'prefix'):
                settings.pop(key, None)
        allowed = set(inspect.signature(evaluate_generation).parameters) - {
            'model',
            'progress',
            'keep_videos',  # grid.num_videos
        }
        check_known_keys(settings, allowed, f'stages.{stage.name}.evaluation')
        if 'metrics' not in settings or 'num_samples' not in settings:
            raise ConfigError(
                f'evaluate stage {stage.name}: evaluation needs metrics and num_samples.'
            )
        return copy.deepcopy(settings)

    def run_evaluate_stage(self, stage: Stage) -> dict:
        source = next(s for s in self.stages if s.name == stage.from_stage)
        checkpoint = self.final_checkpoint(source.name)
        source_finished = read_finished(self.work_dir(source.name)) or {}
        identity = dict(checkpoint=checkpoint, finished_at=source_finished.get('finished_at'))
        out_dir = self.work_dir(stage.name)
        files = dict(
            metrics=osp.join(self.root, 'metrics.json'),
            mp4=osp.join(self.root, 'samples.mp4'),
            gif=osp.join(self.root, 'samples.gif'),
            report=osp.join(self.root, 'report.md'),
        )
        done_file = osp.join(out_dir, EVAL_DONE_FILE)
        if osp.isfile(done_file) and all(osp.isfile(p) for p in files.values()):
            with open(done_file) as f:
                done = json.load(f)
            if done.get('source') == identity:
                _say(f'stage {stage.name}: {files["metrics"]} is up to date, skipped.')
                self._write_report(stage, done.get('metrics', {}), done.get('protocol', {}), files)
                return dict(status='skipped', wall_time_s=done.get('wall_time_s', 0.0), **files)

        source_cfg = self.load_stage_config(source)
        settings = self._evaluation_settings(stage, source_cfg)
        grid = {**dict(num_videos=16, nrow=None, fps=8), **stage.grid}
        _say(f'stage {stage.name}: evaluating {checkpoint}')
        start = time.time()
        model = _build_model(source_cfg, checkpoint)
        result = evaluate_generation(model, keep_videos=int(grid['num_videos']), **settings)
        wall = time.time() - start
        protocol = dict(result.protocol)
        protocol.update(
            checkpoint=checkpoint,
            stage=source.name,
            config=source_cfg.filename,
            weights='EMA (as stored by EMAHook)' if _has_ema(source_cfg) else 'raw',
            wall_time_s=round(wall, 2),
        )
        metrics = result.metrics
        if is_main_process():
            os.makedirs(out_dir, exist_ok=True)
            write_metrics_json(
                files['metrics'], metrics, result.evaluator, extra=dict(protocol=protocol)
            )
            if result.videos is not None:
                write_video_grid(
                    osp.join(self.root, 'samples'), result.videos, grid['nrow'], grid['fps']
                )
            protocol['grid_labels'] = list(result.labels)
            self.records[stage.name] = dict(status='evaluated', wall_time_s=round(wall, 2), **files)
            self._write_report(stage, metrics, protocol, files)
            with open(done_file, 'w') as f:
                json.dump(
                    dict(source=identity, metrics=metrics, protocol=protocol, wall_time_s=round(wall, 2)),
                    f, indent=2, default=str,
                )  # fmt: skip
        barrier()
        numbers = ', '.join(
            f'{k}={v:.4g}' for k, v in metrics.items() if isinstance(v, (int, float))
        )
        _say(f'stage {stage.name}: {numbers}')
        _say(f'stage {stage.name}: wrote {", ".join(files.values())}')
        del model
        gc.collect()
        return dict(status='evaluated', wall_time_s=round(wall, 2), **files)

    def _write_report(self, stage: Stage, metrics: dict, protocol: dict, files: dict) -> None:
        if not is_main_process():
            return
        records = dict(self.records)
        records.setdefault(
            stage.name, dict(status='evaluated', wall_time_s=protocol.get('wall_time_s', 0))
        )
        text = render_report(self, stage, metrics, protocol, files, records)
        with open(files['report'], 'w') as f:
            f.write(text)


def render_report(curriculum, stage, metrics, protocol, files, records) -> str:
    """The markdown report: metrics (generated / references), protocol, files, stages."""
    root = curriculum.root
    rel = lambda p: osp.relpath(p, root) if p else ''  # noqa: E731
    lines = [
        '# VideoAR curriculum report',
        '',
        f'Config: `{curriculum.filename}`  ',
        f'Work directory: `{root}`  ',
        f'Written: {datetime.datetime.now().isoformat(timespec="seconds")}',
        '',
        f'## Metrics ({protocol.get("stage", stage.from_stage)}, {protocol.get("weights", "")} weights)',
        '',
    ]
    columns = [('', 'generated'), ('real/', 'real clips'), ('shuffled/', 'shuffled conditions')]
    columns = [c for c in columns if c[0] == '' or any(k.startswith(c[0]) for k in metrics)]
    base = [k for k in metrics if '/' not in k and isinstance(metrics[k], (int, float))]
    lines.append('| metric | ' + ' | '.join(c[1] for c in columns) + ' |')
    lines.append('|---|' + '---|' * len(columns))
    for key in base:
        cells = [_fmt(metrics.get(prefix + key)) for prefix, _ in columns]
        lines.append(f'| {key} | ' + ' | '.join(cells) + ' |')
    notes = [f'- {k}: {v}' for k, v in metrics.items() if not isinstance(v, (int, float))]
    if notes:
        lines += [''] + notes
    lines += [
        '',
        '## Protocol',
        '',
        f'- {protocol.get("num_samples")} generated videos of {protocol.get("num_frames")} frames, '
        f'conditions `{protocol.get("conditions")}` ({protocol.get("num_classes")} classes), '
        f'seed {protocol.get("seed")}',
        f'- checkpoint: `{protocol.get("checkpoint")}`',
        f'- metrics: {", ".join(m.get("type", "?") for m in protocol.get("metrics", []))}',
        f'- real clips: {protocol.get("real_dataset")}; {protocol.get("real_pairs") or "none"}',
        f'- references: {", ".join(protocol.get("references") or []) or "none"} '
        '(real: real clips scored as if generated; shuffled: generated with another class, '
        'scored against the original one)',
        f'- sampling settings: {protocol.get("sample_cfg") or "model defaults"}',
        '',
        '## Videos',
        '',
        f'- sample grid: `{rel(files["mp4"])}`, `{rel(files["gif"])}` '
        f'(conditioning labels, row by row: {protocol.get("grid_labels", "see metrics.json")})',
        f'- metrics: `{rel(files["metrics"])}`',
        '',
        '## Stages',
        '',
        '| stage | kind | status | iterations | wall time (s) | final checkpoint |',
        '|---|---|---|---|---|---|',
    ]
    for s in curriculum.stages:
        record = records.get(s.name, {})
        lines.append(
            f'| {s.name} | {s.kind} | {record.get("status", "not run")} | '
            f'{record.get("iteration", "") or ""} | {_fmt(record.get("wall_time_s"))} | '
            f'`{rel(record.get("checkpoint"))}` |'
        )
    lines += [
        '',
        'Wall times of skipped stages are those recorded when they ran (for a resumed stage, the '
        'time of the last run only).',
        '',
    ]
    return '\n'.join(lines)


def _fmt(value) -> str:
    if value is None:
        return ''
    if isinstance(value, float):
        return f'{value:.4g}'
    return str(value)


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _hook_type(hook) -> str | None:
    if isinstance(hook, Mapping):
        kind = hook.get('type')
        return kind if isinstance(kind, str) else getattr(kind, '__name__', None)
    return type(hook).__name__


def _has_ema(cfg: Config) -> bool:
    return any(_hook_type(h) == 'EMAHook' for h in cfg.get('custom_hooks') or [])


def _accepts(model_type, argument: str) -> bool:
    """Whether the registered model class takes ``argument`` in its constructor."""
    if model_type is None:
        return False
    try:
        cls = MODELS.get(model_type) if isinstance(model_type, str) else model_type
    except KeyError:
        return False
    return cls is not None and argument in inspect.signature(cls.__init__).parameters


def _walk_strings(value, path: str = ''):
    """Yield ``(dotted path, string)`` for every string inside nested dicts and lists."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _walk_strings(item, f'{path}.{key}' if path else str(key))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _walk_strings(item, f'{path}.{i}' if path else str(i))


def _latent_cache_datasets(cfg: Config):
    """Every ``LatentCacheDataset`` config inside the config's dataloaders (nested datasets too)."""

    def visit(node):
        if isinstance(node, Mapping):
            if node.get('type') == 'LatentCacheDataset':
                yield node
            for key in ('dataset', 'datasets'):
                if key in node:
                    yield from visit(node[key])
        elif isinstance(node, (list, tuple)):
            for item in node:
                yield from visit(item)

    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if isinstance(loader, Mapping):
            yield from visit(loader.get('dataset'))


def _build_model(cfg: Config, checkpoint: str):
    """Build ``cfg.model`` and load ``checkpoint`` strictly (``videoar.pipelines.init_model``)."""
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    return init_model(cfg, checkpoint, device=device)


def run_curriculum(cfg: Config, resume: bool = False, amp: bool = False, launcher: str = 'none'):
    """Run every stage of ``cfg.stages`` in order (see the module docstring).

    Returns a summary ``dict(work_dir, stages={name: record}, wall_time_s)``.
    """
    return Curriculum(cfg, resume=resume, amp=amp, launcher=launcher).run()


__all__ = ['Curriculum', 'Stage', 'parse_stages', 'render_report', 'run_curriculum']
