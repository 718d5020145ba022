"""Atomic checkpoints, for real: a process killed in the middle of writing a checkpoint (with
``max_keep_ckpts=1``) leaves a loadable checkpoint and a resumable run; a truncated checkpoint
named by ``last_checkpoint`` is reported by name and the previous one is used."""

import os
import subprocess
import sys
import textwrap

import pytest
import torch
from mmengine.config import Config
from mmengine.runner.checkpoint import CheckpointLoader

from videoar.engine.checkpointing import (
    CheckpointLoadError,
    checkpoint_problem,
    find_resumable_checkpoint,
    prepare_resume,
)
from videoar.io import records
from videoar.io.checkpoint import load_checkpoint_safe, read_last_checkpoint
from videoar.io.records import atomic_write_bytes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(ROOT, 'tests', 'fixtures', 'toy_train_config.py')

# Imported through custom_imports: the save of ``iter_<DIE_AT>.pth`` writes half its bytes, then
# the process dies on the spot (os._exit: no cleanup, no finally blocks), like a SIGKILL.
PLUGIN = """
import os
from videoar.io import records

_write = records._write_chunks
DIE_AT = os.environ.get('H8_DIE_AT')


def _write_half_then_die(f, data):
    if DIE_AT and f'iter_{DIE_AT}.pth' in f.name:
        f.write(data[: len(data) // 2])
        f.flush()
        os._exit(137)
    _write(f, data)


records._write_chunks = _write_half_then_die

from mmengine.hooks import Hook
from videoar.registry import HOOKS


@HOOKS.register_module()
class RefuseSaveHook(Hook):
    # Refuses (raises in before_save_checkpoint) the save at iteration H8_REFUSE_AT.
    def before_save_checkpoint(self, runner, checkpoint):
        if str(checkpoint['meta']['iter']) == os.environ.get('H8_REFUSE_AT'):
            raise RuntimeError('refused by the test')
"""


def run_train(
    tmp_path,
    work_dir,
    *extra,
    keep=1,
    die_at=None,
    refuse_at=None,
    hook_type='AtomicCheckpointHook',
):
    (tmp_path / 'h8_die_in_save.py').write_text(textwrap.dedent(PLUGIN))
    config = tmp_path / f'config_{keep}_{hook_type}.py'
    config.write_text(
        f'_base_ = [{CONFIG!r}]\n'
        "custom_imports = dict(imports=['videoar_toy', 'h8_die_in_save'])\n"
        f'default_hooks = dict(checkpoint=dict(type={hook_type!r}, max_keep_ckpts={keep}))\n'
        "custom_hooks = [dict(type='RefuseSaveHook')]\n"
    )
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [str(tmp_path), os.path.join(ROOT, 'tests', 'fixtures'), ROOT, env.get('PYTHONPATH', '')]
    )
    env['H8_DIE_AT'] = '' if die_at is None else str(die_at)
    env['H8_REFUSE_AT'] = '' if refuse_at is None else str(refuse_at)
    cmd = [sys.executable, os.path.join(ROOT, 'tools', 'train.py'), str(config)]
    cmd += ['--work-dir', str(work_dir), *extra]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_kill_during_save_leaves_a_loadable_checkpoint_and_a_resumable_run(tmp_path):
    work = tmp_path / 'work'
    died = run_train(tmp_path, work, keep=1, die_at=12)  # interval 6: iter_6 saved, iter_12 dies
    assert died.returncode == 137, died.stderr[-3000:]
    assert not (work / 'iter_12.pth').exists()  # never a half file under the final name
    assert [p.name for p in work.glob('.iter_12.pth.tmp-*')]  # the half write, hidden
    last = read_last_checkpoint(str(work))
    assert last is not None and last.endswith('iter_6.pth')  # the old one was not deleted
    assert load_checkpoint_safe(last)['meta']['iter'] == 6

    resumed = run_train(tmp_path, work, '--resume', keep=1)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert 'resuming from' in resumed.stderr and 'iter_6.pth' in resumed.stderr
    final = read_last_checkpoint(str(work))
    assert final.endswith('iter_12.pth') and load_checkpoint_safe(final)['meta']['iter'] == 12
    assert not (work / 'iter_6.pth').exists()  # rotation (keep 1) after the new one is complete
    assert not list(work.glob('.*.tmp-*'))  # the killed write's leftover is cleaned up


def test_a_refused_save_rotates_nothing_out(tmp_path):
    """A hook refusing the checkpoint (as the finiteness guard does) stops the run before
    anything is deleted: with max_keep_ckpts=1 the previous checkpoint stays and is named."""
    work = tmp_path / 'work'
    run = run_train(tmp_path, work, keep=1, refuse_at=12)
    assert run.returncode != 0 and 'refused by the test' in run.stderr
    assert read_last_checkpoint(str(work)) == str(work / 'iter_6.pth')
    assert load_checkpoint_safe(str(work / 'iter_6.pth'))['meta']['iter'] == 6


def test_truncated_last_checkpoint_is_named_and_the_previous_one_used(tmp_path):
    work = tmp_path / 'work'
    fresh = run_train(tmp_path, work, '--resume', keep=3)  # --resume on an empty work dir
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    assert f'no checkpoint in {work} yet; starting fresh' in fresh.stderr
    assert 'latest checkpoint None' not in fresh.stdout + fresh.stderr
    newest = work / 'iter_12.pth'
    data = newest.read_bytes()
    newest.write_bytes(data[: len(data) // 2])  # as a pre-atomic writer killed mid-save would

    resumed = run_train(tmp_path, work, '--resume', keep=3)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f'checkpoint {newest} does not load' in resumed.stderr
    assert f'resuming from {work / "iter_6.pth"}' in resumed.stderr
    final = read_last_checkpoint(str(work))
    assert load_checkpoint_safe(final)['meta']['iter'] == 12


def test_resume_from_a_named_broken_file_names_it(tmp_path):
    broken = tmp_path / 'iter_3.pth'
    broken.write_bytes(b'PK\x03\x04' + b'\0' * 100)
    cfg = Config(dict(work_dir=str(tmp_path), resume=True, load_from=str(broken)))
    with pytest.raises(CheckpointLoadError, match=f'cannot resume from {str(broken)!r}'):
        prepare_resume(cfg)


def test_resume_loads_through_mmengine_name_the_truncated_file(tmp_path):
    good = tmp_path / 'good.pth'
    torch.save({'w': torch.zeros(3)}, good)
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(good.read_bytes()[:-30])
    with pytest.raises(RuntimeError, match=f'cannot load checkpoint {str(cut)!r}'):
        CheckpointLoader.load_checkpoint(str(cut), map_location='cpu')


def test_all_checkpoints_broken_refuses_to_start_fresh(tmp_path):
    (tmp_path / 'iter_4.pth').write_bytes(b'garbage')
    path, skipped = find_resumable_checkpoint(str(tmp_path))
    assert path is None and [p for p, _ in skipped] == [str(tmp_path / 'iter_4.pth')]


@pytest.mark.parametrize('cut', [0, 10, 0.5, -1])
def test_checkpoint_problem_detects_truncation_anywhere(tmp_path, cut):
    good = tmp_path / 'good.pth'
    torch.save({'w': torch.arange(1000.0)}, good)
    assert checkpoint_problem(str(good)) is None
    data = good.read_bytes()
    n = int(len(data) * cut) if isinstance(cut, float) else (cut if cut >= 0 else len(data) - 1)
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(data[:n])
    assert checkpoint_problem(str(bad)) is not None


def test_atomic_write_replaces_or_keeps(tmp_path, monkeypatch):
    target = tmp_path / 'f.bin'
    atomic_write_bytes(str(target), b'old')

    class Boom(Exception):
        pass

    def fail(f, data):
        f.write(data[:1])
        raise Boom

    monkeypatch.setattr(records, '_write_chunks', fail)
    with pytest.raises(Boom):
        atomic_write_bytes(str(target), b'new content')
    assert target.read_bytes() == b'old'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['f.bin']
