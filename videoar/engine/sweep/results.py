"""Collect a sweep's runs into tables, paired differences and plots.

For each setting and metric: the mean and the sample standard deviation (``ddof=1``) over the
seeds that finished. For each setting against the control: the paired difference
``setting(seed) - control(seed)`` over the seeds both finished, its mean and a 95% Student-t
interval ``mean +- t(0.975, n-1) * sd / sqrt(n)`` (a t-interval, not a bootstrap: with three
seeds a bootstrap has only ten distinct resamples). Pairing by seed removes what the seed does
to both arms alike (initialisation, data order); the evaluation noise is the same in every run
(``evaluate_generation`` seeds it per sample position).

Written into the sweep's work dir: ``sweep.csv`` (one row per setting and metric),
``runs.csv`` (one row per run, failed ones with their error), ``sweep.md`` (the tables, the
failed runs, the evaluation protocol) and ``sweep_<metric>.png`` (per-seed values, mean and
spread per setting; paired differences with their intervals).
"""

from __future__ import annotations

import csv
import math
import os
import os.path as osp
from dataclasses import dataclass

from scipy import stats

from videoar.io.records import read_json, write_json

from .plan import METRICS_FILE, RunSpec, now, read_status
from .spec import SweepSpec

CONFIDENCE = 0.95


@dataclass
class Summary:
    """The numbers of one setting and metric."""

    setting: str
    metric: str
    n: int
    mean: float
    sd: float
    diff_n: int = 0
    diff_mean: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan


def mean_sd(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (nan when undefined)."""
    if not values:
        return math.nan, math.nan
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, math.nan
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def t_interval(diffs: list[float], confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """``(mean, low, high)`` of the Student-t interval of the mean of ``diffs``."""
    mean, sd = mean_sd(diffs)
    if len(diffs) < 2:
        return mean, math.nan, math.nan
    half = stats.t.ppf(0.5 + confidence / 2, len(diffs) - 1) * sd / math.sqrt(len(diffs))
    return mean, mean - half, mean + half


def collect(runs: list[RunSpec]) -> list[dict]:
    """One record per run: setting, seed, state, metrics, protocol, error, times."""
    records = []
    for run in runs:
        status = read_status(run)
        data = (
            read_json(osp.join(run.work_dir, METRICS_FILE)) if status['state'] == 'done' else None
        )
        metrics = {k: v for k, v in ((data or {}).get('metrics') or {}).items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool)}  # fmt: skip
        records.append(dict(
            setting=run.setting, seed=run.seed, state=status['state'], metrics=metrics,
            protocol=(data or {}).get('protocol'), protocols=(data or {}).get('protocols'),
            error=status.get('error'), attempts=status.get('attempts', 0),
            wall_time_s=status.get('wall_time_s'), work_dir=run.work_dir,
        ))  # fmt: skip
    return records


def metric_names(records: list[dict], wanted: list[str] | None) -> list[str]:
    """The reported metrics: ``wanted``, else every number of the generated pass (no ``/``)."""
    if wanted:
        return list(wanted)
    names = dict.fromkeys(k for r in records for k in r['metrics'] if '/' not in k)
    return list(names)


def summarise(records: list[dict], settings: list[str], control: str, metrics: list[str]):
    """:class:`Summary` per setting and metric (paired differences against ``control``)."""
    by_key = {(r['setting'], r['seed']): r for r in records if r['state'] == 'done'}
    out = []
    for metric in metrics:
        control_values = {seed: r['metrics'][metric] for (s, seed), r in by_key.items()
                          if s == control and metric in r['metrics']}  # fmt: skip
        for setting in settings:
            values = {seed: r['metrics'][metric] for (s, seed), r in by_key.items()
                      if s == setting and metric in r['metrics']}  # fmt: skip
            mean, sd = mean_sd(list(values.values()))
            row = Summary(setting, metric, len(values), mean, sd)
            if setting != control:
                diffs = [values[s] - control_values[s] for s in values if s in control_values]
                row.diff_n = len(diffs)
                row.diff_mean, row.ci_low, row.ci_high = t_interval(diffs)
            out.append(row)
    return out


def fmt(value: float, digits: int = 4) -> str:
    return 'n/a' if value is None or math.isnan(value) else f'{value:.{digits}g}'


def _write_csv(path: str, rows: list[dict]) -> None:
    fields = list(dict.fromkeys(k for row in rows for k in row))
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def _protocol_lines(records: list[dict]) -> list[str]:
    """The evaluation protocol of the finished runs (and a warning if they differ)."""
    done = [r for r in records if r['state'] == 'done' and r['protocol']]
    if not done:
        return []
    keys = ('num_samples', 'conditions', 'seed', 'num_frames', 'references', 'metrics', 'kind')
    first = {k: done[0]['protocol'].get(k) for k in keys if k in done[0]['protocol']}
    same = all({k: r['protocol'].get(k) for k in first} == first for r in done)
    lines = ['## Evaluation protocol', '']
    lines += [f'- {k}: `{v}`' for k, v in first.items()]
    for name, protocol in (done[0]['protocols'] or {}).items():
        extractor = protocol.get('classifier') or protocol.get('extractor') or {}
        if extractor:
            weights = extractor.get('weights_sha256', '')
            lines.append(f'- {name}: {extractor.get("name", "")} (weights {weights[:12]})')
    lines.append('- every finished run used this protocol' if same else
                 '- WARNING: the runs do not share one protocol; see each metrics.json')  # fmt: skip
    return lines + ['']


def _times(records, invocations) -> str:
    runs = sum(r['wall_time_s'] or 0.0 for r in records if r['state'] == 'done')
    calls = [i['wall_time_s'] for i in invocations if i.get('wall_time_s')]
    text = f' Wall time: {sum(calls) / 60:.1f} min over {len(calls)} invocation(s)' if calls else ''
    return text + f' (the finished runs took {runs / 60:.1f} min one after another).'


def markdown(spec: SweepSpec, records, summaries, metrics, invocations=()) -> str:
    settings = [s.name for s in spec.settings]
    done = sum(r['state'] == 'done' for r in records)
    lines = [f'# Sweep {spec.name}', '',
             f'{done}/{len(records)} runs done; seeds {spec.seeds}; control: `{spec.control}`.'
             + _times(records, invocations),
             '', f'Mean ± sd over seeds (sd with ddof=1). Paired difference: setting - control '
             f'per seed, mean and {int(CONFIDENCE * 100)}% Student-t interval over the seeds '
             'both finished.', '']  # fmt: skip
    for metric in metrics:
        lines += [f'## {metric}', '', '| setting | n | mean ± sd | Δ vs control | 95% CI (t) |',
                  '|---|---|---|---|---|']  # fmt: skip
        for row in (s for s in summaries if s.metric == metric):
            ctrl = row.setting == spec.control
            diff = 'control' if ctrl else f'{fmt(row.diff_mean)} (n={row.diff_n})'
            ci = '' if ctrl else f'[{fmt(row.ci_low)}, {fmt(row.ci_high)}]'
            lines.append(f'| {row.setting} | {row.n} | {fmt(row.mean)} ± {fmt(row.sd)} | {diff} '
                         f'| {ci} |')  # fmt: skip
        lines.append('')
    failed = [r for r in records if r['state'] != 'done']
    if failed:
        lines += ['## Runs not done', '', '| run | state | attempts | error |', '|---|---|---|---|']
        for r in failed:
            error = (r['error'] or '').replace('\n', ' ').replace('|', '/')[-300:]
            lines.append(f'| {r["setting"]}/seed{r["seed"]} | {r["state"]} | {r["attempts"]} '
                         f'| {error} |')  # fmt: skip
        lines.append('')
    lines += _protocol_lines(records)
    if settings:
        lines += ['## Settings', '']
        lines += [f'- `{s.name}`: `{s.config}` {s.options or ""}'.rstrip() for s in spec.settings]
    return '\n'.join(lines) + '\n'


def write_results(spec: SweepSpec, runs: list[RunSpec], wall_time_s=None) -> dict:
    """Write ``sweep.csv``, ``runs.csv``, ``sweep.md``, ``sweep.json`` and the plots."""
    root = spec.work_dir
    os.makedirs(root, exist_ok=True)
    records = collect(runs)
    metrics = metric_names(records, spec.metrics)
    settings = [s.name for s in spec.settings]
    summaries = summarise(records, settings, spec.control, metrics)
    _write_csv(osp.join(root, 'sweep.csv'), [vars(s) for s in summaries] or [{}])
    run_rows = [dict(setting=r['setting'], seed=r['seed'], state=r['state'], attempts=r['attempts'],
                     wall_time_s=r['wall_time_s'], **{m: r['metrics'].get(m) for m in metrics},
                     error=r['error']) for r in records]  # fmt: skip
    _write_csv(osp.join(root, 'runs.csv'), run_rows or [{}])
    previous = read_json(osp.join(root, 'sweep.json')) or {}
    invocations = list(previous.get('invocations') or [])
    if not invocations and previous.get('wall_time_s'):  # written before invocations were kept
        invocations.append(dict(wall_time_s=previous['wall_time_s']))
    if wall_time_s is not None:
        done = sum(r['state'] == 'done' for r in records)
        invocations.append(dict(finished=now(), wall_time_s=wall_time_s, runs_done=done))
    text = markdown(spec, records, summaries, metrics, invocations)
    with open(osp.join(root, 'sweep.md'), 'w') as f:
        f.write(text)
    write_json(osp.join(root, 'sweep.json'), dict(
        name=spec.name, control=spec.control, seeds=spec.seeds, metrics=metrics,
        summaries=[vars(s) for s in summaries], runs=records, invocations=invocations,
    ))  # fmt: skip
    plots = write_plots(root, summaries, records, settings, spec.control, metrics)
    return dict(records=records, summaries=summaries, metrics=metrics, markdown=text, plots=plots)


def write_plots(root, summaries, records, settings, control, metrics) -> list[str]:
    """``sweep_<metric>.png`` per metric (needs matplotlib: the [cluster]/[dev] extras)."""
    try:
        import matplotlib  # noqa: PLC0415  (optional dependency)

        matplotlib.use('Agg')
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        print('[videoar] matplotlib is not installed: no plots (pip install matplotlib).')
        return []
    paths = []
    for metric in metrics:
        rows = [s for s in summaries if s.metric == metric]
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 0.6 * len(settings) + 2.0))
        for y, setting in enumerate(settings):
            values = [r['metrics'][metric] for r in records
                      if r['setting'] == setting and r['state'] == 'done' and metric in r['metrics']]  # fmt: skip
            left.scatter(values, [y] * len(values), color='0.6', s=14, zorder=2)
            row = next(r for r in rows if r.setting == setting)
            if row.n:
                left.errorbar(row.mean, y, xerr=0 if math.isnan(row.sd) else row.sd, fmt='o',
                              color='C0', capsize=4, zorder=3)  # fmt: skip
            if setting != control and row.diff_n:
                err = ([[row.diff_mean - row.ci_low], [row.ci_high - row.diff_mean]]
                       if not math.isnan(row.ci_low) else None)  # fmt: skip
                right.errorbar(row.diff_mean, y, xerr=err, fmt='s', color='C1', capsize=4)
        for axis in (left, right):
            axis.set_yticks(range(len(settings)), settings)
            axis.set_ylim(len(settings) - 0.5, -0.5)
            axis.grid(axis='x', alpha=0.3)
        right.axvline(0.0, color='k', lw=0.8)
        left.set_xlabel(f'{metric} (seeds in grey; mean ± sd)')
        right.set_xlabel(f'setting - {control}\n(paired by seed, 95% t-interval)')
        fig.tight_layout()
        path = osp.join(root, f'sweep_{metric.replace("/", "_")}.png')
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths


__all__ = ['CONFIDENCE', 'Summary', 'collect', 'mean_sd', 'summarise', 't_interval',
           'write_results']  # fmt: skip
