"""Train and evaluate one sweep run, in the process that calls :func:`execute_run`.

The local executor starts ``python -m videoar.engine.sweep.worker <run dir>/sweep_run.json``
per run; the submitit executor calls :func:`execute_run` inside the job. Either way the run:

1. trains its config with its options in its own work dir, with the runs its ``inputs`` name
   linked in as ``tools/train.py`` does (mmengine Runner; resumed from the
   newest loadable checkpoint when an earlier attempt was interrupted; skipped when training
   already finished);
2. evaluates the final checkpoint through :func:`videoar.evaluation.evaluate_generation` (the
   loop of the curriculum's evaluate stage and ``tools/test.py``) with the sweep's
   ``evaluation`` settings, or those of the config's ``GenerationEvaluationHook``;
3. writes ``metrics.json`` (numbers, each metric's protocol, the generation protocol and the
   run: setting, seed, config, options, checkpoint) and ``sweep_status.json``.

``evaluation=False`` in the sweep file skips generation and reports the last logged training
scalars instead (for configs that generate nothing, e.g. a tokenizer).
"""

from __future__ import annotations

import gc
import inspect
import json
import os
import os.path as osp
import socket
import sys
import time
import traceback

import torch

from videoar.evaluation.generation import evaluate_generation
from videoar.evaluation.report import write_metrics_json
from videoar.io.checkpoint import read_last_checkpoint
from videoar.io.records import read_json
from videoar.pipelines import init_model
from videoar.utils import ConfigError, check_known_keys

from .. import launch
from ..checkpointing import remove_stale_temporaries
from ..hooks import PREEMPTED_EXIT_CODE, Preempted
from ..hooks.generation_evaluation_hook import evaluation_settings_of
from ..workdir_lock import WorkDirLock
from .plan import METRICS_FILE, RunSpec, read_status, write_status

#: evaluate_generation arguments a sweep run sets itself
RUN_SET_KEYS = ('model', 'progress', 'keep_videos')
FAILED_EXIT_CODE = 1


def evaluation_settings(run: RunSpec, cfg) -> dict | None:
    """The run's ``evaluate_generation`` arguments (``None``: report training scalars)."""
    if run.evaluation is False:
        return None
    settings = run.evaluation if isinstance(run.evaluation, dict) else evaluation_settings_of(cfg)
    if settings is None:
        raise ConfigError(
            f'{run.config} has no GenerationEvaluationHook and the sweep gives no evaluation: '
            'add evaluation=dict(metrics=[...], num_samples=...) to the sweep file (or '
            'evaluation=False to report the last training scalars).'
        )
    allowed = set(inspect.signature(evaluate_generation).parameters) - set(RUN_SET_KEYS)
    check_known_keys(settings, allowed, 'sweep evaluation')
    if 'metrics' not in settings or 'num_samples' not in settings:
        raise ConfigError('sweep evaluation needs metrics and num_samples.')
    return dict(settings)


def train(run: RunSpec) -> str:
    """Train the run (resuming an interrupted attempt); returns the final checkpoint."""
    cfg, work_dir = launch.prepare_config(run.config, run.options, run.work_dir, for_training=True)
    if cfg.get('stages') is not None:
        raise ConfigError(f'{run.config} is a curriculum; a sweep run trains one stage config.')
    # the runs named in `inputs` (the tokenizer checkpoint, a latent cache, an init checkpoint)
    # reach the model and every latent-cache dataset, as in tools/train.py; without this the
    # model and the latent cache keep a RANDOM tokenizer (configs/ablations/README.md)
    launch.link_run_inputs(cfg)
    cfg.resume = True  # the newest loadable checkpoint of the work dir, or a fresh start
    cfg.load_from = None
    launch.setup_launcher(cfg, 'none')
    with WorkDirLock(work_dir):
        remove_stale_temporaries(work_dir)
        runner = launch.build_runner(cfg)
        runner.train()
        del runner
    gc.collect()
    checkpoint = read_last_checkpoint(work_dir)
    if checkpoint is None:
        raise RuntimeError(f'training of {run.key} finished without a checkpoint in {work_dir}.')
    return checkpoint


def last_scalars(work_dir: str) -> dict:
    """The last line of the newest ``scalars.json`` under ``work_dir``."""
    found = []
    for root, _, files in os.walk(work_dir):
        if 'scalars.json' in files:
            found.append(osp.join(root, 'scalars.json'))
    if not found:
        return {}
    with open(max(found, key=osp.getmtime)) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    return lines[-1] if lines else {}


def evaluate(run: RunSpec, checkpoint: str) -> dict:
    """Score the final checkpoint and write ``metrics.json``; returns the metrics."""
    cfg = launch.load_config(run.config, run.options)
    settings = evaluation_settings(run, cfg)
    described = dict(setting=run.setting, seed=run.seed, config=run.config, options=run.options,
                     checkpoint=checkpoint)  # fmt: skip
    path = osp.join(run.work_dir, METRICS_FILE)
    if settings is None:
        scalars = last_scalars(run.work_dir)
        protocol = dict(kind='last logged training scalars (evaluation=False)')
        write_metrics_json(path, scalars, None, extra=dict(protocol=protocol, run=described))
        return scalars
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    start = time.time()
    model = init_model(cfg, checkpoint, device=device)
    result = evaluate_generation(model, keep_videos=0, progress=False, **settings)
    protocol = dict(result.protocol, weights='as stored in the checkpoint (EMA when EMAHook ran)',
                    wall_time_s=round(time.time() - start, 2))  # fmt: skip
    write_metrics_json(path, result.metrics, result.evaluator,
                       extra=dict(protocol=protocol, run=described))  # fmt: skip
    del model
    gc.collect()
    return result.metrics


def _error_text(error: BaseException) -> str:
    lines = traceback.format_exception_only(type(error), error)
    return ''.join(lines).strip()[-2000:]


def execute_run(run: RunSpec | dict) -> dict:
    """Train (or resume) and evaluate one run; returns its final status record.

    A done run is returned as it is. Failures are recorded in ``sweep_status.json`` (state
    ``failed``, the error and the traceback's tail) and re-raised; a preemption leaves the run
    ``running`` so the next attempt resumes it.
    """
    run = RunSpec.from_dict(run) if isinstance(run, dict) else run
    os.chdir(run.cwd)  # relative paths of the configs (tokenizer runs, caches) as when planned
    torch.set_num_threads(max(1, int(run.threads)))
    status = read_status(run)
    if status['state'] == 'done':
        return status
    attempts = int(status.get('attempts', 0)) + 1
    write_status(run, state='running' if status['state'] != 'trained' else 'trained',
                 attempts=attempts, pid=os.getpid(), host=socket.gethostname(),
                 slurm_job_id=os.environ.get('SLURM_JOB_ID'))  # fmt: skip
    start = time.time()
    try:
        checkpoint = status.get('checkpoint')
        if status['state'] != 'trained' or not checkpoint or not osp.isfile(checkpoint):
            checkpoint = train(run)
            write_status(run, state='trained', checkpoint=checkpoint,
                         train_time_s=round(time.time() - start, 2))  # fmt: skip
        eval_start = time.time()
        metrics = evaluate(run, checkpoint)
        numbers = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
        return write_status(run, state='done', error=None, metrics=numbers,
                            eval_time_s=round(time.time() - eval_start, 2),
                            wall_time_s=round(time.time() - start, 2))  # fmt: skip
    except Preempted:
        write_status(run, state='running', note='preempted; the next attempt resumes')
        raise
    except BaseException as error:  # noqa: BLE001  (recorded, then re-raised)
        write_status(run, state='failed', error=_error_text(error),
                     traceback=traceback.format_exc()[-4000:])  # fmt: skip
        raise


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(
            'usage: python -m videoar.engine.sweep.worker RUN_DIR/sweep_run.json', file=sys.stderr
        )
        return 2
    data = read_json(argv[0])
    if data is None:
        print(f'{argv[0]}: no such run file', file=sys.stderr)
        return 2
    try:
        status = execute_run(data)
    except Preempted as stop:
        print(f'[videoar] {stop.message}', file=sys.stderr, flush=True)
        return PREEMPTED_EXIT_CODE
    except BaseException:  # noqa: BLE001  (already recorded in sweep_status.json)
        traceback.print_exc()
        return FAILED_EXIT_CODE
    print(
        f'[videoar] sweep run {data["setting"]}/seed{data["seed"]}: {status["state"]}', flush=True
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
