"""Every registry resolves a registered name; an unknown one is ``None`` from ``get`` (mmengine's
contract) and an explained error from ``build``."""

import pytest
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import DefaultScope

import videoar.registry as registry
from videoar.registry import Registry, UnknownComponentError

ALL = [getattr(registry, name) for name in registry.__all__ if name.isupper()]
DOMAIN = ['TOKENIZERS', 'QUANTIZERS', 'POS_ENCODINGS', 'CORRECTORS', 'MASKINGS',
          'CONDITIONERS', 'CFG_SCHEDULES', 'FEATURE_EXTRACTORS']  # fmt: skip


@pytest.mark.parametrize('reg', ALL, ids=lambda r: r.name)
def test_registry_resolves_and_explains(reg):
    assert isinstance(reg, Registry)
    assert reg.scope == 'videoar'
    assert reg._locations, f'{reg.name} has no locations='

    class _Probe:
        pass

    name = f'_Probe_{reg.name.replace(" ", "_")}'
    reg.register_module(name=name, module=_Probe, force=True)
    try:
        assert reg.get(name) is _Probe
        assert reg.get(name[:-2] + 'xx') is None  # mmengine's contract, which plugins rely on
        with pytest.raises(UnknownComponentError) as err:
            reg.build(dict(type=name[:-2] + 'xx'))
        message = str(err.value)
        assert reg.name in message
        assert name in message  # the available names are listed, and the close match suggested
        assert 'Did you mean' in message
    finally:
        reg._module_dict.pop(name)


def test_domain_registries_stand_alone_and_generic_ones_are_children():
    for name in DOMAIN:
        assert getattr(registry, name).parent is None
    assert registry.MODELS.parent is MMENGINE_MODELS
    assert set(DOMAIN) <= set(registry.__all__)


def test_mmengine_root_build_finds_videoar_components_under_default_scope():
    # the Runner builds through mmengine's root registries; the default scope routes to ours
    with DefaultScope.overwrite_default_scope('videoar'):
        with pytest.raises(KeyError, match='videoar::model registry'):
            MMENGINE_MODELS.build(dict(type='NoSuchModelAnywhere'))


def test_the_runner_path_explains_an_unknown_model_type(tmp_path):
    from videoar.engine import launch

    cfg = launch.load_config('configs/ablations/videoar_paper-default.py',
                             {'model.type': 'VideoARR', 'work_dir': str(tmp_path)})  # fmt: skip
    with pytest.raises(UnknownComponentError, match='Did you mean: VideoAR'):
        launch.build_runner(cfg)


def test_locations_resolve_lazily_in_a_fresh_process(tmp_path):
    import subprocess
    import sys

    code = (
        'from videoar.registry import OPTIM_WRAPPERS\n'
        "print(OPTIM_WRAPPERS.get('PortableAmpOptimWrapper').__name__)\n"
    )
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith('PortableAmpOptimWrapper')
