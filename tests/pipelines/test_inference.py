"""videoar.pipelines: init_model from a config (+ checkpoint), then generate from the model."""

import pytest
import torch
from mmengine.config import Config

from videoar.pipelines import generate, init_model


@pytest.fixture
def config(repo_root):
    return Config.fromfile(f'{repo_root}/configs/_base_/models/videoar_tiny.py')


@pytest.fixture
def small(tiny_config_options):
    """5 frames of 16 x 16, a 1-layer transformer of width 32."""
    return tiny_config_options()


def test_init_model_loads_an_mmengine_checkpoint_and_a_bare_state_dict(config, small, tmp_path):
    torch.manual_seed(0)
    trained = init_model(config, cfg_options=small)
    with torch.no_grad():
        for param in trained.parameters():
            param.add_(torch.randn_like(param) * 0.1)  # weights that differ from any init
    ckpt = tmp_path / 'iter_1.pth'
    torch.save({'state_dict': trained.state_dict(), 'meta': {'iter': 1}}, ckpt)
    bare = tmp_path / 'bare.pth'
    torch.save({f'module.{k}': v for k, v in trained.state_dict().items()}, bare)
    torch.manual_seed(1)
    for path in (ckpt, bare):
        loaded = init_model(config, str(path), cfg_options=small)
        assert not loaded.training
        for key, value in trained.state_dict().items():
            assert torch.equal(loaded.state_dict()[key], value), key
        a = _videos(trained.eval(), classes=[1], seed=0)
        b = _videos(loaded, classes=[1], seed=0)
        assert torch.equal(a, b)
    assert loaded.cfg.model.transformer.dim == 32


def _videos(model, **options):
    return generate(model, progress=False, **options)['videos']


def test_generate_shapes_seeds_and_batches(config, small):
    model = init_model(config, cfg_options=small)
    videos = _videos(model, classes=[0, 1, 2], cfg_scale=2.0, seed=3, batch_size=2)
    assert videos.shape == (3, 3, 5, 16, 16)
    assert videos.min() >= -1 and videos.max() <= 1
    again = _videos(model, classes=[0, 1, 2], cfg_scale=2.0, seed=3, batch_size=2)
    assert torch.equal(videos, again)
    other = _videos(model, classes=[0, 1, 2], cfg_scale=2.0, seed=4, batch_size=2)
    assert not torch.equal(videos, other)
    uncond = _videos(model, num_samples=2, seed=0)
    assert uncond.shape == (2, 3, 5, 16, 16)
    with pytest.raises(ValueError, match='num_samples'):
        _videos(model, num_samples=0)
