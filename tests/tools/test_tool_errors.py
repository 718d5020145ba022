"""Configuration mistakes end in one line naming the fix (exit code 2), before the Runner's
environment and config dump."""

import os

import pytest


@pytest.fixture
def train_tool(load_tool):
    return load_tool('tools/train.py')


def _one_line_error(code, stdout, stderr, *fragments):
    assert code == 2, stdout[-2000:] + stderr[-2000:]
    errors = [line for line in stderr.splitlines() if line.startswith('[videoar] error:')]
    assert len(errors) == 1, stderr[-2000:]
    for fragment in fragments:
        assert fragment in errors[0]
    assert 'Traceback' not in stderr and 'System environment' not in stdout


def _train(tool, capsys, *argv):
    with pytest.raises(SystemExit) as stop:
        tool.launch.run_main(tool.main, list(map(str, argv)))
    out = capsys.readouterr()
    return stop.value.code, out.out, out.err


@pytest.mark.parametrize('option, fragments', [
    ('model.transformer.depth=eight', ["depth='eight'", 'expected an int']),
    ('optim_wrapper.optimizer.lr=1e-3,2e-3', ['expected a float', 'got a list']),
    ('train_cfg.max_iter=3', ['did you mean train_cfg.max_iters']),
])  # fmt: skip
def test_wrong_typed_options_are_one_line(train_tool, capsys, repo_root, option, fragments):
    config = os.path.join(repo_root, 'configs', 'videoar_stage2.py')
    result = _train(train_tool, capsys, config, '--cfg-options', option, 'inputs=None')
    _one_line_error(*result, *fragments)


def test_a_model_config_error_comes_before_the_config_dump(train_tool, capsys, repo_root,
                                                           tmp_path):  # fmt: skip
    config = os.path.join(repo_root, 'configs', 'videoar_stage2.py')
    result = _train(train_tool, capsys, config, '--work-dir', tmp_path, '--cfg-options',
                    'inputs=None', 'model.quantizer.scale_sizes=[1,2,3]')  # fmt: skip
    _one_line_error(*result, 'scale')
    assert not os.listdir(tmp_path)  # no Runner: no log, no dumped config


def test_a_missing_main_job_names_the_command(train_tool, capsys, repo_root, tmp_path):
    config = os.path.join(repo_root, 'configs', 'videoar_stage2.py')
    result = _train(train_tool, capsys, config, '--cfg-options', f'inputs.run={tmp_path}/none')
    _one_line_error(*result, 'python tools/train.py configs/videoar_curriculum.py')


def test_test_py_with_a_missing_checkpoint_is_one_line(run_tool, tmp_path):
    proc = run_tool('tools/test.py', 'configs/videoar_stage3.py', tmp_path / 'missing.pth',
                    timeout=120)  # fmt: skip
    _one_line_error(proc.returncode, proc.stdout, proc.stderr, 'missing.pth', 'does not exist')
