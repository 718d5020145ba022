"""Configuration mistakes end in one line naming the fix (exit code 2), before the Runner's
environment and config dump."""

import os

import pytest


def _one_line_error(proc, *fragments):
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith('[videoar] error:')]
    assert len(errors) == 1, proc.stderr[-2000:]
    for fragment in fragments:
        assert fragment in errors[0]
    assert 'Traceback' not in proc.stderr and 'System environment' not in proc.stdout


@pytest.mark.parametrize('option, fragments', [
    ('model.transformer.depth=eight', ["depth='eight'", 'expected an int']),
    ('optim_wrapper.optimizer.lr=1e-3,2e-3', ['expected a float', 'got a list']),
    ('train_cfg.max_iter=3', ['did you mean train_cfg.max_iters']),
])  # fmt: skip
def test_wrong_typed_options_are_one_line(run_tool, option, fragments):
    proc = run_tool('tools/train.py', 'configs/videoar_stage2.py', '--cfg-options', option,
                    'inputs=None', timeout=120)  # fmt: skip
    _one_line_error(proc, *fragments)


def test_a_model_config_error_comes_before_the_config_dump(run_tool, tmp_path):
    proc = run_tool('tools/train.py', 'configs/videoar_stage2.py', '--work-dir', tmp_path,
                    '--cfg-options', 'inputs=None', 'model.quantizer.scale_sizes=[1,2,3]',
                    timeout=120)  # fmt: skip
    _one_line_error(proc, 'scale')
    assert not os.listdir(tmp_path)  # no Runner: no log, no dumped config


def test_a_missing_main_job_names_the_command(run_tool, tmp_path):
    proc = run_tool('tools/train.py', 'configs/videoar_stage2.py', '--cfg-options',
                    f'inputs.run={tmp_path}/nothing', timeout=120)  # fmt: skip
    _one_line_error(proc, 'python tools/train.py configs/videoar_curriculum.py')


def test_test_py_with_a_missing_checkpoint_is_one_line(run_tool, tmp_path):
    proc = run_tool('tools/test.py', 'configs/videoar_stage3.py', tmp_path / 'missing.pth',
                    timeout=120)  # fmt: skip
    _one_line_error(proc, 'missing.pth', 'does not exist')
