"""Evaluate a checkpoint with the metrics of a config and write ``metrics.json``.

python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE] [--cfg-options k=v ...]

A config with ``test_dataloader`` and ``test_evaluator`` is scored by mmengine's test loop (e.g.
a tokenizer's reconstruction metrics). A generator config without them is scored as its
``GenerationEvaluationHook`` scores it after training: videos generated from the checkpoint,
through :func:`videoar.evaluation.evaluate_generation` (the function the curriculum's evaluate
stage calls too), with the protocol written beside the numbers.
"""

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch  # noqa: E402
from mmengine.dist import is_main_process  # noqa: E402

from videoar.engine import launch  # noqa: E402
from videoar.engine.hooks.generation_evaluation_hook import evaluation_settings_of  # noqa: E402
from videoar.evaluation import evaluate_generation  # noqa: E402
from videoar.evaluation.report import write_metrics_json  # noqa: E402
from videoar.pipelines import init_model  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (evaluate) a videoar model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
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
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint!r} does not exist.')
    cfg, work_dir = launch.prepare_config(
        args.config, args.cfg_options, args.work_dir, for_training=False
    )
    launch.setup_launcher(cfg, args.launcher)
    has_test_loop = all(cfg.get(k) is not None for k in ('test_dataloader', 'test_evaluator'))
    if has_test_loop:
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


def run_test_loop(cfg, checkpoint: str):
    """mmengine's test loop on the config's test dataloader and evaluator."""
    cfg.load_from = checkpoint
    cfg.resume = False
    runner = launch.build_runner(cfg)
    return runner.test(), runner.test_evaluator, {}


def run_generation_evaluation(cfg, args):
    """Generate from the checkpoint and score the videos as the config's
    ``GenerationEvaluationHook`` does (EMA weights when EMA was on: mmengine stores them)."""
    settings = evaluation_settings_of(cfg)
    if settings is None:
        raise SystemExit(
            f'config {args.config} has no test_dataloader/test_evaluator and no '
            'GenerationEvaluationHook; tools/test.py needs one of them to know what to measure.'
        )
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    model = init_model(cfg, args.checkpoint, device=device)
    result = evaluate_generation(model, keep_videos=0, **settings)
    return result.metrics, result.evaluator, dict(protocol=result.protocol)


if __name__ == '__main__':
    main()
