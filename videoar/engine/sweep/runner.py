"""Run a sweep: check every run's config, skip the finished runs, execute the rest, report."""

from __future__ import annotations

import os.path as osp
import shlex
import time

from videoar.evaluation.generation import check_metric_types

from .. import launch
from ..runs import link_inputs
from .executors import build_executor
from .plan import claim_run_dir, pending_runs, plan_runs, read_status
from .results import write_results
from .spec import SweepSpec


def say(message: str) -> None:
    print(f'[videoar] sweep: {message}', flush=True)


def check_runs(spec: SweepSpec, runs, inputs: bool = True) -> None:
    """Load every run's config with its options (hooks addressed by type too) before any run
    starts, so a wrong key or a missing file fails at once; with ``inputs``, also find the runs
    each config reads (``inputs``: e.g. a tokenizer checkpoint), so a missing one is named with
    the command that makes it instead of failing every run."""
    for run in runs:
        cfg = launch.load_config(run.config, run.options)
        launch.check_top_level_keys(cfg, for_training=True)
        if inputs:
            link_inputs(cfg)
    if isinstance(spec.evaluation, dict):
        check_metric_types(spec.evaluation.get('metrics'))


def train_command(run) -> str:
    """The ``tools/train.py`` command equivalent to the run's training (for --dry-run)."""
    options = [f'{k}={v!r}' if isinstance(v, str) else f'{k}={v}' for k, v in run.options.items()]
    words = ['python', 'tools/train.py', run.config, '--work-dir', run.work_dir,
             '--cfg-options', *options]  # fmt: skip
    return ' '.join(shlex.quote(str(w)).replace("'\"'\"'", "'") for w in words)


def run_sweep(spec: SweepSpec, dry_run: bool = False, report_only: bool = False,
              executor_overrides: dict | None = None) -> dict | None:  # fmt: skip
    """Plan, check, execute the pending runs and write the results (see the package doc)."""
    executor_options = {**spec.executor, **(executor_overrides or {})}
    threads = int(executor_options.get('threads_per_run', 1))
    runs = plan_runs(spec, threads=threads)
    check_runs(spec, runs, inputs=not report_only)
    if dry_run:
        for run in runs:
            say(f'{run.key} [{read_status(run)["state"]}]: {train_command(run)}')
        return None
    start = time.time()
    if not report_only:
        for run in runs:
            claim_run_dir(run)
        # seed by seed (all settings of seed 0 first): a sweep stopped early still has pairs
        todo = sorted(pending_runs(runs), key=lambda run: spec.seeds.index(run.seed))
        say(f'{len(runs)} runs ({len(spec.settings)} settings x {len(spec.seeds)} seeds); '
            f'{len(runs) - len(todo)} already done, {len(todo)} to run '
            f'({executor_options["type"]} executor).')  # fmt: skip
        if todo:
            executor = build_executor(executor_options, spec.work_dir, log=say)
            executor.run(todo, retries=spec.retries)
    wall = round(time.time() - start, 1)
    results = write_results(spec, runs, wall_time_s=None if report_only else wall)
    failed = [r for r in results['records'] if r['state'] != 'done']
    for record in failed:
        say(f'NOT DONE {record["setting"]}/seed{record["seed"]} ({record["state"]}): '
            f'{((record["error"] or "").strip().splitlines() or [""])[-1]}')  # fmt: skip
    say(
        f'results: {osp.abspath(osp.join(spec.work_dir, "sweep.md"))} '
        f'(+ sweep.csv, runs.csv, {len(results["plots"])} plot(s))'
        + ('' if report_only else f'; wall time {wall / 60:.1f} min')
    )
    results['wall_time_s'] = wall
    return results


__all__ = ['check_runs', 'run_sweep', 'train_command']
