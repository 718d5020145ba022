"""The tokenizer configs build, validate their shapes and run a forward pass."""

import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapperDict, build_optim_wrapper
from mmengine.registry import DefaultScope

from videoar.models.tokenizers import tokens_per_clip
from videoar.registry import MODELS
from videoar.utils import ConfigError

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
TINY = 'configs/tokenizer/videoar-tokenizer_tiny_1xb8-1200iters_movingdigits-32x32-17f.py'
UCF = 'configs/tokenizer/videoar-tokenizer_ucf101-128x128-17f.py'


def load(name):
    return Config.fromfile(osp.join(ROOT, name))


def test_tiny_moving_digits_config_trains_a_clip():
    cfg = load(TINY)
    assert cfg.train_dataloader.dataset.num_frames == 17
    assert cfg.train_dataloader.dataset.height == 32 == cfg.val_dataloader.dataset.width
    assert [m['type'] for m in cfg.val_evaluator] == ['PSNR', 'SSIM', 'ClassAccuracy', 'FVD']
    assert cfg.optim_wrapper.type == 'PortableAmpOptimWrapper'  # bf16 autocast
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).train()
    assert model.tokenizer.latent_shape(17, 32, 32) == (5, 4, 4)
    assert tokens_per_clip(model.quantizer, 5) == 150
    video = torch.rand(1, 3, 17, 32, 32) * 2 - 1
    losses = model(video, mode='loss')
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total) and 'usage/bits_s0' in losses
    total.backward()


def test_ucf101_config_builds_and_runs_a_small_forward_pass():
    cfg = load(UCF)
    cfg.model.perceptual = None  # its local weights file is a placeholder path (tested elsewhere)
    cfg.model.inflate_from = None  # the image-tokenizer stage is not trained here
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)  # validates 17 x 128 x 128 against strides and scales
    tok, quant = model.tokenizer, model.quantizer
    assert (tok.latent_dim, tok.spatial_stride, tok.temporal_stride) == (48, 16, 4)
    assert tok.latent_shape(17, 128, 128) == (5, 8, 8) and quant.latent_size == (8, 8)
    assert tokens_per_clip(quant, 5) == 5 * (1 + 4 + 9 + 16 + 36 + 64)
    model.eval()
    with torch.no_grad():
        video = torch.rand(1, 3, 5, 16, 16) * 2 - 1  # small input: 2 latent frames of 1 x 1
        latent = tok.encode(video)
        assert latent.shape == (1, 48, 2, 1, 1)
        assert tok.decode(latent).shape == video.shape
        out = quant(torch.randn(2, 48, 8, 8))  # the full 6-scale schedule on 8 x 8 latents
        assert [tuple(lab.shape) for lab in out.labels][-1] == (2, 8, 8, 48)
        assert model.discriminator(video).dim() == 5
    # generator and discriminator get their own optimizers
    with DefaultScope.overwrite_default_scope('videoar'):  # as inside the Runner
        optim = build_optim_wrapper(model, cfg.optim_wrapper)
    assert isinstance(optim, OptimWrapperDict) and set(optim.keys()) == {
        'generator',
        'discriminator',
    }


@pytest.mark.parametrize('name', [TINY, UCF])
def test_a_bad_resolution_is_refused_at_build_time(name):
    cfg = load(name)
    frames, height, width = cfg.model.input_size
    cfg.model.input_size = (frames, height + 4, width)
    with pytest.raises(ConfigError, match='spatial_stride'):
        MODELS.build(cfg.model)
    cfg.model.input_size = (frames + 1, height, width)
    with pytest.raises(ConfigError, match='1 \\+ 4\\*k'):
        MODELS.build(cfg.model)
