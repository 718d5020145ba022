"""Run an ablation sweep: one training run per combination of --cfg-options values.

    python tools/sweep.py configs/videoar_stage2.py \
        --grid model.corrector.type=NoCorrection,CrossFrameErrorCorrection \
               model.masking.drop_prob=0.0,0.2 \
        --cfg-options train_cfg.max_iters=200 --work-dir work_dirs/sweep_correction

Each run gets its own work dir named after its settings; a summary (``sweep.json`` and
``sweep.md``) collects each run's settings, exit status and the last logged scalars. ``--dry-run``
prints the commands. Values are parsed like ``--cfg-options`` (numbers, booleans, lists), and
hooks may be addressed by type (``custom_hooks.EMAHook.momentum=0.001,0.01``). Every run's
options are merged into the config before the first run starts, so a wrong key fails at once.
"""

import argparse
import itertools
import json
import os
import os.path as osp
import re
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

from mmengine.config import DictAction  # noqa: E402

from videoar.engine import launch  # noqa: E402


def parse_grid(items):
    grid = []
    for item in items:
        if '=' not in item:
            raise SystemExit(f'--grid entries look like key=v1,v2 (got {item!r})')
        key, values = item.split('=', 1)
        grid.append((key, [v for v in values.split(',') if v != '']))
    return grid


def run_name(settings):
    parts = [f'{k.split(".")[-1] if k.count(".") else k}-{v}' for k, v in settings]
    return re.sub(r'[^A-Za-z0-9_.=-]+', '_', '_'.join(parts))[:120]


def parse_options(items):
    """``['k=v', ...]`` -> ``{k: v}`` parsed as ``--cfg-options`` (mmengine's ``DictAction``)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args(['--cfg-options', *items] if items else []).cfg_options


def check_runs(config, runs):
    """Merge each run's options into the config (hooks by type too); fail before any run."""
    for options in runs:
        launch.load_config(config, parse_options(options))


def last_scalars(work_dir):
    for root, _, files in os.walk(work_dir):
        if 'scalars.json' in files:
            with open(osp.join(root, 'scalars.json')) as f:
                lines = [json.loads(line) for line in f if line.strip()]
            return lines[-1] if lines else {}
    return {}


def main(argv=None):
    parser = argparse.ArgumentParser(description='Grid sweep over --cfg-options values')
    parser.add_argument('config')
    parser.add_argument('--grid', nargs='+', required=True, help='key=v1,v2 ...')
    parser.add_argument('--cfg-options', nargs='*', default=[], help='fixed overrides for all runs')
    parser.add_argument('--work-dir', default=None)
    parser.add_argument('--amp', action='store_true')
    parser.add_argument('--dry-run', action='store_true')
    args = parser.parse_args(argv)

    grid = parse_grid(args.grid)
    base_dir = args.work_dir or osp.join(
        'work_dirs', 'sweep_' + osp.splitext(osp.basename(args.config))[0]
    )
    runs = []
    for values in itertools.product(*[vals for _, vals in grid]):
        settings = list(zip([k for k, _ in grid], values))
        runs.append((settings, list(args.cfg_options) + [f'{k}={v}' for k, v in settings]))
    check_runs(args.config, [options for _, options in runs])
    summary = []
    for settings, options in runs:
        work_dir = osp.join(base_dir, run_name(settings))
        cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), args.config,
               '--work-dir', work_dir]  # fmt: skip
        if args.amp:
            cmd.append('--amp')
        cmd += ['--cfg-options', *options]
        print(' '.join(cmd), flush=True)
        if args.dry_run:
            continue
        status = subprocess.call(cmd)
        summary.append(dict(settings=dict(settings), work_dir=work_dir, returncode=status,
                            last_scalars=last_scalars(work_dir)))  # fmt: skip
    if args.dry_run:
        return summary
    os.makedirs(base_dir, exist_ok=True)
    with open(osp.join(base_dir, 'sweep.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    keys = sorted({k for run in summary for k in run['last_scalars'] if k.startswith('loss')})
    lines = ['| ' + ' | '.join([k for k, _ in grid] + ['status'] + keys) + ' |']
    lines.append('|' + '---|' * (len(grid) + 1 + len(keys)))
    for run in summary:
        row = [str(run['settings'][k]) for k, _ in grid] + [str(run['returncode'])]
        row += [f'{run["last_scalars"].get(k, float("nan")):.4g}' for k in keys]
        lines.append('| ' + ' | '.join(row) + ' |')
    with open(osp.join(base_dir, 'sweep.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print(f'[videoar] sweep summary: {osp.abspath(osp.join(base_dir, "sweep.md"))}')
    return summary


if __name__ == '__main__':
    main()
