"""merge_options: --cfg-options that address hooks by type name as well as by index."""

import pytest
from mmengine.config import Config

from videoar.engine import launch
from videoar.engine.config_options import hook_index, merge_options, resolve_options
from videoar.utils import ConfigError


def _cfg():
    return Config(
        dict(
            model=dict(type='Toy', depth=2),
            custom_hooks=[
                dict(type='InitFromStageHook', checkpoint=None),
                dict(type='EMAHook', momentum=0.01),
                dict(type='VideoVisualizationHook', interval=100),
                dict(type='GenerationEvaluationHook', evaluate_at_end=True, num_samples=8),
            ],
        )
    )


def test_type_name_edits_the_hook_of_that_type_only():
    cfg = _cfg()
    merge_options(
        cfg,
        {
            'custom_hooks.GenerationEvaluationHook.evaluate_at_end': False,
            'custom_hooks.EMAHook.momentum': 0.5,
            'model.depth': 4,
        },
    )
    hooks = cfg.custom_hooks
    assert hooks[3].evaluate_at_end is False and hooks[3].num_samples == 8
    assert hooks[1].momentum == 0.5
    assert hooks[2] == dict(type='VideoVisualizationHook', interval=100)
    assert hooks[0] == dict(type='InitFromStageHook', checkpoint=None)
    assert cfg.model.depth == 4


def test_integer_indices_keep_working_and_match_merge_from_dict():
    options = {'custom_hooks.2.interval': 6, 'custom_hooks.3.evaluate_at_end': False}
    by_index, reference = _cfg(), _cfg()
    merge_options(by_index, options)
    reference.merge_from_dict(options)
    assert by_index.to_dict() == reference.to_dict()
    by_type = _cfg()
    merge_options(
        by_type,
        {
            'custom_hooks.VideoVisualizationHook.interval': 6,
            'custom_hooks.GenerationEvaluationHook.evaluate_at_end': False,
        },
    )
    assert by_type.to_dict() == reference.to_dict()


def test_nested_dict_options_resolve_type_names_too():
    cfg = _cfg()
    merge_options(cfg, {'custom_hooks': {'EMAHook': {'momentum': 0.25}}})
    assert cfg.custom_hooks[1].momentum == 0.25 and cfg.custom_hooks[1].type == 'EMAHook'
    assert len(cfg.custom_hooks) == 4
    assert resolve_options(_cfg(), {'custom_hooks.EMAHook': dict(momentum=1)}) == {
        'custom_hooks.1': dict(momentum=1)
    }


def test_unknown_or_ambiguous_type_names_the_present_types():
    cfg = _cfg()
    with pytest.raises(ConfigError, match=r"no hook of type 'EvalHook'.*'EMAHook'"):
        merge_options(cfg, {'custom_hooks.EvalHook.interval': 1})
    cfg.custom_hooks.append(dict(type='EMAHook', momentum=0.1))
    with pytest.raises(ConfigError, match=r'2 hooks have type .EMAHook. \(at indices \[1, 4\]'):
        merge_options(cfg, {'custom_hooks.EMAHook.momentum': 0.2})
    with pytest.raises(ConfigError, match=r'hooks present are \[\]'):
        merge_options(Config(dict(model=dict())), {'custom_hooks.EMAHook.momentum': 0.2})
    assert cfg.custom_hooks[1].momentum == 0.01  # nothing merged after an error


def test_hook_index_accepts_class_types():
    class MyHook:
        pass

    assert hook_index([dict(type='A'), dict(type=MyHook)], 'MyHook') == 1


def test_load_config_merges_options_by_type(tmp_path):
    path = tmp_path / 'c.py'
    path.write_text(
        "custom_hooks = [dict(type='EMAHook', momentum=0.1),\n"
        "                dict(type='GenerationEvaluationHook', evaluate_at_end=True)]\n"
    )
    cfg = launch.load_config(
        str(path), {'custom_hooks.GenerationEvaluationHook.evaluate_at_end': False}
    )
    assert cfg.custom_hooks[1].evaluate_at_end is False and cfg.custom_hooks[0].momentum == 0.1
