"""The paper's model configs build (on the meta device) with exactly the parameter count of their
formula; VideoAR-L's conditioning (shared AdaLN) is the one that lands on the paper's 926M."""

import os

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from videoar.registry import MODELS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
L_CONFIG = 'videoar-l_8xb16-200k_ucf101-128x128-17f.py'
XL_CONFIG = 'videoar-xl_8xb16-200k_ucf101-128x128-17f.py'


def _build(config: str, **transformer):
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'paper', config))
    cfg.model.transformer.update(transformer)
    with DefaultScope.overwrite_default_scope('videoar'), torch.device('meta'):
        model = MODELS.build(cfg.model)
    frozen = {id(p) for m in (model.tokenizer, model.quantizer) for p in m.parameters()}
    count = sum(p.numel() for p in model.parameters() if id(p) not in frozen)
    return count, model, cfg


def expected_params(cfg, cond_mode: str) -> int:
    """Trainable parameters of a paper config, term by term.

    Per block: q, k, v, out projections (4 C^2, no bias), SwiGLU (3 C F), q/k RMSNorm (2 head_dim);
    with a prefix condition also the two pre-norm weights (2 C) and a final norm (C); with shared
    AdaLN instead one modulation for all blocks (C x 6C + 6C) and one for the head (C x 2C + 2C).
    Outside the blocks: the start token (C), the class table with its null row ((N + 1) C), the
    word embedding (d C), the scale embeddings (K C) and the bit head (C x 2d + 2d).
    """
    t = cfg.model.transformer
    width, ffn, depth = t.dim, t.ffn_dim, t.depth
    head_dim = width // t.num_heads
    bits = cfg.model.quantizer.embed_dim
    scales = len(cfg.model.quantizer.scale_sizes)
    classes = cfg.model.conditioner.num_classes
    block = 4 * width**2 + 3 * width * ffn + 2 * head_dim
    if cond_mode == 'prefix':
        stack = depth * (block + 2 * width) + width
    else:
        stack = depth * block + (6 * width**2 + 6 * width) + (2 * width**2 + 2 * width)
    outside = width + (classes + 1) * width + bits * width + scales * width
    return stack + outside + width * 2 * bits + 2 * bits


def test_videoar_l_counts_are_exact_and_shared_adaln_is_the_papers_926m():
    adaln, model, cfg = _build(L_CONFIG)
    assert (cfg.model.transformer.cond_mode, cfg.model.transformer.adaln_mode) == (
        'adaln',
        'shared',
    )
    assert adaln == expected_params(cfg, 'adaln') == 925_251_168
    prefix, _, _ = _build(L_CONFIG, cond_mode='prefix')
    assert prefix == expected_params(cfg, 'prefix') == 906_439_776
    # the paper's 926M: AdaLN is 0.75M short, the prefix layout 19.6M
    assert abs(adaln - 926e6) < 1e6 < abs(prefix - 926e6)
    assert model.num_sampling_steps == 30  # 5 latent frames x 6 scales, as the paper reports
    assert model.latent_size == (8, 8) and model.latent_frames == 5


def test_videoar_xl_count_is_exact():
    count, model, cfg = _build(XL_CONFIG)
    assert count == expected_params(cfg, 'adaln') == 2_181_580_896
    assert abs(count - 2.0e9) / 2.0e9 < 0.1  # the paper's 2.0B (its FFN width is not given)
    assert model.num_sampling_steps == 30


@pytest.mark.parametrize('config', [L_CONFIG, XL_CONFIG])
def test_prefix_formula_holds_for_both_sizes(config):
    count, _, cfg = _build(config, cond_mode='prefix')
    assert count == expected_params(cfg, 'prefix')
