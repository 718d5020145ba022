"""init_model and tools/generate.py refuse a checkpoint whose weights are not all finite."""

import pytest
import torch
from mmengine.config import Config
from torch import nn

from videoar.pipelines import GenerationError, init_model
from videoar.pipelines.inference import load_finite_weights


@pytest.fixture
def nan_checkpoint(tmp_path, tiny_videoar_config):
    """A tiny VideoAR config and a checkpoint of it with one NaN in ``head.weight``."""
    config = tmp_path / 'tiny.py'
    config.write_text(f'model = {tiny_videoar_config()!r}\n')
    torch.manual_seed(0)
    state = init_model(Config.fromfile(str(config))).state_dict()
    state['head.weight'][0, 0] = float('nan')
    ckpt = tmp_path / 'diverged.pth'
    torch.save({'state_dict': state, 'meta': {}}, ckpt)
    return str(config), str(ckpt)


def test_init_model_refuses_nonfinite_weights(nan_checkpoint):
    config, ckpt = nan_checkpoint
    with pytest.raises(GenerationError) as info:
        init_model(config, ckpt)
    message = str(info.value)
    assert 'diverged.pth' in message and "'head.weight'" in message
    assert '1 NaN/inf values' in message


def test_generate_tool_refuses_nonfinite_weights(nan_checkpoint, tmp_path, run_tool):
    config, ckpt = nan_checkpoint
    out = tmp_path / 'out'
    proc = run_tool('tools/generate.py', config, ckpt, '--classes', '3', '--no-progress',
                    '--out', out)  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert 'diverged.pth' in proc.stderr and 'non-finite weights' in proc.stderr
    assert "'head.weight'" in proc.stderr
    assert not out.exists()  # nothing was generated


def test_buffers_may_hold_infinities_on_purpose(tmp_path):
    model = nn.Linear(2, 2)
    model.register_buffer('mask', torch.tensor([0.0, float('-inf')]))
    ckpt = tmp_path / 'masked.pth'
    torch.save(model.state_dict(), ckpt)
    load_finite_weights(model, str(ckpt))  # no error: the -inf is a buffer, not a weight
    assert torch.isinf(model.mask[1])
