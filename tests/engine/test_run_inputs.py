"""videoar.engine.runs.link_inputs: one `inputs` entry reaches the model, the latent caches and
the init hook; the AR stage configs default to the main job's work dir."""

import json
import os

import pytest
from mmengine.config import Config

from videoar.engine import launch
from videoar.engine.runs import link_inputs
from videoar.io.checkpoint import CheckpointNotFoundError
from videoar.utils import ConfigError


def _finished(work, **record):
    os.makedirs(work, exist_ok=True)
    checkpoint = os.path.join(work, 'iter_2.pth')
    open(checkpoint, 'wb').close()
    with open(os.path.join(work, 'finished.json'), 'w') as f:
        json.dump(dict(checkpoint=checkpoint, **record), f)
    return checkpoint


@pytest.fixture
def main_job(tmp_path):
    """A fake main-job work dir: tokenizer, stage1 and stage2 finished, a latent cache."""
    root = tmp_path / 'work_dirs' / 'videoar_curriculum'
    tok = _finished(str(root / 'tokenizer'), model_type='VideoTokenizer')
    s1 = _finished(str(root / 'stage1'), model_type='VideoAR', tokenizer_checkpoint=tok)
    s2 = _finished(str(root / 'stage2'), model_type='VideoAR', tokenizer_checkpoint=tok)
    (root / 'latent_cache').mkdir()
    return dict(root=str(root), tokenizer=tok, stage1=s1, stage2=s2)


@pytest.mark.parametrize('config, init', [('videoar_stage1.py', None),
                                          ('videoar_stage2.py', 'stage1'),
                                          ('videoar_stage3.py', 'stage2')])  # fmt: skip
def test_stage_configs_take_everything_from_the_main_job(
    repo_root, main_job, tmp_path, monkeypatch, config, init
):
    monkeypatch.chdir(tmp_path)  # the default inputs.run is ./work_dirs/videoar_curriculum
    cfg = launch.load_config(os.path.join(repo_root, 'configs', config))
    found = link_inputs(cfg)
    assert found.tokenizer == main_job['tokenizer']
    assert cfg.model.tokenizer_checkpoint == main_job['tokenizer']
    loader = cfg.train_dataloader.dataset
    while loader.type != 'LatentCacheDataset':
        loader = loader.dataset
    assert loader.checkpoint == main_job['tokenizer']
    assert loader.cache_dir == os.path.join(main_job['root'], 'latent_cache')
    hooks = [h for h in cfg.custom_hooks if h.type == 'InitFromStageHook']
    if init is None:
        assert not hooks
    else:
        assert [h.checkpoint for h in hooks] == [main_job[init]]


def test_a_stage_work_dir_chains_standalone_runs(repo_root, main_job, tmp_path):
    stage2_run = str(tmp_path / 'work_dirs' / 'videoar_stage2')
    cache = str(tmp_path / 'my_cache')
    os.makedirs(cache)
    own = _finished(stage2_run, model_type='VideoAR', tokenizer_checkpoint=main_job['tokenizer'],
                    latent_cache_dirs=[cache])  # fmt: skip
    cfg = launch.load_config(
        os.path.join(repo_root, 'configs', 'videoar_stage3.py'), {'inputs.run': stage2_run}
    )
    link_inputs(cfg)
    assert cfg.model.tokenizer_checkpoint == main_job['tokenizer']
    assert cfg.train_dataloader.dataset.cache_dir == cache
    assert [h.checkpoint for h in cfg.custom_hooks if h.type == 'InitFromStageHook'] == [own]


def test_no_main_job_is_an_error_naming_it(repo_root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = launch.load_config(os.path.join(repo_root, 'configs', 'videoar_stage2.py'))
    with pytest.raises(CheckpointNotFoundError, match='python tools/train.py configs/videoar_cur'):
        link_inputs(cfg)


def test_inputs_none_leaves_the_config_alone_and_unknown_keys_fail():
    cfg = Config(dict(model=dict(type='VideoAR', tokenizer_checkpoint='x.pth'), inputs=None))
    assert link_inputs(cfg) is None and cfg.model.tokenizer_checkpoint == 'x.pth'
    cfg = Config(dict(inputs=dict(runs='somewhere')))
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['runs'\]"):
        link_inputs(cfg)


def test_a_checkpoint_set_on_one_consumer_reaches_all_and_wins(repo_root, main_job, tmp_path,
                                                               monkeypatch):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    mine = str(tmp_path / 'my_tokenizer.pth')
    init = str(tmp_path / 'my_init.pth')
    open(mine, 'wb').close()
    open(init, 'wb').close()
    cfg = launch.load_config(
        os.path.join(repo_root, 'configs', 'videoar_stage2.py'),
        {'model.tokenizer_checkpoint': mine, 'custom_hooks.InitFromStageHook.checkpoint': init},
    )
    found = link_inputs(cfg)
    assert (found.tokenizer, found.init) == (mine, init)
    assert cfg.model.tokenizer_checkpoint == mine
    latents = cfg.train_dataloader.dataset.dataset  # stage 2: images and clips of one cache
    assert latents.checkpoint == mine  # the latent cache too
    assert latents.cache_dir == os.path.join(main_job['root'], 'latent_cache')
