"""Run bookkeeping: one directory per setting and seed, refusal to mix different runs."""

import pytest

from videoar.engine.sweep.plan import (
    claim_run_dir,
    pending_runs,
    plan_runs,
    read_status,
    write_status,
)
from videoar.engine.sweep.spec import build_spec
from videoar.utils import ConfigError


def test_runs_get_seed_options_and_their_own_dirs(tmp_path):
    spec = build_spec(dict(config='a.py', grid={'model.p': [1, 2]}, seeds=[3, 4],
                           cfg_options={'train_cfg.max_iters': 5}, work_dir=str(tmp_path)))  # fmt: skip
    runs = plan_runs(spec, threads=2)
    assert [r.key for r in runs] == ['p=1/seed3', 'p=1/seed4', 'p=2/seed3', 'p=2/seed4']
    assert runs[1].options == {'train_cfg.max_iters': 5, 'model.p': 1, 'randomness.seed': 4}
    assert len({r.work_dir for r in runs}) == 4 and runs[0].threads == 2


def test_done_runs_are_skipped_and_changed_runs_refused(tmp_path):
    spec = build_spec(dict(config='a.py', seeds=[0, 1], work_dir=str(tmp_path)))
    runs = plan_runs(spec)
    for run in runs:
        claim_run_dir(run)
    (tmp_path / 'x').mkdir()
    write_status(runs[0], state='done')
    (tmp_path / 'metrics.json').write_text('{}')
    # done without metrics.json -> evaluated again
    assert read_status(runs[0])['state'] == 'trained'
    open(f'{runs[0].work_dir}/metrics.json', 'w').write('{}')
    assert pending_runs(runs) == [runs[1]]
    changed = build_spec(
        dict(config='a.py', seeds=[0], cfg_options={'x': 1}, work_dir=str(tmp_path))
    )
    with pytest.raises(ConfigError, match='holds a run of .* with other settings'):
        claim_run_dir(plan_runs(changed)[0])
