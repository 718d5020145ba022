"""FSDP2 end to end through tools/train.py (gloo, 2 CPU processes): sharded save / resume on 2
ranks and on 1 process (batch x 2, the same global batch) equal to the uninterrupted 2-rank run,
AdamW step counts kept, the frozen tokenizer untrained, consolidation, sampling."""

import os
import shutil

import pytest
import torch

from videoar.engine.fsdp import read_sharded_checkpoint
from videoar.io.checkpoint import load_checkpoint_safe

pytestmark = pytest.mark.dist

CONFIG = """
_base_ = [{tiny!r}, {fsdp2!r}]
# no training-time randomness, so 1 and 2 processes see exactly the same computation
model = dict(corrector=dict(_delete_=True, type='NoCorrection'), conditioner=dict(drop_prob=0.0),
             transformer=dict(depth=2, dim=64))
model_wrapper_cfg = dict(mixed_precision=None)  # fp32: compare with float tolerance
train_dataloader = dict(batch_size={batch})
train_cfg = dict(max_iters=4)
default_hooks = dict(checkpoint=dict(interval=2, max_keep_ckpts=3), logger=dict(interval=1))
"""


def _config(tmp_path, repo_root, batch):
    path = tmp_path / f'fsdp_b{batch}.py'
    path.write_text(CONFIG.format(
        tiny=os.path.join(repo_root, 'configs/_base_/videoar_tiny_movingdigits.py'),
        fsdp2=os.path.join(repo_root, 'configs/_base_/strategies/fsdp2.py'), batch=batch))  # fmt: skip
    return str(path)


def _torchrun(run_tool, config, work, *extra):
    return run_tool('-m', 'torch.distributed.run', '--nproc-per-node', '2', '--master-port',
                    '29541', 'tools/train.py', config, '--launcher', 'pytorch', '--work-dir', work,
                    *extra, check=True)  # fmt: skip


def _assert_same(a: dict, b: dict, atol=2e-5):
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=atol, rtol=1e-4, msg=key)


def test_fsdp2_matches_one_process_and_resumes(tmp_path, repo_root, run_tool):
    config2, config1 = _config(tmp_path, repo_root, 2), _config(tmp_path, repo_root, 4)
    work2 = str(tmp_path / 'fsdp')
    out = _torchrun(run_tool, config2, work2)
    assert 'GPU number: 2' in out.stdout + out.stderr
    two = read_sharded_checkpoint(os.path.join(work2, 'iter_4.dcp'))
    frozen = [k for k in two['model'] if k.startswith(('tokenizer.', 'quantizer.'))]
    assert frozen and all(k not in two['optimizer']['state'] for k in frozen)  # not trained
    steps = {float(s['step']) for s in two['optimizer']['state'].values()}
    assert steps == {4.0}

    # "kill" after iteration 2: only iter_2 is left; resume on 2 ranks and on 1 process. The
    # single process (batch 4) continues exactly as the 2 ranks x batch 2 did: FSDP2 steps equal
    # one-process steps with the same global batch.
    for name, world in (('resume2', 2), ('resume1', 1)):
        work = str(tmp_path / name)
        os.makedirs(work)
        for f in ('iter_2.pth', 'iter_2.dcp'):
            copy = shutil.copytree if f.endswith('.dcp') else shutil.copy
            copy(os.path.join(work2, f), os.path.join(work, f))
        if world == 2:
            _torchrun(run_tool, config2, work, '--resume')
        else:
            run_tool('tools/train.py', config1, '--work-dir', work, '--resume', check=True)
        resumed = read_sharded_checkpoint(os.path.join(work, 'iter_4.dcp'))
        _assert_same(resumed['model'], two['model'])
        _assert_same(resumed['optimizer']['state'], two['optimizer']['state'])

    # one file for the single-process tools, which samples with tools/generate.py
    full = str(tmp_path / 'full.pth')
    run_tool('tools/consolidate_checkpoint.py', os.path.join(work2, 'iter_4.pth'), full,
             check=True)  # fmt: skip
    state = load_checkpoint_safe(full)['state_dict']
    _assert_same(state, two['model'], atol=0)
    out_dir = str(tmp_path / 'samples')
    run_tool('tools/generate.py', config1, full, '--classes', '3', '--out', out_dir,
             '--no-progress', check=True)  # fmt: skip
    assert any(f.endswith('.mp4') for f in os.listdir(out_dir))
