"""tools/train.py end to end with a plugin model: train, checkpoint, resume; DDP on gloo."""

import json
import os
import subprocess
import sys

import pytest
import torch

CONFIG = os.path.join('tests', 'fixtures', 'toy_train_config.py')


def _train(run_tool, *args):
    """Run tools/train.py on the toy config; it must succeed. Returns its whole output."""
    proc = run_tool('tools/train.py', CONFIG, *args, check=True)
    return proc.stdout + proc.stderr


def _iters_logged(work_dir):
    iters = []
    for root, _, files in os.walk(work_dir):
        for f in files:
            if f == 'scalars.json':
                with open(os.path.join(root, f)) as fh:
                    iters += [json.loads(line)['iter'] for line in fh if '"loss' in line]
    return sorted(iters)


def test_train_checkpoint_resume(tmp_path, run_tool):
    work = str(tmp_path / 'work')
    out = _train(run_tool, '--work-dir', work, '--cfg-options', 'train_cfg.max_iters=6')
    assert 'work dir:' in out and 'final checkpoint:' in out
    ckpt = os.path.join(work, 'iter_6.pth')
    assert os.path.isfile(ckpt)
    before = torch.load(ckpt, weights_only=False)['state_dict']['linear.weight']

    # resume to 12 iterations: it must continue from iter 6 (with weights_only loading)
    out = _train(run_tool, '--work-dir', work, '--resume')
    assert 'resumed' in out.lower() or 'Load checkpoint' in out
    final = torch.load(os.path.join(work, 'iter_12.pth'), weights_only=False)
    assert final['meta']['iter'] == 12
    assert not torch.equal(final['state_dict']['linear.weight'], before)
    logged = _iters_logged(work)
    assert max(logged) == 12 and min(i for i in logged if i > 6) >= 8  # no restart from 0


def test_resume_refuses_foreign_pickle(tmp_path, run_tool):
    class_def = 'import os\nclass Evil:\n    def __reduce__(self):\n        return (os.system, ("echo pwned",))\n'
    bad = tmp_path / 'evil.pth'
    code = (
        class_def
        + f'import torch\ntorch.save({{"state_dict": {{}}, "meta": {{"x": Evil()}}}}, {str(bad)!r})\n'
    )
    subprocess.run([sys.executable, '-c', code], check=True)
    proc = run_tool('tools/train.py', CONFIG, '--work-dir', tmp_path / 'w', '--resume', bad)
    assert proc.returncode != 0
    assert 'allowlist' in proc.stderr and 'pwned' not in proc.stdout


def test_amp_flag_trains_with_bf16_on_cpu(tmp_path, run_tool):
    work = str(tmp_path / 'amp')
    out = _train(run_tool, '--work-dir', work, '--amp', '--cfg-options', 'train_cfg.max_iters=4')
    assert 'PortableAmpOptimWrapper' in out
    assert os.path.isfile(os.path.join(work, 'iter_4.pth'))


def test_misspelt_top_level_key_fails_before_training(tmp_path, repo_root, run_tool):
    cfg = tmp_path / 'bad.py'
    cfg.write_text(f'_base_ = [{os.path.join(repo_root, CONFIG)!r}]\noptim_wraper = dict()\n')
    proc = run_tool('tools/train.py', cfg, '--work-dir', tmp_path / 'w')
    assert proc.returncode != 0
    assert "'optim_wraper' looks like a misspelling of 'optim_wrapper'" in proc.stderr
    assert not os.path.exists(tmp_path / 'w')  # nothing started


@pytest.mark.dist
def test_two_process_gloo_ddp_trains(tmp_path, run_tool):
    work = str(tmp_path / 'ddp')
    proc = run_tool('-m', 'torch.distributed.run', '--nproc-per-node', '2',
                    '--master-port', '29517', 'tools/train.py', CONFIG, '--launcher', 'pytorch',
                    '--work-dir', work, '--cfg-options', 'train_cfg.max_iters=4',
                    check=True)  # fmt: skip
    out = proc.stdout + proc.stderr
    assert 'Distributed training: True' in out and 'GPU number: 2' in out  # two ranks, gloo
    assert 'device_ids=None' in out  # DDP wrapped without device ids on CPU
    ckpt = torch.load(os.path.join(work, 'iter_4.pth'), weights_only=False)
    assert ckpt['meta']['iter'] == 4
