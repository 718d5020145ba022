"""The work-dir lock, for real: a second tools/train.py on a busy work dir fails fast naming the
holder; a stale lock of a dead process is reclaimed with a message; the lock is released at the
end of a run, also after an exception."""

import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from videoar.engine.workdir_lock import LOCK_FILE, WorkDirLock, WorkDirLockedError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(ROOT, 'tests', 'fixtures', 'toy_train_config.py')

# Holds the first run at iteration 2 until the test creates the file ``release``.
PLUGIN = """
import os, time
from mmengine.hooks import Hook
from videoar.registry import HOOKS

@HOOKS.register_module()
class WaitForFileHook(Hook):
    def __init__(self, path):
        self.path = path

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == 1:
            open(self.path + '.waiting', 'w').close()
            while not os.path.exists(self.path):
                time.sleep(0.05)
"""


def command(tmp_path, work_dir, hook=None):
    (tmp_path / 'h8_wait_plugin.py').write_text(textwrap.dedent(PLUGIN))
    config = tmp_path / ('held.py' if hook else 'plain.py')
    text = f'_base_ = [{CONFIG!r}]\n'
    if hook:
        text += "custom_imports = dict(imports=['videoar_toy', 'h8_wait_plugin'])\n"
        text += f'custom_hooks = [{hook}]\n'
    config.write_text(text)
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [str(tmp_path), os.path.join(ROOT, 'tests', 'fixtures'), ROOT, env.get('PYTHONPATH', '')]
    )
    cmd = [sys.executable, os.path.join(ROOT, 'tools', 'train.py'), str(config)]
    return [*cmd, '--work-dir', str(work_dir)], env


def test_second_run_on_a_busy_work_dir_fails_fast_and_names_the_holder(tmp_path):
    work = tmp_path / 'work'
    release = tmp_path / 'release'
    cmd, env = command(tmp_path, work, hook=f"dict(type='WaitForFileHook', path={str(release)!r})")
    first = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.time() + 90
        while not (tmp_path / 'release.waiting').exists():
            assert first.poll() is None and time.time() < deadline, 'first run did not start'
            time.sleep(0.1)
        cmd2, env2 = command(tmp_path, work)
        second = subprocess.run(cmd2, cwd=ROOT, env=env2, capture_output=True, text=True,
                                timeout=60)  # fmt: skip
        assert second.returncode != 0
        assert 'WorkDirLockedError' in second.stderr
        assert f'pid {first.pid} on host {socket.gethostname()!r}' in second.stderr
        assert 'Iter(train)' not in second.stdout  # stopped before any training
        assert not list(work.glob('iter_*.pth'))  # and wrote no checkpoint
    finally:
        release.touch()
        _, err = first.communicate(timeout=90)
    assert first.returncode == 0, err[-3000:]
    assert (work / 'iter_12.pth').exists()
    assert not (work / LOCK_FILE).exists()  # released at the end


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    proc.wait()
    return proc.pid


def test_stale_lock_of_a_dead_process_is_reclaimed(tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    pid = dead_pid()
    stale = dict(pid=pid, host=socket.gethostname(), started='2020-01-01T00:00:00+00:00')
    (work / LOCK_FILE).write_text(json.dumps(stale))
    cmd, env = command(tmp_path, work)
    run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert f'reclaiming the stale lock {work / LOCK_FILE} of pid {pid}' in run.stderr
    assert f'process {pid} no longer exists' in run.stderr
    assert not (work / LOCK_FILE).exists()


def test_lock_of_a_live_process_on_another_host_is_respected(tmp_path):
    (tmp_path / LOCK_FILE).write_text(json.dumps(dict(pid=1, host='elsewhere', started='x')))
    with pytest.raises(WorkDirLockedError, match="pid 1 on host 'elsewhere'"):
        WorkDirLock(str(tmp_path)).acquire()


def test_requeued_slurm_job_reclaims_its_own_lock(tmp_path, monkeypatch):
    monkeypatch.setenv('SLURM_JOB_ID', '4242')
    holder = dict(pid=1, host='node-a', started='x', slurm_job_id='4242')
    (tmp_path / LOCK_FILE).write_text(json.dumps(holder))
    with WorkDirLock(str(tmp_path)):
        assert json.loads((tmp_path / LOCK_FILE).read_text())['pid'] == os.getpid()
    assert not (tmp_path / LOCK_FILE).exists()


def test_reused_pid_counts_as_stale(tmp_path):
    me = dict(pid=os.getpid(), host=socket.gethostname(), started='x', start_ticks=1)
    (tmp_path / LOCK_FILE).write_text(json.dumps(me))
    with WorkDirLock(str(tmp_path)) as lock:
        assert lock.held


def test_released_after_an_exception(tmp_path):
    with pytest.raises(RuntimeError), WorkDirLock(str(tmp_path)):
        assert (tmp_path / LOCK_FILE).exists()
        raise RuntimeError('boom')
    assert not (tmp_path / LOCK_FILE).exists()
