import os
import sys

import pytest
import torch

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
