"""The paper's model configs build (on the meta device) with the paper's parameter counts."""

import os

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from videoar.registry import MODELS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _transformer_params(config: str) -> tuple[int, object]:
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'paper', config))
    with DefaultScope.overwrite_default_scope('videoar'), torch.device('meta'):
        model = MODELS.build(cfg.model)
    frozen = {id(p) for m in (model.tokenizer, model.quantizer) for p in m.parameters()}
    count = sum(p.numel() for p in model.parameters() if id(p) not in frozen)
    return count, model


@pytest.mark.parametrize(
    'config, paper_params',
    [
        ('videoar-l_8xb16-200k_ucf101-128x128-17f.py', 926e6),
        ('videoar-xl_8xb16-200k_ucf101-128x128-17f.py', 2.0e9),
    ],
)
def test_paper_models_match_published_sizes(config, paper_params):
    count, model = _transformer_params(config)
    assert abs(count - paper_params) / paper_params < 0.08, f'{count / 1e6:.1f}M'
    assert model.num_sampling_steps == 30  # 5 latent frames x 6 scales, as the paper reports
    assert model.latent_size == (8, 8) and model.latent_frames == 5
