"""The curriculum's evaluate stage: score the source stage's final checkpoint once.

The stage builds the source stage's model with its final checkpoint (EMA weights when EMA was
on: they are what mmengine stores in ``state_dict``), runs
:func:`videoar.evaluation.evaluate_generation` and writes ``<work_dir>/metrics.json``,
``samples.mp4``/``samples.gif`` and ``report.md``. It is skipped when those exist for the same
final checkpoint (``<work_dir>/<stage>/evaluated.json`` records which).
"""

from __future__ import annotations

import copy
import gc
import inspect
import os
import os.path as osp
import time

import torch
from mmengine.config import Config
from mmengine.dist import barrier, is_main_process

from videoar.evaluation.generation import evaluate_generation
from videoar.evaluation.grid_labels import class_text
from videoar.evaluation.report import write_metrics_json
from videoar.io.checkpoint import read_finished
from videoar.io.records import read_json, write_json
from videoar.pipelines import init_model
from videoar.utils import ConfigError, check_known_keys

from ..hooks.generation_evaluation_hook import evaluation_settings_of
from ..visualization import write_video_grid
from .linking import has_hook
from .report import write_report
from .stages import Stage

EVAL_DONE_FILE = 'evaluated.json'
DEFAULT_GRID = dict(num_videos=16, nrow=None, fps=8, labels=True)  # labels: class text per tile
#: evaluate_generation arguments the stage sets itself
STAGE_SET_KEYS = ('model', 'progress', 'keep_videos')  # keep_videos: grid.num_videos


def evaluation_settings(stage: Stage, source_cfg: Config) -> dict:
    """``evaluate_generation`` arguments: the stage's ``evaluation``, else those of the source
    config's ``GenerationEvaluationHook``."""
    settings = stage.evaluation
    if settings is None:
        settings = evaluation_settings_of(source_cfg)
        if settings is None:
            raise ConfigError(
                f'evaluate stage {stage.name}: give evaluation=dict(metrics=[...], '
                f'num_samples=...), or add a GenerationEvaluationHook to the config of '
                f'{stage.from_stage}.'
            )
    allowed = set(inspect.signature(evaluate_generation).parameters) - set(STAGE_SET_KEYS)
    check_known_keys(settings, allowed, f'stages.{stage.name}.evaluation')
    if 'metrics' not in settings or 'num_samples' not in settings:
        raise ConfigError(f'evaluate stage {stage.name}: evaluation needs metrics and num_samples.')
    return copy.deepcopy(settings)


def output_files(root: str) -> dict:
    """The files an evaluate stage writes into the curriculum's work directory."""
    return dict(
        metrics=osp.join(root, 'metrics.json'),
        mp4=osp.join(root, 'samples.mp4'),
        gif=osp.join(root, 'samples.gif'),
        report=osp.join(root, 'report.md'),
    )


def _previous_run(done_file: str, files: dict, identity: dict) -> dict | None:
    """The record of an earlier evaluation of the same checkpoint whose files all exist."""
    done = read_json(done_file)
    if done is None or not all(osp.isfile(p) for p in files.values()):
        return None
    return done if done.get('source') == identity else None


def _build_model(cfg: Config, checkpoint: str):
    """Build ``cfg.model`` and load ``checkpoint`` strictly (``videoar.pipelines.init_model``)."""
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    return init_model(cfg, checkpoint, device=device)


def _write_outputs(curriculum, stage, result, protocol: dict, grid: dict, identity: dict) -> None:
    """metrics.json, the sample grid, report.md and the stage's ``evaluated.json`` (rank 0)."""
    files = output_files(curriculum.root)
    metrics = result.metrics
    os.makedirs(curriculum.work_dir(stage.name), exist_ok=True)
    write_metrics_json(files['metrics'], metrics, result.evaluator, extra=dict(protocol=protocol))
    if result.videos is not None:
        write_video_grid(
            osp.join(curriculum.root, 'samples'),
            result.videos,
            grid['nrow'],
            grid['fps'],
            labels=[class_text(label) for label in result.labels] if grid['labels'] else None,
        )
    protocol['grid_labels'] = list(result.labels)
    write_report(curriculum, stage, metrics, protocol, files)
    record = dict(
        source=identity, metrics=metrics, protocol=protocol, wall_time_s=protocol['wall_time_s']
    )
    write_json(osp.join(curriculum.work_dir(stage.name), EVAL_DONE_FILE), record)


def run_evaluate_stage(curriculum, stage: Stage) -> dict:
    """Evaluate the final checkpoint of ``stage.from_stage`` (skipped when up to date).

    Returns the stage's record ``dict(status, wall_time_s, metrics, mp4, gif, report)``.
    """
    source = next(s for s in curriculum.stages if s.name == stage.from_stage)
    checkpoint = curriculum.final_checkpoint(source.name)
    source_finished = read_finished(curriculum.work_dir(source.name)) or {}
    identity = dict(checkpoint=checkpoint, finished_at=source_finished.get('finished_at'))
    files = output_files(curriculum.root)
    done_file = osp.join(curriculum.work_dir(stage.name), EVAL_DONE_FILE)
    done = _previous_run(done_file, files, identity)
    if done is not None:
        curriculum.say(f'stage {stage.name}: {files["metrics"]} is up to date, skipped.')
        write_report(curriculum, stage, done.get('metrics', {}), done.get('protocol', {}), files)
        return dict(status='skipped', wall_time_s=done.get('wall_time_s', 0.0), **files)

    source_cfg = curriculum.load_stage_config(source)
    settings = evaluation_settings(stage, source_cfg)
    grid = {**DEFAULT_GRID, **stage.grid}
    curriculum.say(f'stage {stage.name}: evaluating {checkpoint}')
    start = time.time()
    model = _build_model(source_cfg, checkpoint)
    result = evaluate_generation(model, keep_videos=int(grid['num_videos']), **settings)
    wall = round(time.time() - start, 2)
    protocol = dict(result.protocol)
    protocol.update(
        checkpoint=checkpoint,
        stage=source.name,
        config=source_cfg.filename,
        weights='EMA (as stored by EMAHook)' if has_hook(source_cfg, 'EMAHook') else 'raw',
        wall_time_s=wall,
    )
    record = dict(status='evaluated', wall_time_s=wall, **files)
    if is_main_process():
        curriculum.records[stage.name] = record  # the report lists this stage as evaluated
        _write_outputs(curriculum, stage, result, protocol, grid, identity)
    barrier()
    numbers = ', '.join(
        f'{k}={v:.4g}' for k, v in result.metrics.items() if isinstance(v, (int, float))
    )
    curriculum.say(f'stage {stage.name}: {numbers}')
    curriculum.say(f'stage {stage.name}: wrote {", ".join(files.values())}')
    del model
    gc.collect()
    return record


__all__ = ['EVAL_DONE_FILE', 'evaluation_settings', 'output_files', 'run_evaluate_stage']
