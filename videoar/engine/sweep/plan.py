"""Plan the runs of a sweep and keep their bookkeeping on disk.

Each run (one setting, one seed) owns ``<sweep work_dir>/runs/<setting>/seed<seed>/``: the
training work dir (checkpoints, logs), ``sweep_run.json`` (what the run is: config, options,
seed, evaluation) and ``sweep_status.json`` (its state, attempts, errors and wall time). The
run's ``metrics.json`` holds the numbers and their protocol.

States: ``pending`` (never started), ``running`` (started and not finished: interrupted if no
process runs it, then resumed from its newest checkpoint), ``trained`` (training finished, the
evaluation not yet), ``done`` (``metrics.json`` written) and ``failed`` (the error is kept).
"""

from __future__ import annotations

import datetime
import json
import os
import os.path as osp
from dataclasses import asdict, dataclass, field

from videoar.io.records import read_json, write_json
from videoar.utils import ConfigError

from .spec import SweepSpec, safe_name

RUN_FILE = 'sweep_run.json'
STATUS_FILE = 'sweep_status.json'
METRICS_FILE = 'metrics.json'
STATES = ('pending', 'running', 'trained', 'done', 'failed')


@dataclass
class RunSpec:
    """Everything a worker needs to train and evaluate one run (JSON-serialisable)."""

    setting: str
    seed: int
    config: str
    options: dict
    work_dir: str
    evaluation: dict | bool | None = None
    threads: int = 1
    cwd: str = field(default_factory=os.getcwd)

    @property
    def key(self) -> str:
        return f'{self.setting}/seed{self.seed}'

    def identity(self) -> dict:
        """What must match for an earlier run's results to be reused."""
        return dict(config=self.config, options=self.options, seed=self.seed,
                    evaluation=self.evaluation)  # fmt: skip

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RunSpec:
        return cls(**data)


def run_options(spec: SweepSpec, setting, seed: int) -> dict:
    """The run's ``--cfg-options``: the sweep's fixed ones, the setting's, then the seed."""
    return {**spec.cfg_options, **setting.options, spec.seed_key: seed}


def plan_runs(spec: SweepSpec, threads: int = 1) -> list[RunSpec]:
    """One :class:`RunSpec` per setting and seed, in setting-major order."""
    root = osp.abspath(spec.work_dir)
    runs = []
    for setting in spec.settings:
        for seed in spec.seeds:
            work_dir = osp.join(root, 'runs', safe_name(setting.name), f'seed{seed}')
            runs.append(RunSpec(setting=setting.name, seed=seed, config=osp.abspath(setting.config),
                                options=run_options(spec, setting, seed), work_dir=work_dir,
                                evaluation=spec.evaluation, threads=threads))  # fmt: skip
    return runs


def now() -> str:
    return datetime.datetime.now().isoformat(timespec='seconds')


def read_status(run: RunSpec) -> dict:
    """The run's status record (``state='pending'`` when it never started)."""
    status = read_json(osp.join(run.work_dir, STATUS_FILE)) or dict(state='pending', attempts=0)
    if status.get('state') == 'done' and not osp.isfile(osp.join(run.work_dir, METRICS_FILE)):
        status['state'] = 'trained'  # metrics.json was removed: evaluate again
    return status


def write_status(run: RunSpec, **fields) -> dict:
    status = read_status(run)
    status.update(fields, updated=now())
    write_json(osp.join(run.work_dir, STATUS_FILE), status)
    return status


def claim_run_dir(run: RunSpec) -> None:
    """Write ``sweep_run.json``; refuse a run dir that holds a different run.

    A sweep re-run with changed options or seeds must not mix old results into the new table.
    """
    path = osp.join(run.work_dir, RUN_FILE)
    previous = read_json(path)
    if previous is not None:
        old = RunSpec.from_dict(
            {k: previous[k] for k in RunSpec.__dataclass_fields__ if k in previous}
        )
        if _jsonable(old.identity()) != _jsonable(run.identity()):
            raise ConfigError(
                f'{run.work_dir} holds a run of {run.key} with other settings '
                f'({old.identity()} != {run.identity()}). Give the sweep another work_dir '
                '(--work-dir) or delete that run directory.'
            )
    os.makedirs(run.work_dir, exist_ok=True)
    write_json(path, run.to_dict())


def _jsonable(value):
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def pending_runs(runs: list[RunSpec]) -> list[RunSpec]:
    """The runs that are not done (pending, interrupted, trained-but-not-evaluated, failed)."""
    return [run for run in runs if read_status(run).get('state') != 'done']


__all__ = [
    'METRICS_FILE', 'RUN_FILE', 'STATES', 'STATUS_FILE', 'RunSpec', 'claim_run_dir',
    'pending_runs', 'plan_runs', 'read_status', 'run_options', 'write_status',
]  # fmt: skip
