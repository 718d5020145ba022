import copy
import importlib.util
import os
import subprocess
import sys

import pytest
import torch

from videoar.registry import MODELS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# Tiny test models run fastest on one thread (two threads were 5-100x slower under load).
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def single_thread():
    """Every test starts on one torch thread, whatever the previous test set."""
    torch.set_num_threads(1)
    yield


@pytest.fixture
def repo_root() -> str:
    return ROOT


@pytest.fixture
def subprocess_env() -> dict:
    """Environment for running the tools in a subprocess (tests dir importable for toy plugins)."""
    env = dict(os.environ)
    paths = [ROOT, os.path.join(ROOT, 'tests', 'fixtures')]
    env['PYTHONPATH'] = os.pathsep.join(paths + [env.get('PYTHONPATH', '')])
    env.setdefault('OMP_NUM_THREADS', '1')
    return env


@pytest.fixture
def run_tool(repo_root, subprocess_env):
    """``run_tool(*args, timeout=300, check=False)``: run ``python *args`` from the repository
    root with :func:`subprocess_env`, capturing text output; returns the ``CompletedProcess``.
    ``check`` fails the test, with the end of the output, when the command fails."""

    def run(*args, timeout=300, check=False):
        proc = subprocess.run(
            [sys.executable, *map(str, args)],
            env=subprocess_env,
            cwd=repo_root,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check:
            assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
        return proc

    return run


@pytest.fixture
def load_tool(repo_root):
    """``load_tool('tools/analysis_tools/get_flops.py')``: a tool script imported as a module
    (its ``main(argv)`` and helpers called in-process)."""

    def load(relpath: str):
        path = os.path.join(repo_root, relpath)
        name = os.path.splitext(os.path.basename(path))[0] + '_tool'
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


# Tiny models. Test modules cannot import a conftest: each factory below is handed to them by
# the session fixture that follows it.


def merge_overrides(cfg: dict, overrides: dict) -> dict:
    """Apply ``overrides`` to a copy of ``cfg``: a dict without ``type`` updates the sub-config
    of that key; anything else (a dict with ``type``, a value) replaces it."""
    cfg = copy.deepcopy(cfg)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict) and 'type' not in value:
            cfg[key].update(value)
        else:
            cfg[key] = value
    return cfg


def make_tiny_tokenizer_config(**overrides) -> dict:
    """A CausalVideoTokenizer config small enough for CPU tests: 4 latent channels, strides 4
    (space) and 2 (time), 8 base channels, two levels; ``overrides`` replace entries."""
    cfg = dict(
        type='CausalVideoTokenizer',
        latent_dim=4,
        spatial_stride=4,
        temporal_stride=2,
        base_channels=8,
        channel_mult=(1, 1),
    )
    return dict(cfg, **overrides)


@pytest.fixture(scope='session')
def tiny_tokenizer_config():
    """The factory :func:`make_tiny_tokenizer_config`."""
    return make_tiny_tokenizer_config


def make_tiny_videoar_config(**overrides) -> dict:
    """A class-conditional VideoAR config of CPU-test size, with ``overrides`` merged in (see
    :func:`merge_overrides`).

    9 frames of 16 x 24 (3 latent frames through strides 8 and 4), 4 latent channels, scales
    1x1, 1x2 and 2x3, a 2-layer transformer of width 32, 10 classes.
    """
    cfg = dict(
        type='VideoAR',
        tokenizer=make_tiny_tokenizer_config(
            spatial_stride=8, temporal_stride=4, base_channels=4, channel_mult=(1, 1, 1)
        ),
        quantizer=dict(type='MultiScaleBSQ', embed_dim=4, scale_sizes=[(1, 1), (1, 2), (2, 3)]),
        transformer=dict(type='ARTransformer', dim=32, depth=2, num_heads=2),
        conditioner=dict(type='ClassConditioner', num_classes=10, drop_prob=0.1),
        corrector=dict(type='NoCorrection'),
        masking=dict(type='BlockCausalMask'),
        pos_encoding=dict(type='MultiScaleTemporalRoPE'),
        num_frames=9,
        resolution=(16, 24),
        allow_random_tokenizer=True,  # tests use the untrained tokenizer on purpose
    )
    return merge_overrides(cfg, overrides)


@pytest.fixture(scope='session')
def tiny_videoar_config():
    """The factory :func:`make_tiny_videoar_config`."""
    return make_tiny_videoar_config


def set_random_head(model: torch.nn.Module, seed: int = 0, std: float = 0.3) -> torch.nn.Module:
    """Draw the zero-initialised ``head.weight`` from N(0, std^2) (a generator seeded with
    ``seed``), so that the logits depend on the input; returns ``model``."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        model.head.weight.copy_(torch.randn(model.head.weight.shape, generator=gen) * std)
    return model


@pytest.fixture(scope='session')
def randomise_head():
    """The function :func:`set_random_head`."""
    return set_random_head


def build_tiny_videoar(seed: int = 0, random_head: bool = False, **overrides) -> torch.nn.Module:
    """Seed torch with ``seed`` and build :func:`make_tiny_videoar_config` ``(**overrides)``;
    ``random_head`` then gives the head random weights (:func:`set_random_head`)."""
    torch.manual_seed(seed)
    model = MODELS.build(make_tiny_videoar_config(**overrides))
    return set_random_head(model, seed) if random_head else model


@pytest.fixture(scope='session')
def tiny_videoar():
    """The builder :func:`build_tiny_videoar`."""
    return build_tiny_videoar


def make_tiny_config_options(num_frames=5, latent_dim=4, dim=32, depth=1, **extra) -> dict:
    """``cfg_options`` shrinking ``configs/_base_/models/videoar_tiny.py`` to CPU-test size:
    16 x 16 frames, 8 base channels, scales 1 and 2, 2 heads; ``extra`` adds options."""
    options = {
        'model.num_frames': num_frames,
        'model.resolution': (16, 16),
        'model.tokenizer.base_channels': 8,
        'model.tokenizer.latent_dim': latent_dim,
        'model.quantizer.embed_dim': latent_dim,
        'model.quantizer.scale_sizes': [1, 2],
        'model.transformer.dim': dim,
        'model.transformer.depth': depth,
        'model.transformer.num_heads': 2,
    }
    return dict(options, **extra)


@pytest.fixture(scope='session')
def tiny_config_options():
    """The factory :func:`make_tiny_config_options`."""
    return make_tiny_config_options
