"""The mmengine/torch compatibility fixes of videoar.engine.compat."""

import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.optim import OptimWrapper
from mmengine.runner.checkpoint import CheckpointLoader, save_checkpoint

from videoar.engine.compat import PortableAmpOptimWrapper
from videoar.io.checkpoint import UnsafeCheckpointError, load_checkpoint_safe
from videoar.registry import OPTIM_WRAPPERS


class Foreign:
    """A class outside the allowlist; unpickling it would run code of our choosing."""

    def __reduce__(self):
        return (os.system, ('echo pwned',))


def _mmengine_style_checkpoint():
    buffer = HistoryBuffer()
    buffer.update(1.5)
    return {
        'meta': {'iter': 3, 'seed': np.int64(7), 'log_scalars': {'loss': buffer}},
        'state_dict': {'w': torch.ones(2)},
        'message_hub': {'runtime_info': {'max_iters': 10, 'lr': np.float64(0.1)}},
    }


def test_mmengine_metadata_loads_with_weights_only(tmp_path):
    path = tmp_path / 'ckpt.pth'
    torch.save(_mmengine_style_checkpoint(), path)
    # plain weights_only loading fails on the mmengine globals ...
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    # ... our loader admits exactly them, and mmengine's loader goes through it
    for loaded in (load_checkpoint_safe(path), CheckpointLoader.load_checkpoint(str(path), 'cpu')):
        assert loaded['meta']['iter'] == 3
        assert isinstance(loaded['meta']['log_scalars']['loss'], HistoryBuffer)
        assert torch.equal(loaded['state_dict']['w'], torch.ones(2))


def test_foreign_pickle_global_is_refused_with_its_name(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': {'payload': Foreign()}}, path)
    with pytest.raises(UnsafeCheckpointError, match=r'posix\.system|os\.system|system') as err:
        load_checkpoint_safe(path)
    assert 'allowlist' in str(err.value)
    with pytest.raises(UnsafeCheckpointError):
        CheckpointLoader.load_checkpoint(str(path), 'cpu')


def test_missing_checkpoint_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint_safe(tmp_path / 'nope.pth')


def test_real_runner_checkpoint_round_trip(tmp_path):
    model = torch.nn.Linear(3, 1)
    optim = OptimWrapper(torch.optim.AdamW(model.parameters()))
    model(torch.randn(2, 3)).sum().backward()
    optim.step()
    path = str(tmp_path / 'c.pth')
    save_checkpoint({'state_dict': model.state_dict(), 'optimizer': optim.state_dict(),
                     'meta': {'epoch': 0}}, path)  # fmt: skip
    loaded = load_checkpoint_safe(path)
    assert 'state' in loaded['optimizer']


def test_bf16_wrapper_autocasts_and_trains_on_cpu():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))
    wrapper = OPTIM_WRAPPERS.build(
        dict(
            type='PortableAmpOptimWrapper',
            dtype='bfloat16',
            optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
        )  # fmt: skip
    )
    assert isinstance(wrapper, PortableAmpOptimWrapper)
    x = torch.randn(64, 8)
    y = x.sum(dim=1, keepdim=True)
    losses = []
    for _ in range(40):
        with wrapper.optim_context(model):
            out = model(x)
            assert out.dtype == torch.bfloat16  # autocast is active on CPU
            loss = ((out.float() - y) ** 2).mean()
        wrapper.update_params(loss)
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    # its state round-trips although the (disabled) bf16 scaler has no state
    state = wrapper.state_dict()
    wrapper.load_state_dict(state)


def test_getattr_in_a_pickle_is_limited_to_public_history_buffer_attributes(tmp_path):
    class Sneaky:
        def __reduce__(self):
            return (getattr, (HistoryBuffer, '__init__'))

    path = tmp_path / 'sneaky.pth'
    torch.save({'meta': {'x': Sneaky()}}, path)
    with pytest.raises(UnsafeCheckpointError, match='__init__'):
        load_checkpoint_safe(path)
