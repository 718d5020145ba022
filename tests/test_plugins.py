"""The example plugin package and the example project work as a third party would use them."""

import os
import sys

import pytest
import torch
from mmengine.config import Config

from videoar.registry import CORRECTORS, MASKINGS, QUANTIZERS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLUGIN_DIR = os.path.join(ROOT, 'plugins', 'videoar-plugin-example')


@pytest.fixture
def plugin_on_path():
    sys.path.insert(0, PLUGIN_DIR)
    yield
    sys.path.remove(PLUGIN_DIR)


def test_custom_imports_registers_the_plugin_corrector(tmp_path, plugin_on_path):
    cfg_file = tmp_path / 'cfg.py'
    cfg_file.write_text(
        "custom_imports = dict(imports=['videoar_plugin_example'], allow_failed_imports=False)\n"
        "corrector = dict(type='ScaleRampCorrection', p_coarse=0.4, p_fine=0.0, jitter=0.0)\n"
    )
    cfg = Config.fromfile(str(cfg_file))  # imports the plugin
    corrector = CORRECTORS.build(cfg.corrector)
    probs = corrector.sample_flip_probs(2, 3, 5)
    assert probs.shape == (2, 3, 5)
    assert torch.allclose(probs[0, 0], torch.linspace(0.4, 0.0, 5))

    # it plugs into the real teacher-forcing path: coarse scales get flipped, the finest not
    quantizer = QUANTIZERS.build(dict(type='MultiScaleBSQ', embed_dim=8, scale_sizes=[1, 2, 4]))
    corrector.train()
    pyramid = corrector(torch.randn(64, 8, 2, 4, 4), quantizer, torch.Generator().manual_seed(0))
    rates = pyramid.flip_rates
    assert rates[:, -1].abs().max() == 0
    assert 0.3 < rates[:, 0].mean() < 0.5


def test_project_mask_drops_distant_frames_more(tmp_path):
    cfg_file = tmp_path / 'cfg.py'
    cfg_file.write_text(
        "custom_imports = dict(imports=['projects.distance_frame_mask.distance_frame_mask'])\n"
        "masking = dict(type='DistanceFrameMask', base=0.0, slope=0.4)\n"
    )
    sys.path.insert(0, ROOT)
    cfg = Config.fromfile(str(cfg_file))
    mask_fn = MASKINGS.build(cfg.masking)
    from videoar.models.sequence import get_layout

    layout = get_layout(4, ((1, 1), (2, 2)), 1)
    mask = mask_fn(layout, 2000, True, torch.Generator().manual_seed(0))
    last_frame_query = layout.block_slice(3, 0).start
    visible = {t: mask[:, last_frame_query, layout.block_slice(t, 1).start].float().mean().item()
               for t in range(3)}  # fmt: skip
    assert abs(visible[2] - 1.0) < 1e-6  # distance 1: p = 0
    assert abs(visible[1] - 0.6) < 0.05  # distance 2: p = 0.4
    assert abs(visible[0] - 0.2) < 0.05  # distance 3: p = 0.8
    assert bool(mask[:, :, : layout.prefix_len].all())  # the prefix is never hidden
    assert torch.equal(mask_fn(layout, 2, False), mask_fn.static_mask(layout))


def test_project_config_swaps_the_mask_by_config_alone():
    sys.path.insert(0, ROOT)
    cfg = Config.fromfile(
        os.path.join(
            ROOT,
            'projects',
            'distance_frame_mask',
            'configs',
            'videoar_distance-mask_movingdigits.py',
        )  # fmt: skip
    )
    assert cfg.model.masking == dict(type='DistanceFrameMask', base=0.0, slope=0.1)
    assert type(MASKINGS.build(cfg.model.masking)).__name__ == 'DistanceFrameMask'
    assert cfg.model.num_frames == 17  # everything else comes from stage 3


# ---- plugins found by installation (entry points in the group 'videoar.plugins') ----------
def make_dist(site, name, entry_points, version='0.1.0'):
    """A minimal installed distribution (a ``*.dist-info`` with ``entry_points.txt``) in ``site``,
    as ``pip install`` leaves it; ``site`` goes on ``sys.path`` / ``PYTHONPATH``."""
    info = site / f'{name.replace("-", "_")}-{version}.dist-info'
    info.mkdir(parents=True)
    (info / 'METADATA').write_text(f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n')
    lines = ''.join(f'{key} = {value}\n' for key, value in entry_points.items())
    (info / 'entry_points.txt').write_text('[videoar.plugins]\n' + lines)
    return site


TINY_OPTIONS = [
    'model.num_frames=5', 'model.resolution=(16,16)', 'model.tokenizer.base_channels=8',
    'model.tokenizer.latent_dim=4', 'model.quantizer.embed_dim=4', 'model.quantizer.scale_sizes=[1,2]',
    'model.transformer.dim=32', 'model.transformer.depth=1', 'model.transformer.num_heads=2',
    'train_dataloader.batch_size=2', 'train_dataloader.dataset.num_frames=5',
    'train_dataloader.dataset.height=16', 'train_dataloader.dataset.width=16',
    'train_cfg.max_iters=2', 'default_hooks.logger.interval=1',
]  # fmt: skip


def run_train(tmp_path, site, extra_path=(), config=None):
    import subprocess

    config = config or os.path.join(PLUGIN_DIR, 'configs', 'videoar_plugin-example_movingdigits.py')
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = os.pathsep.join([ROOT, str(site), *extra_path])
    return subprocess.run(
        [sys.executable, 'tools/train.py', config, '--work-dir', str(tmp_path / 'work'),
         '--cfg-options', *TINY_OPTIONS],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_installed_plugin_trains_without_custom_imports(tmp_path):
    config = os.path.join(PLUGIN_DIR, 'configs', 'videoar_plugin-example_movingdigits.py')
    assert 'custom_imports' not in Config.fromfile(config)
    site = make_dist(
        tmp_path / 'site', 'videoar-plugin-example', {'example': 'videoar_plugin_example'}
    )
    proc = run_train(tmp_path, site, [PLUGIN_DIR])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = proc.stdout + proc.stderr
    assert "videoar plugin 'example' (videoar-plugin-example 0.1.0) registered" in log
    for name in ('SinusoidalFrameScalePE', 'RecentFramesKeepMask', 'ScaleRampCorrection'):
        assert name in log
    assert (tmp_path / 'work' / 'iter_2.pth').is_file()  # trained two iterations with them


def test_a_plugin_that_fails_to_import_stops_the_run_naming_it(tmp_path):
    site = make_dist(tmp_path / 'site', 'videoar-broken', {'broken': 'videoar_broken_plugin'})
    (site / 'videoar_broken_plugin.py').write_text('import no_such_dependency_xyz\n')
    proc = run_train(tmp_path, site, [PLUGIN_DIR])
    assert proc.returncode != 0
    assert "videoar plugin 'broken' (videoar-broken 0.1.0" in proc.stderr
    assert (
        'no_such_dependency_xyz' in proc.stderr and 'VIDEOAR_DISABLE_PLUGINS=broken' in proc.stderr
    )
    assert not (tmp_path / 'work' / 'iter_1.pth').exists()


@pytest.fixture
def fresh_plugins(monkeypatch):
    """Plugin discovery as in a new process (restored afterwards)."""
    import videoar.registry as registry

    monkeypatch.setitem(registry._PLUGINS, 'loaded', False)
    monkeypatch.setitem(registry._PLUGINS, 'records', [])
    return registry


def test_a_name_clash_is_refused_unless_the_plugin_overrides(tmp_path, monkeypatch, fresh_plugins):
    registry = fresh_plugins
    site = make_dist(tmp_path / 'site', 'videoar-clash', {'clash': 'videoar_clash_plugin'})
    (site / 'videoar_clash_plugin.py').write_text(
        'from videoar.registry import MASKINGS\n'
        'from videoar.models.maskings import BlockCausalMask\n'
        'class MyMask(BlockCausalMask):\n    pass\n'
        "MASKINGS.register_module(name='BlockCausalMask', module=MyMask, force=FORCE)\n"
        "MASKINGS.register_module(name='MyOwnMask', module=MyMask)\n".replace('FORCE', 'False')
    )
    monkeypatch.syspath_prepend(str(site))
    original = MASKINGS.get('BlockCausalMask')
    with pytest.raises(registry.PluginError, match="plugin 'clash'.*already exists.*force=True"):
        registry.load_plugins()
    assert MASKINGS.get('BlockCausalMask') is original

    # asking to override (force=True) is allowed, and the log record says what was replaced
    sys.modules.pop('videoar_clash_plugin', None)
    source = (site / 'videoar_clash_plugin.py').read_text().replace('force=False', 'force=True')
    (site / 'videoar_clash_plugin.py').write_text(source)
    try:
        assert registry.load_plugins() is True
        (record,) = registry.loaded_plugins()
        assert record['replaced'] == {'videoar::masking': ['BlockCausalMask']}
        assert record['registered'] == {'videoar::masking': ['MyOwnMask']}
        assert MASKINGS.get('BlockCausalMask').__name__ == 'MyMask'
    finally:
        MASKINGS.register_module(name='BlockCausalMask', module=original, force=True)
        MASKINGS._module_dict.pop('MyOwnMask', None)
        sys.modules.pop('videoar_clash_plugin', None)


def test_unknown_names_are_none_from_get_and_explained_at_build(fresh_plugins):
    assert MASKINGS.get('BlockCausalMsk') is None
    with pytest.raises(KeyError, match='Did you mean: BlockCausalMask'):
        MASKINGS.build(dict(type='BlockCausalMsk'))


def test_plugins_load_once_at_the_first_build_not_at_import(tmp_path, monkeypatch, fresh_plugins):
    registry = fresh_plugins
    site = make_dist(tmp_path / 'site', 'videoar-counted', {'counted': 'videoar_counted_plugin'})
    (site / 'videoar_counted_plugin.py').write_text(
        'import builtins\nbuiltins.videoar_counted_imports = getattr(builtins, '
        "'videoar_counted_imports', 0) + 1\n"
    )
    monkeypatch.syspath_prepend(str(site))
    import builtins

    try:
        assert getattr(builtins, 'videoar_counted_imports', 0) == 0  # not imported by import
        MASKINGS.build(dict(type='BlockCausalMask'))  # the first build loads the plugins
        MASKINGS.build(dict(type='BlockCausalMask'))
        assert MASKINGS.get('NoSuchMask') is None  # a miss does not reload them either
        assert builtins.videoar_counted_imports == 1
        assert [p['name'] for p in registry.loaded_plugins()] == ['counted']
    finally:
        sys.modules.pop('videoar_counted_plugin', None)
        if hasattr(builtins, 'videoar_counted_imports'):
            del builtins.videoar_counted_imports
