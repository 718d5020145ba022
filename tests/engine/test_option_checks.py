"""--cfg-options: component type swaps and values of the wrong type (merge_options)."""

import os

import pytest
from mmengine.config import Config

from videoar.engine import launch
from videoar.engine.config_options import merge_options
from videoar.utils import ConfigError


def _stage2(repo_root, options=None):
    return launch.load_config(os.path.join(repo_root, 'configs', 'videoar_stage2.py'), options)


def test_a_type_swap_drops_the_arguments_the_new_type_does_not_take(repo_root, capsys):
    cfg = _stage2(repo_root, {'model.corrector.type': 'NoCorrection'})
    assert cfg.model.corrector.to_dict() == {'type': 'NoCorrection'}
    assert "dropped the arguments NoCorrection does not take: ['delta', 'p_max', 'p_min']" in (
        capsys.readouterr().out
    )
    # arguments given alongside the swap apply; accepted old ones stay
    cfg = Config(dict(model=dict(corrector=dict(type='NoCorrection'))))
    merge_options(cfg, {'model.corrector.type': 'CrossFrameErrorCorrection',
                        'model.corrector.p_max': 0.3})  # fmt: skip
    assert cfg.model.corrector.to_dict() == {'type': 'CrossFrameErrorCorrection', 'p_max': 0.3}


def test_the_readme_type_swaps_build(repo_root):
    for options in ({'model.corrector.type': 'NoCorrection'},
                    {'model.masking.type': 'RandomFrameMask',
                     'model.pos_encoding.type': 'RoPE3D'}):  # fmt: skip
        cfg = _stage2(repo_root, options)
        launch.preflight_model(cfg)  # would raise a ConfigError on a leftover argument


@pytest.mark.parametrize('key, value, message', [
    ('model.transformer.depth', 'eight', "depth='eight': expected an int .*depth=6"),
    ('optim_wrapper.optimizer.lr', [1e-3, 2e-3], 'expected a float .*got a list'),
    ('train_cfg.max_iter', 3, 'no key .train_cfg.max_iter.; did you mean train_cfg.max_iters'),
    ('model.resolution', 32, 'expected a list'),
])  # fmt: skip
def test_wrong_values_name_key_value_and_expected_type(repo_root, key, value, message):
    with pytest.raises(ConfigError, match=message):
        _stage2(repo_root, {key: value})


def test_compatible_values_pass(repo_root):
    cfg = _stage2(repo_root, {'optim_wrapper.optimizer.lr': 1, 'model.transformer.depth': 2,
                              'inputs.run': None, 'model.new_flag': True})  # fmt: skip
    assert cfg.optim_wrapper.optimizer.lr == 1 and cfg.model.transformer.depth == 2
