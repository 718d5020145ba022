"""Ablation sweeps: a sweep file -> runs (settings x seeds) -> trained, evaluated, tabulated.

* :mod:`.spec` reads a sweep file (mmengine Config syntax) into settings, seeds and options;
* :mod:`.plan` names each run's work dir and keeps its status (resume / retry bookkeeping);
* :mod:`.worker` trains one run and evaluates it with ``evaluate_generation``;
* :mod:`.executors` runs the pending runs locally (N at once, a thread budget each) or through
  submitit (Slurm job arrays, or its local executor);
* :mod:`.results` writes ``sweep.csv``, ``runs.csv``, ``sweep.md`` and one PNG per metric,
  with paired differences against the control and their 95% t-intervals.

``tools/sweep.py`` is the command line.
"""

from .plan import RunSpec, plan_runs, read_status
from .results import t_interval, write_results
from .runner import run_sweep
from .spec import Setting, SweepSpec, build_spec, load_spec

__all__ = [
    'RunSpec', 'Setting', 'SweepSpec', 'build_spec', 'load_spec', 'plan_runs', 'read_status',
    'run_sweep', 't_interval', 'write_results',
]  # fmt: skip
