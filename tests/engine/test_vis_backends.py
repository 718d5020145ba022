"""tools/train.py --vis-backend: a backend is added to the visualizer, or a missing package is a
one-line ConfigError naming the pip command."""

import importlib.util

import pytest
from mmengine.config import Config

from videoar.engine import launch
from videoar.utils import ConfigError


def _cfg():
    return Config(
        dict(visualizer=dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')]))
    )


@pytest.mark.parametrize('name, backend, module', [
    ('tensorboard', 'VideoTensorboardVisBackend', 'tensorboard'),
    ('wandb', 'WandbVisBackend', 'wandb'),
])  # fmt: skip
def test_vis_backend_is_added_or_names_the_package(name, backend, module):
    cfg = _cfg()
    if importlib.util.find_spec(module) is None:
        with pytest.raises(ConfigError, match=f'pip install {module}'):
            launch.add_vis_backends(cfg, [name])
        return
    launch.add_vis_backends(cfg, [name, name])  # twice: added once
    types = [b['type'] for b in cfg.visualizer.vis_backends]
    assert types == ['LocalVisBackend', backend]


def test_unknown_vis_backend():
    with pytest.raises(ConfigError, match='choose from'):
        launch.add_vis_backends(_cfg(), ['mlflow'])
