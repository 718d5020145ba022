"""Evaluate a checkpoint with the metrics of a config and write ``metrics.json``.

python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE] [--cfg-options k=v ...]

CHECKPOINT is a file or a run's work dir (its final checkpoint; for a curriculum config, the
curriculum's work dir: the checkpoint its evaluate stage scores). Without ``--work-dir``, the
metrics of a run's work dir (and of a curriculum) go to ``<that work dir>/test/metrics.json``, of
a checkpoint file to ``work_dirs/<config name>/metrics.json``.

A config with ``test_dataloader`` and ``test_evaluator`` is scored by mmengine's test loop (e.g.
a tokenizer's reconstruction metrics). A generator config without them is scored as its
``GenerationEvaluationHook`` scores it after training: videos generated from the checkpoint,
through :func:`videoar.evaluation.evaluate_generation`, with a progress bar and the protocol
written beside the numbers. A curriculum config (``configs/videoar_curriculum.py``) is scored
exactly as its evaluate stage scores the main job (the same metrics, sample count and
references: real clips and shuffled conditions). A missing checkpoint or a config mistake is
one line on stderr (exit code 2).
"""

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch  # noqa: E402
from mmengine.dist import is_main_process  # noqa: E402

from videoar.engine import launch  # noqa: E402
from videoar.engine.curriculum.evaluate import evaluation_settings  # noqa: E402
from videoar.engine.curriculum.runner import Curriculum  # noqa: E402
from videoar.engine.hooks.generation_evaluation_hook import evaluation_settings_of  # noqa: E402
from videoar.evaluation import evaluate_generation  # noqa: E402
from videoar.evaluation.report import write_metrics_json  # noqa: E402
from videoar.io.checkpoint import CheckpointNotFoundError, find_final_checkpoint  # noqa: E402
from videoar.io.runs import curriculum_record  # noqa: E402
from videoar.pipelines import init_model  # noqa: E402
from videoar.utils import ConfigError  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (evaluate) a videoar model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help="checkpoint file, or a run's work dir")
    parser.add_argument('--work-dir', help='the dir to save logs and metrics.json')
    parser.add_argument(
        '--out', help='where to write the metrics json (default: WORK_DIR/metrics.json)'
    )
    launch.add_runner_arguments(
        parser, 'override settings (a hook by its type: custom_hooks.EMAHook.momentum=0.001)'
    )
    return launch.parse_tool_args(parser, argv)


def main(argv=None):
    args = parse_args(argv)
    cfg, work_dir = launch.prepare_config(
        args.config, args.cfg_options, args.work_dir, for_training=False
    )
    curriculum = Curriculum(cfg) if cfg.get('stages') is not None else None
    # a run's work dir is scored (a stage's, or a main job's, also copied or moved): the metrics
    # go beside it
    run_dir = osp.abspath(args.checkpoint) if osp.isdir(args.checkpoint) else None
    if curriculum is not None:
        cfg, stage = curriculum_source(curriculum)
        work_dir = args.work_dir or osp.join(run_dir or curriculum.root, 'test')
    elif args.work_dir is None and run_dir is not None:
        work_dir = osp.join(run_dir, 'test')
        cfg.work_dir = work_dir
    args.checkpoint = checkpoint_of(args.checkpoint, curriculum)
    launch.setup_launcher(cfg, args.launcher)
    has_test_loop = all(cfg.get(k) is not None for k in ('test_dataloader', 'test_evaluator'))
    if curriculum is not None:
        metrics, evaluator, extra = run_generation_evaluation(
            cfg, args, evaluation_settings(stage, cfg)
        )
    elif has_test_loop:
        metrics, evaluator, extra = run_test_loop(cfg, args.checkpoint)
    else:
        metrics, evaluator, extra = run_generation_evaluation(cfg, args)
    if is_main_process():
        out = args.out or osp.join(work_dir, 'metrics.json')
        extra.update(config=osp.abspath(args.config), checkpoint=osp.abspath(args.checkpoint))
        write_metrics_json(out, metrics, evaluator, extra=extra)
        for name, value in metrics.items():
            print(f'[videoar] {name}: {value}')
        print(f'[videoar] metrics written to {osp.abspath(out)}', flush=True)
    return metrics


def checkpoint_of(path: str, curriculum=None) -> str:
    """A checkpoint file; a run's work dir gives its final checkpoint, a curriculum's work dir
    the final checkpoint of the stage its evaluation scores."""
    if osp.isfile(path):
        return path
    if not osp.isdir(path):
        raise CheckpointNotFoundError(
            f'checkpoint {path!r} does not exist (give a checkpoint file or a run work dir).'
        )
    if curriculum is not None and curriculum_record(path) is not None:
        _, stage = curriculum_source(curriculum)
        path = osp.join(path, stage.from_stage)
    return find_final_checkpoint(path)


def curriculum_source(curriculum):
    """``(config of the stage the curriculum evaluates, the evaluate stage)``."""
    stages = [s for s in curriculum.stages if s.kind == 'evaluate']
    if not stages:
        raise ConfigError(f'curriculum {curriculum.filename} has no evaluate stage to reproduce.')
    stage = stages[-1]
    source = next(s for s in curriculum.stages if s.name == stage.from_stage)
    return curriculum.load_stage_config(source, link=False), stage


def run_test_loop(cfg, checkpoint: str):
    """mmengine's test loop on the config's test dataloader and evaluator."""
    cfg.load_from = checkpoint
    cfg.resume = False
    runner = launch.build_runner(cfg)
    return runner.test(), runner.test_evaluator, {}


def run_generation_evaluation(cfg, args, settings=None):
    """Generate from the checkpoint and score the videos as the config's
    ``GenerationEvaluationHook`` does, or with ``settings`` (EMA weights when EMA was on:
    mmengine stores them)."""
    settings = settings if settings is not None else evaluation_settings_of(cfg)
    if settings is None:
        raise ConfigError(
            f'config {args.config} has no test_dataloader/test_evaluator and no '
            'GenerationEvaluationHook; tools/test.py needs one of them to know what to measure.'
        )
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    model = init_model(cfg, args.checkpoint, device=device)
    result = evaluate_generation(model, keep_videos=0, **settings)
    return result.metrics, result.evaluator, dict(protocol=result.protocol)


if __name__ == '__main__':
    launch.run_main(main)
