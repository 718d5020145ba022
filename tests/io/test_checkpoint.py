"""Checkpoint loading never runs code hidden in a pickle, through every path that loads one.

The property tested is the one that matters whatever torch build is installed: a payload whose
unpickling *would run code* (here: create a marker file) is refused, and the marker never
appears. (Which harmless builtins torch's own ``weights_only`` allowlist admits differs between
builds and import orders, so a test must not depend on that.)
"""

import os
import pickle

import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader

from videoar.io.checkpoint import (
    CheckpointNotFoundError,
    find_final_checkpoint,
    load_checkpoint_safe,
    load_state_dict,
    read_last_checkpoint,
    resolve_checkpoint,
)
from videoar.io.records import file_sha256, state_dict_sha256, to_jsonable, write_json
from videoar.models.tokenizers import load_tokenizer_checkpoint
from videoar.pipelines import init_model


class CreatesFile:
    """Unpickling this calls ``open(marker, 'w')``: it would create the marker file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


class RunsShell:
    """Unpickling this would run a shell command that creates the marker file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


def _poisoned(tmp_path, payload_cls, state):
    marker = tmp_path / f'pwned_{payload_cls.__name__}'
    path = tmp_path / f'poisoned_{payload_cls.__name__}.pth'
    torch.save({'state_dict': state, 'meta': {'payload': payload_cls(str(marker))}}, path)
    return str(path), marker


def _tiny_model_and_config(repo_root, options):
    config = f'{repo_root}/configs/_base_/models/videoar_tiny.py'
    return init_model(config, cfg_options=options), config


LOADERS = {
    'load_checkpoint_safe': lambda path, ctx: load_checkpoint_safe(path),
    'load_state_dict': lambda path, ctx: load_state_dict(path),
    'mmengine CheckpointLoader (Runner resume/load_from)': lambda path, ctx: (
        CheckpointLoader.load_checkpoint(path, map_location='cpu')
    ),
    'init_model': lambda path, ctx: init_model(ctx['config'], path, cfg_options=ctx['options']),
    'load_tokenizer_checkpoint': lambda path, ctx: load_tokenizer_checkpoint(
        path, ctx['model'].tokenizer, ctx['model'].quantizer
    ),
}


@pytest.mark.parametrize('payload_cls', [CreatesFile, RunsShell])
@pytest.mark.parametrize('loader', sorted(LOADERS))
def test_a_pickle_that_would_run_code_never_runs(
    repo_root, tiny_config_options, tmp_path, loader, payload_cls
):
    options = tiny_config_options()  # 5 frames of 16 x 16, a 1-layer transformer of width 32
    model, config = _tiny_model_and_config(repo_root, options)
    state = {f'tokenizer.{k}': v for k, v in model.tokenizer.state_dict().items()}
    state.update({f'quantizer.{k}': v for k, v in model.quantizer.state_dict().items()})
    state.update(model.state_dict())
    path, marker = _poisoned(tmp_path, payload_cls, state)
    with pytest.raises(pickle.UnpicklingError):
        LOADERS[loader](path, dict(model=model, config=config, options=options))
    assert not marker.exists(), f'{loader} ran the pickled payload'


def test_safe_loading_round_trips_tensors_and_strips_the_ddp_prefix(tmp_path):
    state = {'a.weight': torch.randn(3, 2), 'b': torch.arange(4)}
    torch.save({'state_dict': state, 'meta': {'iter': 3}}, tmp_path / 'ckpt.pth')
    torch.save({f'module.{k}': v for k, v in state.items()}, tmp_path / 'bare.pth')
    for name in ('ckpt.pth', 'bare.pth'):
        loaded = load_state_dict(str(tmp_path / name))
        assert set(loaded) == set(state)
        assert all(torch.equal(loaded[k], v) for k, v in state.items())
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_checkpoint_safe(str(tmp_path / 'missing.pth'))


def test_final_checkpoint_of_a_work_dir(tmp_path):
    work = tmp_path / 'run'
    with pytest.raises(CheckpointNotFoundError, match='python tools/train.py x.py'):
        find_final_checkpoint(str(work), command='python tools/train.py x.py')
    work.mkdir()
    (work / 'iter_2.pth').write_bytes(b'x')
    (work / 'last_checkpoint').write_text(str(work / 'iter_2.pth'))
    assert read_last_checkpoint(str(work)) == str(work / 'iter_2.pth')
    assert find_final_checkpoint(str(work)) == str(work / 'iter_2.pth')
    with pytest.raises(CheckpointNotFoundError, match='finished.json'):
        find_final_checkpoint(str(work), require_finished=True)
    (work / 'iter_4.pth').write_bytes(b'y')
    write_json(str(work / 'finished.json'), dict(checkpoint='iter_4.pth', iteration=4))
    assert resolve_checkpoint(str(work)) == str(work / 'iter_4.pth')
    assert resolve_checkpoint(dict(work_dir=str(work), command='c')) == str(work / 'iter_4.pth')
    (work / 'iter_4.pth').unlink()
    with pytest.raises(CheckpointNotFoundError, match='does not exist'):
        resolve_checkpoint(str(work))


def test_records_hashes_and_json(tmp_path):
    path = tmp_path / 'f.bin'
    path.write_bytes(b'abc')
    assert file_sha256(str(path)) == (
        'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
    )
    a = {'w': torch.ones(2, 2), 'b': torch.zeros(3)}
    b = {'b': torch.zeros(3), 'w': torch.ones(2, 2)}
    assert state_dict_sha256(a) == state_dict_sha256(b)  # order-independent
    assert state_dict_sha256(a) != state_dict_sha256({**a, 'b': torch.ones(3)})
    assert state_dict_sha256(a) != state_dict_sha256({**a, 'w': torch.ones(2, 2).double()})
    record = dict(x=torch.tensor(1.5), inf=float('inf'), t=(1, 2), n=float('nan'))
    assert to_jsonable(record) == dict(x=1.5, inf='inf', t=[1, 2], n='nan')
    out = write_json(str(tmp_path / 'sub' / 'r.json'), record)
    assert os.path.isfile(out) and not any(p.name.endswith('.tmp') for p in tmp_path.rglob('*'))
