"""A sweep run trains with the runs its config's ``inputs`` name linked in, as tools/train.py
does: the model and every latent-cache dataset get the tokenizer checkpoint. (Before, the
worker built the Runner from the unlinked config, so every ablation run encoded its latents and
trained on a RANDOM tokenizer and generated near-static videos at chance accuracy.)"""

import os

import pytest

from videoar.engine import launch
from videoar.engine.runs import latent_cache_datasets
from videoar.engine.sweep import worker
from videoar.engine.sweep.plan import RunSpec


class _RunnerBuilt(Exception):
    """Raised instead of building the Runner: the test only needs the config it was given."""


def test_a_sweep_run_trains_on_the_tokenizer_its_inputs_name(repo_root, tmp_path, monkeypatch):
    tokenizer_run = tmp_path / 'tokenizer_run'
    tokenizer_run.mkdir()
    checkpoint = tokenizer_run / 'iter_1200.pth'
    checkpoint.write_bytes(b'')
    (tokenizer_run / 'last_checkpoint').write_text(str(checkpoint))
    cache = tmp_path / 'latents'
    cache.mkdir()
    built = []

    def build_runner(cfg):
        built.append(cfg)
        raise _RunnerBuilt

    monkeypatch.setattr(launch, 'build_runner', build_runner)
    config = os.path.join(repo_root, 'configs/ablations/table4_row3_inheritance.py')
    options = {'inputs.tokenizer.work_dir': str(tokenizer_run),
               'inputs.latent_cache': str(cache), 'randomness.seed': 0}  # fmt: skip
    run = RunSpec(setting='full', seed=0, config=config, options=options,
                  work_dir=str(tmp_path / 'run'), cwd=str(tmp_path))  # fmt: skip
    with pytest.raises(_RunnerBuilt):
        worker.train(run)

    (cfg,) = built
    assert cfg.model.tokenizer_checkpoint == str(checkpoint)
    caches = list(latent_cache_datasets(cfg))
    assert caches, 'the ablation config trains on cached latents'
    for dataset in caches:
        tokenizer = dataset.get('tokenizer')
        linked = tokenizer.get('checkpoint') if 'checkpoint' in tokenizer else None
        assert str(checkpoint) in (dataset.get('checkpoint'), linked)
        assert dataset['cache_dir'] == str(cache)
