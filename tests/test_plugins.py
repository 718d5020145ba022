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
