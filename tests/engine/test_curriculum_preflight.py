"""The pre-flight of a curriculum: every train stage's resolved config is checked before the
first stage trains, and the one-line error names the stage."""

import os
import subprocess
import sys
import time

import pytest

from videoar.engine import launch
from videoar.engine.curriculum import preflight_curriculum
from videoar.utils import ConfigError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUICK = os.path.join(REPO, 'configs', 'videoar_curriculum_quick.py')


def _write_curriculum(tmp_path, stage3_options: dict) -> str:
    path = tmp_path / 'my_curriculum.py'
    path.write_text(
        f'_base_ = [{QUICK!r}]\n'
        f'work_dir = {str(tmp_path / "run")!r}\n'
        f'stages = dict(stage3=dict(cfg_options={stage3_options!r}))\n'
    )
    return str(path)


@pytest.mark.parametrize(
    'name', ['videoar_curriculum.py', 'videoar_curriculum_quick.py',
             'videoar_curriculum_inflate.py'],
)  # fmt: skip
def test_the_shipped_curricula_pass(name):
    cfg, _ = launch.prepare_config(os.path.join(REPO, 'configs', name), None, None, True)
    preflight_curriculum(cfg)


@pytest.mark.parametrize(
    'options, fragment',
    [
        ({'custom_hooks.VideoVisualizationHook.intervall': 6},
         'did you mean custom_hooks.2.interval?'),
        ({'train_dataloader.dataset.type': 'LatentCacheDatset'},
         "train_dataloader.dataset.type='LatentCacheDatset' is not a registered dataset"),
        ({'model.transformer.num_heads': 3},
         'num_heads'),
    ],
)  # fmt: skip
def test_a_mistake_in_stage3_is_named_with_its_stage(tmp_path, options, fragment):
    cfg, _ = launch.prepare_config(_write_curriculum(tmp_path, options), None, None, True)
    with pytest.raises(ConfigError) as err:
        preflight_curriculum(cfg)
    message = str(err.value)
    assert message.startswith('stage stage3 (configs/videoar_stage3.py): '), message
    assert fragment in message and '\n' not in message


def test_train_py_stops_before_the_tokenizer_stage_with_exit_code_2(tmp_path):
    config = _write_curriculum(tmp_path, {'custom_hooks.VideoVisualizationHook.intervall': 6})
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.environ.get('PYTHONPATH', '')]))
    start = time.time()
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO, 'tools', 'train.py'), config],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300,
    )  # fmt: skip
    took = time.time() - start
    assert proc.returncode == 2, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith('[videoar] error:')]
    assert len(errors) == 1 and errors[0].startswith('[videoar] error: stage stage3 '), errors
    assert not (tmp_path / 'run' / 'tokenizer').exists()  # nothing started
    assert 'Environment' not in proc.stdout + proc.stderr
    assert took < 60, took
