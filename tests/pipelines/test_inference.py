"""videoar.pipelines: init_model from a config (+ checkpoint), then generate from the model."""

import pytest
import torch
from mmengine.config import Config

from videoar.pipelines import generate, init_model

SMALL = {
    'model.num_frames': 5,
    'model.resolution': (16, 16),
    'model.tokenizer.base_channels': 8,
    'model.tokenizer.latent_dim': 4,
    'model.quantizer.embed_dim': 4,
    'model.quantizer.scale_sizes': [1, 2],
    'model.transformer.dim': 32,
    'model.transformer.depth': 1,
    'model.transformer.num_heads': 2,
}


@pytest.fixture
def config(repo_root):
    return Config.fromfile(f'{repo_root}/configs/_base_/models/videoar_tiny.py')


def test_init_model_loads_an_mmengine_checkpoint_and_a_bare_state_dict(config, tmp_path):
    torch.manual_seed(0)
    trained = init_model(config, cfg_options=SMALL)
    with torch.no_grad():
        for param in trained.parameters():
            param.add_(torch.randn_like(param) * 0.1)  # weights that differ from any init
    ckpt = tmp_path / 'iter_1.pth'
    torch.save({'state_dict': trained.state_dict(), 'meta': {'iter': 1}}, ckpt)
    bare = tmp_path / 'bare.pth'
    torch.save({f'module.{k}': v for k, v in trained.state_dict().items()}, bare)
    torch.manual_seed(1)
    for path in (ckpt, bare):
        loaded = init_model(config, str(path), cfg_options=SMALL)
        assert not loaded.training
        for key, value in trained.state_dict().items():
            assert torch.equal(loaded.state_dict()[key], value), key
        a = _videos(trained.eval(), classes=[1], seed=0)
        b = _videos(loaded, classes=[1], seed=0)
        assert torch.equal(a, b)
    assert loaded.cfg.model.transformer.dim == 32


def _videos(model, **options):
    return generate(model, progress=False, **options)['videos']


def test_generate_shapes_seeds_and_batches(config):
    model = init_model(config, cfg_options=SMALL)
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
