"""tools/dist_train.sh under a real SIGTERM: torchrun forwards it, the two gloo workers save one
checkpoint and the script exits with 75 (torchrun alone would report 1)."""

import os
import signal
import subprocess
import sys
import time

from videoar.engine.hooks import PREEMPTED_EXIT_CODE
from videoar.io.checkpoint import load_checkpoint_safe, read_last_checkpoint

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(ROOT, 'tests', 'fixtures', 'toy_train_config.py')

# Slows every iteration down and marks iteration 3, so the test signals a run in progress.
PLUGIN = """
import os, time
from mmengine.hooks import Hook
from videoar.registry import HOOKS

@HOOKS.register_module()
class SlowMarkerHook(Hook):
    def __init__(self, marker):
        self.marker = marker

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == 3 and runner.rank == 0:
            open(self.marker, 'w').close()
        time.sleep(0.5)
"""


def test_sigterm_to_the_script_saves_once_and_exits_75(tmp_path):
    (tmp_path / 'slow_marker_plugin.py').write_text(PLUGIN)
    marker, work = tmp_path / 'reached_3', tmp_path / 'work'
    config = tmp_path / 'config.py'
    config.write_text(
        f'_base_ = [{CONFIG!r}]\n'
        "custom_imports = dict(imports=['videoar_toy', 'slow_marker_plugin'])\n"
        f"custom_hooks = [dict(type='SlowMarkerHook', marker={str(marker)!r})]\n"
        'train_cfg = dict(max_iters=40)\n'
    )
    env = dict(os.environ, PORT=str(29600 + os.getpid() % 300), OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = os.pathsep.join(
        [str(tmp_path), os.path.join(ROOT, 'tests', 'fixtures'), env.get('PYTHONPATH', '')]
    )
    env['PATH'] = os.path.dirname(sys.executable) + os.pathsep + env['PATH']
    script = os.path.join(ROOT, 'tools', 'dist_train.sh')
    proc = subprocess.Popen(
        ['bash', script, str(config), '2', '--work-dir', str(work)], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.exists(), proc.communicate(timeout=30)[1][-3000:]
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == PREEMPTED_EXIT_CODE, err[-3000:]
    last = read_last_checkpoint(str(work))
    iteration = load_checkpoint_safe(last)['meta']['iter']
    assert 3 <= iteration < 40
    assert sorted(os.listdir(work)).count(os.path.basename(last)) == 1
