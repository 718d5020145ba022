"""Run an ablation sweep: settings x seeds, each run trained, evaluated and tabulated.

    python tools/sweep.py configs/ablations/sweep_table4_movingdigits.py
    python tools/sweep.py SWEEP.py --dry-run            # the plan and the equivalent commands
    python tools/sweep.py SWEEP.py --report-only        # tables and plots from finished runs

A sweep file (mmengine Config syntax, see ``videoar/engine/sweep/spec.py`` and the README
section "Sweeps") gives the base config, the axes of ``--cfg-options`` overrides, the seeds, the
metrics, the evaluation, the executor (local or submitit/Slurm) and the control setting.
Shortcut without a sweep file (a grid over one config)::

    python tools/sweep.py configs/ablations/videoar_tiny-ablation_movingdigits.py \
        --grid model.corrector.p_max=0.1,0.25 --seeds 0 1 2 --cfg-options train_cfg.max_iters=200

Re-running skips the finished runs, resumes interrupted ones and retries failed ones. Results:
``WORK_DIR/sweep.md``, ``sweep.csv``, ``runs.csv``, ``sweep_<metric>.png``.
"""

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import DictAction  # noqa: E402

from videoar.engine.sweep import build_spec, load_spec, run_sweep  # noqa: E402


def parse_grid(items) -> dict:
    """``['key=v1,v2', ...]`` -> ``{key: [v1, v2]}`` (values parsed as ``--cfg-options``)."""
    grid = {}
    for item in items:
        if '=' not in item:
            raise SystemExit(f'--grid entries look like key=v1,v2 (got {item!r})')
        key, values = item.split('=', 1)
        parsed = []
        for value in (v for v in values.split(',') if v != ''):
            parsed.append(parse_options([f'{key}={value}'])[key])
        grid[key] = parsed
    return grid


def parse_options(items) -> dict:
    """``['k=v', ...]`` -> ``{k: v}`` parsed as ``--cfg-options`` (mmengine's ``DictAction``)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args(['--cfg-options', *items] if items else []).cfg_options


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Run an ablation sweep (settings x seeds)')
    parser.add_argument('file', help='a sweep file, or a train config together with --grid')
    parser.add_argument('--grid', nargs='+', help='shortcut: key=v1,v2 ... over the config FILE')
    parser.add_argument('--seeds', nargs='+', type=int, help='seeds (grid shortcut; default 0)')
    parser.add_argument('--cfg-options', nargs='+', default=[], help='fixed overrides (shortcut)')
    parser.add_argument('--no-eval', action='store_true',
                        help='shortcut: report the last training scalars instead of evaluating')  # fmt: skip
    parser.add_argument('--work-dir', help='the sweep directory (default: work_dirs/sweeps/NAME)')
    parser.add_argument('--max-parallel', type=int, help='local executor: runs at once')
    parser.add_argument('--threads', type=int, help='threads per run')
    parser.add_argument('--dry-run', action='store_true', help='check and print the plan only')
    parser.add_argument('--report-only', action='store_true',
                        help='write the tables and plots from the finished runs; run nothing')  # fmt: skip
    return parser.parse_args(argv)


def spec_from_args(args):
    if not args.grid:
        if args.seeds or args.cfg_options or args.no_eval:
            raise SystemExit('--seeds, --cfg-options and --no-eval go with --grid; a sweep file '
                             'sets seeds, cfg_options and evaluation itself.')  # fmt: skip
        return load_spec(args.file, work_dir=args.work_dir)
    name = 'grid_' + osp.splitext(osp.basename(args.file))[0]
    raw = dict(config=args.file, grid=parse_grid(args.grid), seeds=args.seeds or [0],
               cfg_options=parse_options(args.cfg_options), name=name)  # fmt: skip
    if args.no_eval:
        raw['evaluation'] = False
    return build_spec(raw, source=None, work_dir=args.work_dir)


def main(argv=None):
    args = parse_args(argv)
    spec = spec_from_args(args)
    overrides = {}
    if args.max_parallel is not None:
        overrides['max_parallel'] = args.max_parallel
    if args.threads is not None:
        overrides['threads_per_run'] = args.threads
    results = run_sweep(spec, dry_run=args.dry_run, report_only=args.report_only,
                        executor_overrides=overrides)  # fmt: skip
    if results is None:
        return 0
    return 0 if all(r['state'] == 'done' for r in results['records']) else 1


if __name__ == '__main__':
    sys.exit(main())
