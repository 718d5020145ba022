"""Train a videoar model (or a whole curriculum) from a config.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
                                 [--cfg-options k=v ...] [--launcher none|pytorch|slurm]

Distributed: ``torchrun --nproc-per-node N tools/train.py CONFIG --launcher pytorch``
(gloo on machines without CUDA, NCCL otherwise).
"""

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from videoar.engine import launch  # noqa: E402
from videoar.engine.curriculum import run_curriculum  # noqa: E402
from videoar.io.checkpoint import read_last_checkpoint  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a videoar model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and checkpoints')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or from the latest one in the work dir when no '
        'path is given',
    )
    parser.add_argument('--amp', action='store_true', help='bf16 mixed precision (CPU and GPU)')
    launch.add_runner_arguments(
        parser,
        'override config settings, e.g. model.transformer.depth=8 train_cfg.max_iters=500; '
        'a hook is addressed by its type, custom_hooks.EMAHook.momentum=0.001 (or its index)',
    )
    return launch.parse_tool_args(parser, argv)


def set_resume(cfg, resume: str | None) -> None:
    """``--resume``: from the latest checkpoint of the work dir (``auto``) or the given one."""
    if resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif resume is not None:
        cfg.resume = True
        cfg.load_from = resume


def train_one(cfg, args, work_dir: str) -> None:
    """Train one config with one mmengine Runner and name the final checkpoint."""
    if args.amp:
        launch.enable_amp(cfg)
    set_resume(cfg, args.resume)
    launch.setup_launcher(cfg, args.launcher)
    runner = launch.build_runner(cfg)
    if runner.rank == 0:
        print(
            f'[videoar] work dir: {osp.abspath(work_dir)} (logs, config, checkpoints)', flush=True
        )
    runner.train()
    final = read_last_checkpoint(work_dir) if runner.rank == 0 else None
    if final is not None:
        print(f'[videoar] final checkpoint: {final}', flush=True)


def main(argv=None):
    args = parse_args(argv)
    cfg, work_dir = launch.prepare_config(
        args.config, args.cfg_options, args.work_dir, for_training=True
    )
    if cfg.get('stages') is not None:  # a curriculum: one Runner per stage
        run_curriculum(cfg, resume=args.resume is not None, amp=args.amp, launcher=args.launcher)
    else:
        train_one(cfg, args, work_dir)


if __name__ == '__main__':
    main()
