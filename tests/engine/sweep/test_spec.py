"""Sweep files -> settings: grid (product), zipped (walked together), config axes, control."""

import pytest

from videoar.engine.sweep.spec import build_spec, load_spec
from videoar.utils import ConfigError


def test_settings_are_settings_x_grid_x_zipped():
    spec = build_spec(dict(
        config='base.py',
        settings=[dict(name='a'), dict(name='b', config='other.py', options={'x.y': 1})],
        grid={'model.p': [0.1, 0.2]},
        zipped={'model.dim': [32, 64], 'model.heads': [2, 4]},
        seeds=[0, 1, 2],
    ))  # fmt: skip
    assert len(spec.settings) == 2 * 2 * 2
    names = [s.name for s in spec.settings]
    assert names[0] == 'a_p=0.1_dim=32_heads=2' and names[-1] == 'b_p=0.2_dim=64_heads=4'
    last = spec.settings[-1]
    assert last.config == 'other.py'
    assert last.options == {'x.y': 1, 'model.p': 0.2, 'model.dim': 64, 'model.heads': 4}
    assert spec.control == names[0] and spec.seeds == [0, 1, 2]
    assert spec.executor == dict(type='local') and spec.retries == 1


def test_config_files_can_be_an_axis_and_control_is_by_name_or_index():
    spec = build_spec(dict(grid={'config': ['configs/a_row0.py', 'configs/a_row1.py']}, control=1))
    assert [s.name for s in spec.settings] == ['config=a_row0', 'config=a_row1']
    assert [s.config for s in spec.settings] == ['configs/a_row0.py', 'configs/a_row1.py']
    assert spec.control == 'config=a_row1'


@pytest.mark.parametrize('raw, message', [
    (dict(config='a.py', grid={'x': [1]}, seed=[0]), "unknown key.*'seed'.*seeds"),
    (dict(config='a.py', zipped={'x': [1, 2], 'y': [1]}), 'equal lengths'),
    (dict(config='a.py', grid={'x': []}), 'non-empty list'),
    (dict(config='a.py', grid={'x': [1, 2]}, control='nope'), "control 'nope' is not a setting"),
    (dict(config='a.py', seeds=[0, 0]), 'distinct integers'),
    (dict(settings=[dict(name='a')]), 'give config='),
    (dict(config='a.py', settings=[dict(name='a'), dict(name='a')]), 'unique'),
    (dict(config='a.py', executor=dict(type='k8s')), 'executor.type'),
])  # fmt: skip
def test_wrong_sweep_files_say_what_is_wrong(raw, message):
    with pytest.raises(ConfigError, match=message):
        build_spec(raw)


def test_the_ablation_sweep_files_load(repo_root):
    for table, rows in (('table4', 4), ('table5', 2)):
        spec = load_spec(f'{repo_root}/configs/ablations/sweep_{table}_movingdigits.py')
        assert len(spec.settings) == rows and spec.seeds == [0, 1, 2]
        assert spec.control == spec.settings[0].name
        assert spec.metrics == ['fcd_classifier', 'class_accuracy']
