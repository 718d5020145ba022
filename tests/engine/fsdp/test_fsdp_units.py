"""Single-process pieces of the FSDP2 support: names of sharded checkpoints, the rank position
of exact resume across world sizes, the state-dict stubs, orphan cleanup, config errors, and
DCP save / load / consolidate of a plain model with its AdamW step counts."""

import os

import pytest
import torch
from torch import nn

from videoar.engine.exact_resume import rank_position
from videoar.engine.fsdp import consolidate_checkpoint, load_sharded, save_sharded, sharded_dir
from videoar.engine.fsdp.runner import remove_orphan_directories, stubbed_state_dicts
from videoar.engine.fsdp.wrapper import find_modules, mixed_precision_policy
from videoar.io.checkpoint import load_checkpoint_safe, load_state_dict
from videoar.utils import ConfigError


def test_sharded_dir_sits_beside_the_pth():
    assert sharded_dir('/w/iter_8.pth') == '/w/iter_8.dcp'


def test_rank_position_rescales_on_a_world_size_change():
    assert rank_position(dict(sampler_position=8, world_size=1)) == 8  # this process: 1 rank
    assert rank_position(dict(sampler_position=4, world_size=2)) == 8  # 2 ranks -> 1
    assert rank_position(dict(sampler_position=8)) == 8  # older checkpoints: unchanged


def test_stubbed_state_dicts_are_restored():
    model = nn.Linear(2, 2)
    wrapper = type('W', (), {'state_dict': lambda self: {'real': 1}})()
    with stubbed_state_dicts(model, wrapper):
        assert len(model.state_dict()) == 0 and wrapper.state_dict() == {'sharded': True}
    assert set(model.state_dict()) == {'weight', 'bias'} and wrapper.state_dict() == {'real': 1}


def test_orphan_directories_are_removed(tmp_path):
    for name in ('iter_2.dcp', 'iter_4.dcp', 'iter_6.dcp'):
        os.makedirs(tmp_path / name)
    (tmp_path / 'iter_4.pth').write_bytes(b'x')
    remove_orphan_directories(str(tmp_path), keep=str(tmp_path / 'iter_6.dcp'))
    assert sorted(os.listdir(tmp_path)) == ['iter_4.dcp', 'iter_4.pth', 'iter_6.dcp']


def test_config_errors_name_the_fix():
    with pytest.raises(ConfigError, match="param_dtype='bfloat16'"):
        mixed_precision_policy(dict(dtype='bfloat16'))
    with pytest.raises(ConfigError, match='one of'):
        mixed_precision_policy(dict(param_dtype='bf16'))
    assert mixed_precision_policy(dict(param_dtype='bfloat16')).param_dtype == torch.bfloat16
    with pytest.raises(ConfigError, match='block_types'):
        find_modules(nn.Linear(2, 2), ('TransformerBlock',), ())


def test_dcp_round_trip_keeps_adamw_steps_and_consolidates(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    for _ in range(3):
        model(torch.randn(5, 4)).sum().backward()
        optimizer.step()
    directory = str(tmp_path / 'iter_3.dcp')
    pointer = save_sharded(model, optimizer, directory)
    assert pointer['directory'] == 'iter_3.dcp' and pointer['world_size'] == 1

    fresh = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))
    fresh_opt = torch.optim.AdamW(fresh.parameters(), lr=0.1)
    load_sharded(fresh, None, directory)
    load_sharded(fresh, fresh_opt, directory)
    for a, b in zip(model.parameters(), fresh.parameters(), strict=True):
        assert torch.equal(a, b)
    steps = [float(s['step']) for s in fresh_opt.state_dict()['state'].values()]
    assert steps == [3.0] * 4

    pth = str(tmp_path / 'iter_3.pth')
    torch.save({'meta': {'iter': 3, 'sharded_checkpoint': pointer}, 'state_dict': {}}, pth)
    with pytest.raises(ValueError, match='consolidate_checkpoint.py'):
        load_state_dict(pth)  # the single-process loaders refuse the pointer file
    full = str(tmp_path / 'full.pth')
    assert consolidate_checkpoint(pth, full) == 4
    state = load_checkpoint_safe(full)['state_dict']
    assert torch.equal(state['1.weight'], model[1].weight)
    with pytest.raises(ValueError, match='not a sharded checkpoint'):
        consolidate_checkpoint(full, str(tmp_path / 'again.pth'))
