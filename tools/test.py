"""Evaluate a checkpoint with the metrics of a config and write ``metrics.json``.

python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE] [--cfg-options k=v ...]
"""

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from videoar.engine import launch  # noqa: E402
from videoar.evaluation.report import write_metrics_json  # noqa: E402


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
    for key in ('test_dataloader', 'test_evaluator'):
        if cfg.get(key) is None:
            raise SystemExit(f'config {args.config} has no {key}; tools/test.py needs one.')
    cfg.load_from = args.checkpoint
    cfg.resume = False
    launch.setup_launcher(cfg, args.launcher)

    runner = launch.build_runner(cfg)
    metrics = runner.test()
    if runner.rank == 0:
        out = args.out or osp.join(work_dir, 'metrics.json')
        write_metrics_json(
            out,
            metrics,
            runner.test_evaluator,
            extra=dict(config=osp.abspath(args.config), checkpoint=osp.abspath(args.checkpoint)),
        )
        for name, value in metrics.items():
            print(f'[videoar] {name}: {value}')
        print(f'[videoar] metrics written to {osp.abspath(out)}', flush=True)
    return metrics


if __name__ == '__main__':
    main()
