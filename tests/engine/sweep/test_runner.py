"""The up-front check of a sweep's runs: a missing input run is named before anything starts."""

import os

import pytest

from videoar.engine.sweep.plan import plan_runs
from videoar.engine.sweep.runner import check_runs
from videoar.engine.sweep.spec import build_spec
from videoar.io import CheckpointNotFoundError


def test_a_missing_tokenizer_run_is_named_before_any_run_starts(tmp_path, repo_root, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no work_dirs here: the tokenizer of the protocol is missing
    config = os.path.join(repo_root, 'configs/ablations/videoar_tiny-ablation_movingdigits.py')
    spec = build_spec(dict(config=config, seeds=[0], work_dir=str(tmp_path / 'sweep')))
    runs = plan_runs(spec)
    with pytest.raises(CheckpointNotFoundError, match='python tools/train.py configs/tokenizer/'):
        check_runs(spec, runs)
    check_runs(spec, runs, inputs=False)  # --report-only reads results only
    assert not (tmp_path / 'sweep').exists()
