"""Sweep results: the t-interval, pairing by seed, failed runs kept in the tables, plots."""

import math

import pytest

from videoar.engine.sweep.plan import RunSpec, write_status
from videoar.engine.sweep.results import summarise, t_interval, write_results
from videoar.engine.sweep.spec import build_spec
from videoar.evaluation.report import write_metrics_json


def test_t_interval_matches_the_textbook_value():
    mean, low, high = t_interval([1.0, 2.0, 3.0])
    half = 4.302652729911275 * 1.0 / math.sqrt(3)  # t(0.975, 2) * sd / sqrt(n)
    assert mean == 2.0 and low == pytest.approx(2.0 - half) and high == pytest.approx(2.0 + half)
    assert math.isnan(t_interval([1.0])[1])  # one seed: no interval


def test_differences_are_paired_by_seed():
    records = [
        dict(setting='c', seed=0, state='done', metrics=dict(m=10.0)),
        dict(setting='c', seed=1, state='done', metrics=dict(m=20.0)),
        dict(setting='c', seed=2, state='failed', metrics={}),
        dict(setting='s', seed=0, state='done', metrics=dict(m=11.0)),
        dict(setting='s', seed=1, state='done', metrics=dict(m=22.0)),
        dict(setting='s', seed=2, state='done', metrics=dict(m=99.0)),  # no control partner
    ]
    rows = {r.setting: r for r in summarise(records, ['c', 's'], 'c', ['m'])}
    assert rows['c'].n == 2 and rows['c'].mean == 15.0
    assert rows['s'].n == 3 and rows['s'].diff_n == 2 and rows['s'].diff_mean == 1.5
    # unpaired, the spread of the seeds (10 vs 20) would swamp the +1 / +2 differences
    assert rows['s'].ci_low == pytest.approx(
        1.5 - 12.706204736174698 * math.sqrt(0.5) / math.sqrt(2)
    )


def test_write_results_lists_failed_runs_and_draws_plots(tmp_path):
    spec = build_spec(dict(config='a.py', settings=[dict(name='ctrl'), dict(name='new')],
                           seeds=[0, 1], work_dir=str(tmp_path)))  # fmt: skip
    runs = []
    for setting, seed, value in (
        ('ctrl', 0, 1.0),
        ('ctrl', 1, 2.0),
        ('new', 0, 1.5),
        ('new', 1, None),
    ):
        run = RunSpec(setting, seed, 'a.py', {}, str(tmp_path / setting / str(seed)))
        if value is None:
            write_status(run, state='failed', attempts=2, error='ValueError: boom')
        else:
            write_metrics_json(f'{run.work_dir}/metrics.json', dict(fcd=value, **{'real/fcd': 0.1}),
                               extra=dict(protocol=dict(num_samples=4, seed=0)))  # fmt: skip
            write_status(run, state='done', attempts=1)
        runs.append(run)
    out = write_results(spec, runs)
    assert out['metrics'] == ['fcd']  # reference numbers (real/...) are not reported
    md = (tmp_path / 'sweep.md').read_text()
    assert '| new/seed1 | failed | 2 | ValueError: boom |' in md
    assert '| new | 1 | 1.5 ± n/a | 0.5 (n=1) |' in md and '- num_samples: `4`' in md
    assert (tmp_path / 'runs.csv').read_text().count('failed') == 1
    assert (tmp_path / 'sweep_fcd.png').read_bytes()[:4] == b'\x89PNG'
