"""Executors: run a sweep's pending runs on this machine or on a cluster.

* ``local``: up to ``max_parallel`` worker processes at once
  (``python -m videoar.engine.sweep.worker``), each limited to ``threads_per_run`` threads
  (``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` and ``torch.set_num_threads``), so that N runs share
  N x threads cores without oversubscription. A worker's output goes to
  ``<run dir>/sweep_worker.log``.
* ``submitit``: one job array through ``submitit.AutoExecutor`` (``cluster='slurm'`` on a
  cluster; ``'local'`` or ``'debug'`` on a laptop and in the tests), with time limits,
  ``slurm_array_parallelism`` and requeue on preemption or time-out (the job is
  ``submitit.helpers.Checkpointable``; the requeued run resumes from its newest checkpoint).

Both retry a failed run ``retries`` times, then leave it ``failed`` with its error.
"""

from __future__ import annotations

import collections
import os
import os.path as osp
import signal
import subprocess
import sys
import time

from videoar.utils import ConfigError, check_known_keys

from ..hooks import PREEMPTED_EXIT_CODE
from .plan import RUN_FILE, RunSpec, read_status, write_status
from .worker import execute_run

LOCAL_KEYS = ('type', 'max_parallel', 'threads_per_run', 'poll_s')
SUBMITIT_KEYS = ('type', 'cluster', 'folder', 'threads_per_run', 'timeout_min', 'max_parallel',
                 'parameters', 'max_requeue')  # fmt: skip
WORKER_LOG = 'sweep_worker.log'


def _package_root() -> str:
    """The directory that holds this ``videoar`` package (for the workers' ``PYTHONPATH``)."""
    here = osp.abspath(__file__)  # <root>/videoar/engine/sweep/executors.py
    return osp.dirname(osp.dirname(osp.dirname(osp.dirname(here))))


def worker_env(threads: int) -> dict:
    """The environment of a worker: thread budget and this videoar on ``PYTHONPATH``."""
    env = dict(os.environ)
    for key in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'):
        env[key] = str(threads)
    paths = [_package_root()] + [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p]
    env['PYTHONPATH'] = os.pathsep.join(dict.fromkeys(paths))
    return env


class LocalExecutor:
    """Runs up to ``max_parallel`` workers at once on this machine."""

    def __init__(self, max_parallel: int = 1, threads_per_run: int = 1, poll_s: float = 0.5,
                 log=print) -> None:  # fmt: skip
        if int(max_parallel) < 1 or int(threads_per_run) < 1:
            raise ConfigError('executor: max_parallel and threads_per_run must be >= 1.')
        self.max_parallel = int(max_parallel)
        self.threads = int(threads_per_run)
        self.poll_s = float(poll_s)
        self.log = log
        self._active: dict[subprocess.Popen, RunSpec] = {}

    def _start(self, run: RunSpec) -> subprocess.Popen:
        log_file = open(osp.join(run.work_dir, WORKER_LOG), 'a')  # noqa: SIM115  (closed at exit)
        command = [sys.executable, '-m', 'videoar.engine.sweep.worker',
                   osp.join(run.work_dir, RUN_FILE)]  # fmt: skip
        proc = subprocess.Popen(command, env=worker_env(self.threads), cwd=run.cwd,
                                stdout=log_file, stderr=subprocess.STDOUT)  # fmt: skip
        proc.log_file = log_file
        self.log(f'started {run.key} (pid {proc.pid}, {self.threads} thread(s)); '
                 f'log: {osp.join(run.work_dir, WORKER_LOG)}')  # fmt: skip
        return proc

    def _finished(self, proc, run, failures, queue, retries) -> None:
        proc.log_file.close()
        code = proc.returncode
        state = read_status(run).get('state')
        if code == 0 and state == 'done':
            self.log(f'finished {run.key}')
            return
        if code == PREEMPTED_EXIT_CODE:
            self.log(f'{run.key} was preempted (exit {code}); it resumes in the next attempt.')
            queue.append(run)
            return
        if state != 'failed':  # killed before it could record why
            write_status(run, state='failed', error=f'worker exited with code {code}; see '
                         f'{osp.join(run.work_dir, WORKER_LOG)}')  # fmt: skip
        failures[run.key] += 1
        if failures[run.key] <= retries:
            self.log(f'{run.key} failed (exit {code}); retrying ({failures[run.key]}/{retries}).')
            queue.append(run)
        else:
            self.log(f'{run.key} FAILED: {read_status(run).get("error")}')

    def run(self, runs: list[RunSpec], retries: int = 1) -> None:
        queue = collections.deque(runs)
        failures = collections.Counter()
        previous = signal.signal(signal.SIGTERM, self._forward_sigterm)
        try:
            while queue or self._active:
                while queue and len(self._active) < self.max_parallel:
                    run = queue.popleft()
                    self._active[self._start(run)] = run
                time.sleep(self.poll_s)
                for proc in [p for p in self._active if p.poll() is not None]:
                    self._finished(proc, self._active.pop(proc), failures, queue, retries)
        except KeyboardInterrupt:
            self.stop()
            raise
        finally:
            signal.signal(signal.SIGTERM, previous)

    def _forward_sigterm(self, signum, frame) -> None:
        self.stop()
        raise SystemExit(PREEMPTED_EXIT_CODE)

    def stop(self, grace_s: float = 60.0) -> None:
        """Ask every worker to stop (SIGTERM: a checkpoint, then exit) and wait for them."""
        for proc in self._active:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.time() + grace_s
        for proc in self._active:
            try:
                proc.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                proc.kill()


class SweepJob:
    """The submitit job: :func:`execute_run` on one run; requeued on preemption / time-out.

    Defined as a class so that submitit's ``Checkpointable`` protocol can requeue it: the
    requeued job calls :func:`execute_run` again, which resumes from the newest checkpoint.
    """

    def __call__(self, run: dict) -> dict:
        return execute_run(run)

    def checkpoint(self, run: dict):
        import submitit  # noqa: PLC0415  (optional dependency: the [cluster] extra)

        return submitit.helpers.DelayedSubmission(SweepJob(), run)


class SubmititExecutor:
    """One submitit job array per attempt (``cluster``: ``'slurm'``, ``'local'``, ``'debug'``).

    ``parameters`` go to ``AutoExecutor.update_parameters`` (e.g. ``slurm_partition``,
    ``gpus_per_node``, ``mem_gb``, ``slurm_additional_parameters``).
    """

    def __init__(self, folder: str, cluster: str | None = None, threads_per_run: int = 1,
                 timeout_min: int = 60, max_parallel: int = 16, parameters: dict | None = None,
                 max_requeue: int = 3, log=print) -> None:  # fmt: skip
        try:
            import submitit  # noqa: PLC0415  (optional dependency: the [cluster] extra)
        except ImportError as error:
            raise ConfigError(
                "executor type 'submitit' needs submitit: pip install submitit "
                '(or pip install -e ".[cluster]").'
            ) from error
        self.submitit = submitit
        self.executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
        params = dict(timeout_min=int(timeout_min), cpus_per_task=int(threads_per_run),
                      slurm_array_parallelism=int(max_parallel), name='videoar-sweep')  # fmt: skip
        if self.executor.cluster != 'slurm':
            params.pop('slurm_array_parallelism')
        params.update(parameters or {})
        self.executor.update_parameters(**params)
        if hasattr(self.executor, '_executor') and hasattr(
            self.executor._executor, 'max_num_timeout'
        ):
            self.executor._executor.max_num_timeout = int(max_requeue)
        self.threads = int(threads_per_run)
        self.log = log

    def run(self, runs: list[RunSpec], retries: int = 1) -> None:
        pending = list(runs)
        for attempt in range(retries + 1):
            if not pending:
                return
            for run in pending:
                run.threads = self.threads
            jobs = self.executor.map_array(SweepJob(), [run.to_dict() for run in pending])
            ids = ', '.join(job.job_id for job in jobs)
            self.log(f'submitted {len(jobs)} job(s) (attempt {attempt + 1}): {ids}')
            failed = []
            for job, run in zip(jobs, pending):
                try:
                    job.result()
                    self.log(f'finished {run.key} (job {job.job_id})')
                except Exception as error:  # noqa: BLE001  (recorded per run)
                    if read_status(run).get('state') != 'failed':
                        write_status(
                            run, state='failed', error=f'job {job.job_id}: {error}'[-2000:]
                        )
                    self.log(f'{run.key} failed in job {job.job_id}')
                    failed.append(run)
            pending = failed


def build_executor(options: dict, folder: str, log=print):
    """A :class:`LocalExecutor` or :class:`SubmititExecutor` from the sweep's ``executor``."""
    options = dict(options)
    kind = options.pop('type', 'local')
    if kind == 'local':
        check_known_keys(dict(options, type=kind), LOCAL_KEYS, 'sweep executor (local)')
        return LocalExecutor(log=log, **options)
    check_known_keys(dict(options, type=kind), SUBMITIT_KEYS, 'sweep executor (submitit)')
    options.setdefault('folder', osp.join(folder, 'submitit'))
    return SubmititExecutor(log=log, **options)


__all__ = ['LocalExecutor', 'SubmititExecutor', 'SweepJob', 'build_executor', 'worker_env']
