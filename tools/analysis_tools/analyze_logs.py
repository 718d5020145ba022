"""Summarise and plot the training curves of one or several runs (mmengine's ``scalars.json``).

    python tools/analysis_tools/analyze_logs.py summary work_dirs/videoar_curriculum/stage3
    python tools/analysis_tools/analyze_logs.py plot work_dirs/videoar_curriculum/stage3 \\
        work_dirs/videoar_stage3 --keys loss acc_bit --out curves.png
    python tools/analysis_tools/analyze_logs.py summary work_dirs/videoar_curriculum   # every stage

A RUN is a work dir (every ``<timestamp>/vis_data/scalars.json`` under it, joined in time order,
so a resumed run is one curve: a step logged twice keeps its last value), a ``scalars.json``
file, or a curriculum work dir (one run per stage that has logs). ``summary`` prints, per run
and key, the number of points, the first and last value, the minimum and maximum, the mean of
the last tenth, and the training time per iteration (``time`` and ``data_time``). ``plot`` draws
the chosen keys against the iteration, one panel per key and one line per run (matplotlib),
with ``--smooth N`` for a moving average. Generation metrics logged during training (the
``GenerationEvaluationHook`` with ``interval > 0``) are keys like any other.
"""

import argparse
import glob
import json
import os.path as osp
import statistics
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from videoar.io.runs import curriculum_record  # noqa: E402

STEP_KEYS = ('iter', 'step', 'epoch')


def scalar_files(run: str) -> list[str]:
    """The ``scalars.json`` files of a run's work dir, oldest first (or the file itself)."""
    if osp.isfile(run):
        return [run]
    files = glob.glob(osp.join(run, '*', 'vis_data', 'scalars.json'))
    return sorted(files, key=lambda path: osp.basename(osp.dirname(osp.dirname(path))))


def expand_runs(runs: list[str]) -> list[tuple[str, str]]:
    """``(label, path)`` per run; a curriculum work dir becomes one run per stage with logs."""
    out = []
    for run in runs:
        if not osp.exists(run):
            raise SystemExit(f'analyze_logs: {run!r} does not exist.')
        record = curriculum_record(run) if osp.isdir(run) else None
        if record is not None and not scalar_files(run):
            for stage in record.get('stages') or {}:
                stage_dir = osp.join(run, stage)
                if scalar_files(stage_dir):
                    out.append((f'{osp.basename(osp.normpath(run))}/{stage}', stage_dir))
            continue
        out.append((osp.normpath(run), run))
    return out


def load_run(path: str) -> dict[str, list[tuple[int, float]]]:
    """``{key: [(step, value), ...]}`` sorted by step, over every scalars file of the run."""
    by_key: dict[str, dict[int, float]] = {}
    files = scalar_files(path)
    if not files:
        raise SystemExit(
            f'analyze_logs: no scalars.json under {path!r} (mmengine writes '
            '<work_dir>/<timestamp>/vis_data/scalars.json while training).'
        )
    for file in files:
        with open(file) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                record = json.loads(line)
                step = next((record[k] for k in STEP_KEYS if k in record), None)
                if step is None:
                    continue
                for key, value in record.items():
                    if key not in STEP_KEYS and isinstance(value, (int, float)):
                        by_key.setdefault(key, {})[int(step)] = float(value)
    return {key: sorted(points.items()) for key, points in by_key.items()}


def summarise(curves: dict) -> list[dict]:
    """One row per key: points, first, last, min, max, mean of the last tenth."""
    rows = []
    for key, points in sorted(curves.items()):
        values = [v for _, v in points]
        tail = values[-max(1, len(values) // 10) :]
        rows.append(
            dict(
                key=key, points=len(values), first_step=points[0][0], last_step=points[-1][0],
                first=values[0], last=values[-1], min=min(values), max=max(values),
                tail_mean=statistics.fmean(tail),
            )
        )  # fmt: skip
    return rows


def fmt(value: float) -> str:
    return f'{value:.4g}'


def print_summary(label: str, curves: dict) -> None:
    rows = summarise(curves)
    last = max((r['last_step'] for r in rows), default=0)
    print(f'== {label}: logged up to iteration {last}')
    if 'time' in curves:
        times = [v for _, v in curves['time']]
        data = [v for _, v in curves.get('data_time', [])] or [0.0]
        print(
            f'   time per iteration: median {fmt(statistics.median(times))} s '
            f'(data {fmt(statistics.median(data))} s); slowest {fmt(max(times))} s'
        )
    print(f'   {"key":<24} {"points":>6} {"first":>10} {"last":>10} {"min":>10} {"max":>10} '
          f'{"last 10%":>10}')  # fmt: skip
    for r in rows:
        if r['key'] in ('time', 'data_time'):
            continue
        print(
            f'   {r["key"]:<24} {r["points"]:>6} {fmt(r["first"]):>10} {fmt(r["last"]):>10} '
            f'{fmt(r["min"]):>10} {fmt(r["max"]):>10} {fmt(r["tail_mean"]):>10}'
        )


def smooth(values: list[float], window: int) -> list[float]:
    if window <= 1:
        return values
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def plot(runs: list[tuple[str, dict]], keys: list[str], out: str, window: int, title=None):
    """One panel per key, one line per run; saved to ``out``."""
    try:
        import matplotlib  # optional dependency (pip install matplotlib)

        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit('analyze_logs plot needs matplotlib: pip install matplotlib') from None
    fig, axes = plt.subplots(len(keys), 1, figsize=(7, 2.6 * len(keys)), squeeze=False)
    for axis, key in zip(axes[:, 0], keys):
        drawn = 0
        for label, curves in runs:
            if key not in curves:
                continue
            steps = [s for s, _ in curves[key]]
            axis.plot(steps, smooth([v for _, v in curves[key]], window), label=label)
            drawn += 1
        if not drawn:
            available = sorted({k for _, c in runs for k in c})
            raise SystemExit(f'analyze_logs: no run logged {key!r}; the keys are {available}.')
        axis.set_ylabel(key)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    axes[-1, 0].set_xlabel('iteration')
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    print(f'[videoar] wrote {osp.abspath(out)}')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='command', required=True)
    summary = sub.add_parser('summary', help='print a table per run')
    summary.add_argument('runs', nargs='+', help='work dirs or scalars.json files')
    summary.add_argument('--json', help='also write the summaries to this json file')
    curves = sub.add_parser('plot', help='plot keys against the iteration')
    curves.add_argument('runs', nargs='+', help='work dirs or scalars.json files')
    curves.add_argument('--keys', nargs='+', default=['loss'], help='default: loss')
    curves.add_argument('--legend', nargs='+', help='a label per run (default: the paths)')
    curves.add_argument('--smooth', type=int, default=1, help='moving-average window')
    curves.add_argument('--title')
    curves.add_argument('--out', default='curves.png', help='the image to write')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    runs = [(label, load_run(path)) for label, path in expand_runs(args.runs)]
    if args.command == 'summary':
        for label, curves in runs:
            print_summary(label, curves)
        if args.json:
            with open(args.json, 'w') as f:
                json.dump({label: summarise(c) for label, c in runs}, f, indent=2)
        return runs
    if args.legend:
        if len(args.legend) != len(runs):
            raise SystemExit(f'--legend needs {len(runs)} labels, one per run.')
        runs = [(name, curves) for name, (_, curves) in zip(args.legend, runs)]
    plot(runs, args.keys, args.out, args.smooth, args.title)
    return runs


if __name__ == '__main__':
    main()
