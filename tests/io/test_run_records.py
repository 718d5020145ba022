"""videoar.io.runs: a curriculum or stage work dir resolves to a stage's inputs."""

import json
import os

import pytest

from videoar.io.checkpoint import CheckpointNotFoundError
from videoar.io.runs import RUN_FILE, curriculum_record, resolve_run_inputs


def _stage(root, name, model_type='VideoAR', **record):
    work = os.path.join(root, name)
    os.makedirs(work, exist_ok=True)
    checkpoint = os.path.join(work, 'iter_4.pth')
    open(checkpoint, 'wb').close()
    record = dict(checkpoint=checkpoint, model_type=model_type, **record)
    with open(os.path.join(work, 'finished.json'), 'w') as f:
        json.dump(record, f)
    return work, checkpoint


def _curriculum(root, with_record=True):
    _, tok = _stage(root, 'tokenizer', model_type='VideoTokenizer')
    _, s1 = _stage(root, 'stage1', tokenizer_checkpoint=tok)
    os.makedirs(os.path.join(root, 'latent_cache'))
    if with_record:
        record = dict(kind='curriculum', stages=dict(tokenizer='train', stage1='train'),
                      tokenizer_stage='tokenizer', latent_cache='latent_cache')  # fmt: skip
        with open(os.path.join(root, RUN_FILE), 'w') as f:
            json.dump(record, f)
    return tok, s1


@pytest.mark.parametrize('with_record', [True, False])
def test_a_curriculum_dir_gives_its_tokenizer_cache_and_the_named_stage(tmp_path, with_record):
    root = str(tmp_path / 'cur')
    tok, s1 = _curriculum(root, with_record)
    found = resolve_run_inputs(run=root, init_stage='stage1')
    assert found.tokenizer == tok and found.init == s1
    assert found.latent_cache == os.path.join(root, 'latent_cache')
    # without init_stage nothing is initialised (stage 1 starts from scratch)
    assert resolve_run_inputs(run=root).init is None
    assert curriculum_record(os.path.join(root, 'stage1')) is None  # a stage dir is no curriculum


def test_a_stage_dir_gives_what_it_trained_with_and_its_own_weights(tmp_path):
    tok = str(tmp_path / 'tok.pth')
    open(tok, 'wb').close()
    cache = tmp_path / 'cache'
    cache.mkdir()
    work, own = _stage(str(tmp_path), 'videoar_stage1', tokenizer_checkpoint=tok,
                       latent_cache_dirs=[str(cache)])  # fmt: skip
    found = resolve_run_inputs(run=work, init_stage='stage1')
    assert (found.tokenizer, found.init, found.latent_cache) == (tok, own, str(cache))


def test_a_tokenizer_run_is_a_tokenizer_and_not_an_init(tmp_path):
    work, tok = _stage(str(tmp_path), 'tok_run', model_type='VideoTokenizer')
    assert resolve_run_inputs(run=work).tokenizer == tok
    with pytest.raises(CheckpointNotFoundError, match='is a tokenizer run'):
        resolve_run_inputs(run=work, init_stage='stage1')


def test_explicit_inputs_override_the_run(tmp_path):
    root = str(tmp_path / 'cur')
    _curriculum(root)
    other_tok = str(tmp_path / 'other.pth')
    open(other_tok, 'wb').close()
    found = resolve_run_inputs(run=root, tokenizer=other_tok, latent_cache=str(tmp_path / 'c'))
    assert found.tokenizer == other_tok and found.latent_cache == str(tmp_path / 'c')


def test_missing_runs_and_stages_name_the_command_that_makes_them(tmp_path):
    with pytest.raises(CheckpointNotFoundError, match='python tools/train.py configs/videoar_c'):
        resolve_run_inputs(run=str(tmp_path / 'nowhere'))
    root = str(tmp_path / 'cur')
    _curriculum(root)
    with pytest.raises(CheckpointNotFoundError, match="no stage 'stage2'.*'stage1'"):
        resolve_run_inputs(run=root, init_stage='stage2')
    os.remove(os.path.join(root, 'stage1', 'finished.json'))  # an unfinished stage 1
    with pytest.raises(CheckpointNotFoundError, match='finished.json'):
        resolve_run_inputs(run=root, init_stage='stage1')
