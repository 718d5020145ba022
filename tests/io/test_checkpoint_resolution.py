"""find_final_checkpoint and resolve_checkpoint: a stage's result from its work directory."""

import json
import os

import pytest
import torch

from videoar.io.checkpoint import CheckpointNotFoundError, find_final_checkpoint, resolve_checkpoint


def test_find_final_checkpoint(tmp_path):
    work = tmp_path / 'stage1'
    with pytest.raises(CheckpointNotFoundError, match='run `python tools/train.py s1.py` first'):
        find_final_checkpoint(str(work), command='python tools/train.py s1.py')
    work.mkdir()
    ckpt = work / 'iter_4.pth'
    torch.save({'state_dict': {}}, ckpt)
    (work / 'last_checkpoint').write_text(str(ckpt))
    assert find_final_checkpoint(str(work)) == str(ckpt)
    with pytest.raises(CheckpointNotFoundError, match='finished.json'):
        find_final_checkpoint(str(work), require_finished=True)
    final = work / 'iter_8.pth'
    torch.save({'state_dict': {}}, final)
    (work / 'finished.json').write_text(json.dumps({'checkpoint': 'iter_8.pth'}))
    assert find_final_checkpoint(str(work), require_finished=True) == os.path.join(
        work, 'iter_8.pth'
    )
    os.remove(final)
    with pytest.raises(CheckpointNotFoundError, match='does not exist'):
        find_final_checkpoint(str(work))


def test_resolve_checkpoint_accepts_file_dir_and_names_the_command(tmp_path):
    ckpt = tmp_path / 'run' / 'iter_5.pth'
    ckpt.parent.mkdir()
    ckpt.write_bytes(b'x')
    (tmp_path / 'run' / 'last_checkpoint').write_text(str(ckpt))
    assert resolve_checkpoint(str(ckpt)) == str(ckpt)
    assert resolve_checkpoint(str(tmp_path / 'run')) == str(ckpt)
    assert resolve_checkpoint(dict(work_dir=str(tmp_path / 'run'))) == str(ckpt)
    assert resolve_checkpoint(None) is None
    cmd = 'python tools/train.py configs/tokenizer/x.py'
    with pytest.raises(CheckpointNotFoundError, match='configs/tokenizer/x.py'):
        resolve_checkpoint(dict(work_dir=str(tmp_path / 'missing'), command=cmd))
