"""Preemption, for real, in subprocesses of tools/train.py on the toy config: a signal mid-run
saves a checkpoint at the next iteration and exits with code 75; --resume reaches the end."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

from videoar.engine.hooks import PREEMPTED_EXIT_CODE
from videoar.io.checkpoint import load_checkpoint_safe, read_last_checkpoint

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(ROOT, 'tests', 'fixtures', 'toy_train_config.py')

# A plugin hook that sends the given signals to its own process during iteration ``at``
# (counted from 1), so the signal arrives mid-iteration, at a known place.
PLUGIN = """
import os, signal, time
from mmengine.hooks import Hook
from videoar.registry import HOOKS

@HOOKS.register_module()
class SelfSignalHook(Hook):
    def __init__(self, at, signals=('SIGTERM',), rank=None):
        self.at, self.signals, self.rank = at, signals, rank

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.at and self.rank in (None, runner.rank):
            for name in self.signals:
                os.kill(os.getpid(), getattr(signal, name))
                time.sleep(0.05)
"""


def write_config(tmp_path, hook=None, **overrides):
    """A config deriving from the toy one: atomic checkpoints, an optional plugin hook."""
    (tmp_path / 'h8_signal_plugin.py').write_text(textwrap.dedent(PLUGIN))
    lines = [
        f'_base_ = [{CONFIG!r}]',
        "default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))",
    ]
    if hook is not None:
        lines += [
            "custom_imports = dict(imports=['videoar_toy', 'h8_signal_plugin'])",
            f'custom_hooks = [{hook}]',
        ]
    lines += [f'{key} = {value!r}' for key, value in overrides.items()]
    path = tmp_path / f'config_{abs(hash((hook, tuple(overrides.items()))))}.py'
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def train_command(tmp_path, work_dir, *extra, hook=None):
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [str(tmp_path), os.path.join(ROOT, 'tests', 'fixtures'), ROOT, env.get('PYTHONPATH', '')]
    )
    config = write_config(tmp_path, hook)
    cmd = [sys.executable, os.path.join(ROOT, 'tools', 'train.py'), config]
    return [*cmd, '--work-dir', str(work_dir), *extra], env


def run_train(tmp_path, work_dir, *extra, hook=None, timeout=120):
    cmd, env = train_command(tmp_path, work_dir, *extra, hook=hook)
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def iteration_of(path):
    return load_checkpoint_safe(path)['meta']['iter']


def test_sigterm_saves_at_next_iteration_and_resume_equals_uninterrupted_run(tmp_path):
    work = tmp_path / 'work'
    stopped = run_train(tmp_path, work, hook="dict(type='SelfSignalHook', at=4)")
    assert stopped.returncode == PREEMPTED_EXIT_CODE, stopped.stderr[-3000:]
    assert 'SIGTERM received' in stopped.stderr
    last = read_last_checkpoint(str(work))
    assert last is not None and last.endswith('iter_4.pth'), last
    assert iteration_of(last) == 4  # the iteration in flight completed and was saved
    assert 'final checkpoint' not in stopped.stdout
    assert not (work / '.videoar.lock').exists()  # released on the way out

    resumed = run_train(tmp_path, work, '--resume')
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f'resuming from {last}' in resumed.stderr
    straight = run_train(tmp_path, tmp_path / 'straight')
    assert straight.returncode == 0, straight.stderr[-3000:]
    a = load_checkpoint_safe(read_last_checkpoint(str(tmp_path / 'straight')))
    b = load_checkpoint_safe(read_last_checkpoint(str(work)))
    assert a['meta']['iter'] == b['meta']['iter'] == 12  # the same final iteration
    for key, value in a['state_dict'].items():
        torch.testing.assert_close(b['state_dict'][key], value)


@pytest.mark.parametrize('name', ['SIGUSR1', 'SIGINT'])
def test_usr1_and_first_ctrl_c_save_and_exit_alike(tmp_path, name):
    work = tmp_path / 'work'
    stopped = run_train(
        tmp_path, work, hook=f"dict(type='SelfSignalHook', at=3, signals=({name!r},))"
    )
    assert stopped.returncode == PREEMPTED_EXIT_CODE, stopped.stderr[-3000:]
    assert f'{name} received' in stopped.stderr
    assert iteration_of(read_last_checkpoint(str(work))) == 3


def test_second_ctrl_c_stops_at_once_without_saving(tmp_path):
    work = tmp_path / 'work'
    hook = "dict(type='SelfSignalHook', at=3, signals=('SIGINT', 'SIGINT'))"
    stopped = run_train(tmp_path, work, hook=hook)
    assert stopped.returncode not in (0, PREEMPTED_EXIT_CODE)
    assert 'KeyboardInterrupt' in stopped.stderr
    assert read_last_checkpoint(str(work)) is None  # nothing saved: the user insisted
    assert not (work / '.videoar.lock').exists()


def test_external_sigterm_during_a_run(tmp_path):
    """The signal comes from outside (as a scheduler sends it), at an arbitrary moment."""
    work = tmp_path / 'work'
    cmd, env = train_command(tmp_path, work)
    cmd += [
        '--cfg-options',
        'train_cfg.max_iters=100000',
        'default_hooks.checkpoint.interval=100000',
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        for line in proc.stdout:  # wait until training iterates
            if 'Iter(train)' in line:
                break
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == PREEMPTED_EXIT_CODE, err[-3000:]
    last = read_last_checkpoint(str(work))
    assert last is not None and iteration_of(last) >= 2


def test_ddp_signal_on_one_rank_stops_every_rank_after_one_save(tmp_path):
    """Two gloo ranks; only rank 1 is signalled: both agree at the next iteration, rank 0 writes
    the checkpoint, both exit with 75; --resume (single process) finishes the run."""
    work = tmp_path / 'work'
    hook = "dict(type='SelfSignalHook', at=5, rank=1)"
    cmd, env = train_command(tmp_path, work, '--launcher', 'pytorch', hook=hook)
    procs = []
    for rank in range(2):
        env_rank = dict(env, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE='2',
                        MASTER_ADDR='127.0.0.1', MASTER_PORT=str(29500 + os.getpid() % 1000))  # fmt: skip
        procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env_rank, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))  # fmt: skip
    outputs = [p.communicate(timeout=180) for p in procs]
    codes = [p.returncode for p in procs]
    assert codes == [PREEMPTED_EXIT_CODE] * 2, outputs[0][1][-2000:] + outputs[1][1][-2000:]
    assert 'SIGTERM received' in outputs[1][1] and 'SIGTERM received' not in outputs[0][1]
    last = read_last_checkpoint(str(work))
    assert last.endswith('iter_5.pth') and iteration_of(last) == 5
    resumed = run_train(tmp_path, work, '--resume')
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert iteration_of(read_last_checkpoint(str(work))) == 12
