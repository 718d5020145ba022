"""Train a videoar model (or a whole curriculum) from a config.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
                                 [--vis-backend tensorboard wandb]
                                 [--cfg-options k=v ...] [--launcher none|pytorch|slurm]

A stage config takes what it needs from earlier runs through its ``inputs`` (the AR stage
configs: the main job's work dir; ``videoar/engine/runs.py``). Configuration mistakes (a wrong
key, a value of the wrong type, a missing input) stop the tool with one line, exit code 2,
before the Runner starts.

Distributed: ``torchrun --nproc-per-node N tools/train.py CONFIG --launcher pytorch``
(gloo on machines without CUDA, NCCL otherwise).

Reliability: one run per work dir (``<work_dir>/.videoar.lock``, see
``videoar/engine/workdir_lock.py``); SIGTERM, SIGUSR1 or a first Ctrl-C save a checkpoint at the
next iteration and exit with code 75 (``PREEMPTED_EXIT_CODE``, see
``videoar/engine/hooks/preemption_hook.py``); ``--resume`` picks the newest loadable checkpoint
(``videoar/engine/checkpointing.py``).
"""

import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from videoar.engine import launch  # noqa: E402
from videoar.engine.checkpointing import remove_stale_temporaries  # noqa: E402
from videoar.engine.curriculum import preflight_curriculum, run_curriculum  # noqa: E402
from videoar.engine.hooks import Preempted  # noqa: E402
from videoar.engine.option_checks import preflight_components  # noqa: E402
from videoar.engine.workdir_lock import WorkDirLock  # noqa: E402
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
    parser.add_argument(
        '--vis-backend',
        nargs='+',
        choices=sorted(launch.VIS_BACKENDS),
        help='also log scalars (and sampled videos) to TensorBoard (<work_dir>/<timestamp>/'
        'vis_data) and/or Weights & Biases (needs the package installed)',
    )
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


def is_rank_zero(launcher: str) -> bool:
    """Rank 0 of the job, from the launcher's environment (before any process group exists)."""
    if launcher == 'none':
        return True
    return os.environ.get('RANK', os.environ.get('SLURM_PROCID', '0')) == '0'


def main(argv=None):
    args = parse_args(argv)
    cfg, work_dir = launch.prepare_config(
        args.config, args.cfg_options, args.work_dir, for_training=True
    )
    launch.add_vis_backends(cfg, args.vis_backend)
    rank_zero = is_rank_zero(args.launcher)
    if cfg.get('stages') is None:
        preflight_components(cfg)  # datasets and hooks: one line and the fix, before the dump
        launch.link_run_inputs(cfg, verbose=rank_zero)
        launch.preflight_model(cfg)
    else:  # every stage's resolved config, before the first stage trains
        preflight_curriculum(cfg)
    try:
        with WorkDirLock(work_dir, enabled=rank_zero):
            if rank_zero:
                remove_stale_temporaries(work_dir)
            if cfg.get('stages') is not None:  # a curriculum: one Runner per stage
                run_curriculum(
                    cfg, resume=args.resume is not None, amp=args.amp, launcher=args.launcher
                )
            else:
                train_one(cfg, args, work_dir)
    except Preempted as stop:
        if rank_zero:
            print(f'[videoar] {stop.message}', file=sys.stderr, flush=True)
        raise


if __name__ == '__main__':
    launch.run_main(main)
