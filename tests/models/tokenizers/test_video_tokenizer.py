"""VideoTokenizer: losses and stats, predict format, labels helpers, GAN step, checkpoints."""

import copy

import pytest
import torch
from mmengine.optim import OptimWrapper, OptimWrapperDict

from videoar.models.tokenizers import (
    GANOptimWrapperConstructor,
    LeCAM,
    PatchDiscriminator3D,
    PerceptualLoss,
    hinge_d_loss,
    load_tokenizer_checkpoint,
    tokens_per_clip,
)
from videoar.registry import MODELS, QUANTIZERS, TOKENIZERS
from videoar.structures import VideoBatch
from videoar.utils import ConfigError

BSQ = dict(type='MultiScaleBSQ', scale_sizes=[1, 2])
VQ = dict(type='MultiScaleVQ', scale_sizes=[1, 2], codebook_size=16)


@pytest.fixture
def tokenizer_cfg(tiny_tokenizer_config):
    """4 latent channels, strides 4 in space and in time, two levels of 8 channels."""
    return tiny_tokenizer_config(temporal_stride=4)


@pytest.fixture
def build(tokenizer_cfg):
    """``build(quantizer=BSQ, **kwargs)``: a seeded VideoTokenizer of ``tokenizer_cfg``."""

    def make(quantizer=BSQ, **kwargs):
        torch.manual_seed(0)
        return MODELS.build(
            dict(type='VideoTokenizer', tokenizer=tokenizer_cfg, quantizer=quantizer, **kwargs)
        )

    return make


def clips(batch=2, frames=5, size=8, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 3, frames, size, size, generator=gen) * 2 - 1


def batch_of(video):
    n = video.shape[0]
    return dict(
        inputs=video,
        data_samples=dict(label=torch.arange(n), caption=[f'c{i}' for i in range(n)]),
    )


@pytest.mark.parametrize('quantizer', [BSQ, VQ], ids=['bsq', 'vq'])
def test_loss_mode_returns_weighted_losses_and_usage_stats(quantizer, build):
    model = build(quantizer, l1_weight=1.0, l2_weight=0.5).train()
    video = clips()
    losses = model(video, mode='loss')
    assert {'loss_rec_l1', 'loss_rec_l2', 'loss_commit'} <= set(losses)
    rec, _ = model.reconstruct(video)
    torch.testing.assert_close(losses['loss_rec_l2'], 0.5 * (rec - video).pow(2).mean())
    usage = [k for k in losses if k.startswith('usage/')]
    assert len(usage) >= 2 and all('loss' not in k for k in usage)  # logged, not summed
    total, log_vars = model.parse_losses(losses)
    assert set(log_vars) == set(losses) | {'loss'}
    torch.testing.assert_close(total, sum(v for k, v in losses.items() if k.startswith('loss')))
    total.backward()
    # the straight-through estimator lets the reconstruction loss reach the encoder
    assert model.tokenizer.encoder.conv_in.conv.weight.grad.abs().sum() > 0
    assert model.tokenizer.decoder.conv_out.conv.weight.grad.abs().sum() > 0


def test_embed_dim_defaults_to_the_latent_dim_and_shapes_are_checked_at_build(build):
    assert build().quantizer.embed_dim == 4
    with pytest.raises(ConfigError, match='latent_dim'):
        build({**BSQ, 'embed_dim': 6})
    with pytest.raises(ConfigError, match='last scale'):
        build(input_size=(5, 16, 16))  # latent 4x4, schedule ends at 2x2
    with pytest.raises(ConfigError, match='1 \\+ 4\\*k'):
        build(input_size=(6, 8, 8))
    build(input_size=(9, 8, 8))


@pytest.mark.parametrize('form', ['dict', 'VideoBatch'])
def test_predict_returns_one_dict_per_clip_for_the_metrics(build, form):
    model = build().eval()
    video = clips(batch=3)
    data = batch_of(video)
    if form == 'VideoBatch':  # what video_collate hands the model
        data['data_samples'] = VideoBatch.build(**data['data_samples'])
    with torch.no_grad():
        outputs = model.val_step(data)
        rec, _ = model.reconstruct(video)
    assert len(outputs) == 3
    for i, item in enumerate(outputs):
        assert item['pred_video'].shape == (3, 5, 8, 8) == item['gt_video'].shape
        assert item['pred_video'].min() >= -1 and item['pred_video'].max() <= 1
        torch.testing.assert_close(item['pred_video'], rec[i].clamp(-1, 1))
        torch.testing.assert_close(item['gt_video'], video[i])
        assert item['label'] == i and item['caption'] == f'c{i}'


@pytest.mark.parametrize('quantizer', [BSQ, VQ], ids=['bsq', 'vq'])
def test_labels_round_trip_through_the_model_helpers(quantizer, build):
    model = build(quantizer).eval()
    video = clips()
    with torch.no_grad():
        labels = model.encode_to_labels(video)
        assert [tuple(lab.shape[:4]) for lab in labels] == [(2, 2, 1, 1), (2, 2, 2, 2)]
        rec, _ = model.reconstruct(video)
        torch.testing.assert_close(model.decode_from_labels(labels), rec)
    assert tokens_per_clip(model.quantizer, 2) == 2 * (1 + 4)


def test_plain_train_step_updates_the_tokenizer(build):
    model = build().train()
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-2))
    before = copy.deepcopy(model.tokenizer.state_dict())
    log_vars = model.train_step(batch_of(clips()), optim)
    assert 'loss' in log_vars and 'psnr' in log_vars
    changed = [k for k, v in model.tokenizer.state_dict().items() if not torch.equal(v, before[k])]
    assert changed and int(model.train_steps) == 1


def test_gan_training_alternates_generator_and_discriminator_after_the_start(build):
    disc = dict(type='PatchDiscriminator3D', base_channels=8, num_layers=2, temporal_downsample=1)
    model = build(discriminator=disc, disc_start_iter=1, lecam_weight=0.1, gan_weight=0.5).train()
    with pytest.raises(ConfigError, match='two optimizers'):
        model.train_step(batch_of(clips()), OptimWrapper(torch.optim.SGD(model.parameters(), 0.1)))
    constructor = GANOptimWrapperConstructor(
        dict(
            generator=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3)),
            discriminator=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3)),
        )
    )
    optim = constructor(model)
    assert isinstance(optim, OptimWrapperDict)
    gen_params = {id(p) for g in optim['generator'].optimizer.param_groups for p in g['params']}
    assert gen_params == {
        id(p) for p in [*model.tokenizer.parameters(), *model.quantizer.parameters()]
    }
    d_before = copy.deepcopy(model.discriminator.state_dict())
    log0 = model.train_step(batch_of(clips()), optim)  # step 0: before disc_start_iter
    assert 'loss_disc' not in log0 and 'loss_gan_g' not in log0
    assert all(torch.equal(v, d_before[k]) for k, v in model.discriminator.state_dict().items())
    log1 = model.train_step(batch_of(clips(seed=1)), optim)
    assert {'loss_disc', 'loss_lecam', 'loss_gan_g', 'disc_real', 'disc_fake'} <= set(log1)
    assert any(not torch.equal(v, d_before[k]) for k, v in model.discriminator.state_dict().items())
    assert float(model.lecam.ema_real) != 0.0  # LeCAM EMAs are updated in training
    with pytest.raises(ConfigError, match='parameter groups'):
        model.optim_module('encoder')


def test_hinge_and_lecam_values():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0])
    # relu(1 - real) = [0, 0.5] -> 0.25; relu(1 + fake) = [0, 1] -> 0.5
    torch.testing.assert_close(hinge_d_loss(real, fake), torch.tensor(0.75))
    lecam = LeCAM(decay=0.5).train()
    reg = lecam(real, fake)  # EMAs start at 0: relu(real)^2 mean + relu(-fake)^2 mean
    torch.testing.assert_close(reg, torch.tensor((4 + 0.25) / 2 + (4 + 0) / 2))
    torch.testing.assert_close(lecam.ema_real, torch.tensor(0.625))
    out = PatchDiscriminator3D(base_channels=4, num_layers=2, temporal_downsample=1)(
        clips(1, 5, 16)
    )
    assert out.shape == (1, 1, 3, 4, 4)


def test_perceptual_loss_needs_local_weights_and_measures_distance(tmp_path, build):
    with pytest.raises(ConfigError, match='weights_path'):
        PerceptualLoss('test_resnet', weights_path=str(tmp_path / 'missing.pth'))
    import timm

    torch.manual_seed(0)
    net = timm.create_model('test_resnet', pretrained=False)
    torch.save({'state_dict': net.state_dict()}, tmp_path / 'w.pth')
    loss = PerceptualLoss('test_resnet', weights_path=str(tmp_path / 'w.pth'), out_indices=(1, 2))
    feats = loss.net.stem_0 if hasattr(loss.net, 'stem_0') else None
    assert feats is None or not feats.weight.requires_grad
    a, b = clips(1, 3, 32, seed=1), clips(1, 3, 32, seed=2)
    a.requires_grad_(True)
    assert float(loss(a.detach(), a.detach())) < 1e-6
    d = loss(a, b)
    assert float(d.detach()) > 0
    d.backward()
    assert a.grad.abs().sum() > 0
    perceptual = dict(type='PerceptualLoss', model_name='test_resnet', resize=32,
                      weights_path=str(tmp_path / 'w.pth'))  # fmt: skip
    losses = build(perceptual=perceptual)(clips(1, 5, 8), mode='loss')
    assert float(losses['loss_perceptual'].detach()) > 0


@pytest.mark.parametrize('quantizer', [BSQ, VQ], ids=['bsq', 'vq'])
def test_load_tokenizer_checkpoint_gives_a_frozen_identical_pair(
    tmp_path, quantizer, build, tokenizer_cfg
):
    model = build(quantizer).train()
    model.train_step(batch_of(clips()), OptimWrapper(torch.optim.Adam(model.parameters(), 1e-2)))
    path = tmp_path / 'iter_1.pth'
    torch.save({'meta': {'iter': 1}, 'state_dict': model.state_dict()}, path)

    torch.manual_seed(123)  # different init
    tokenizer = TOKENIZERS.build(tokenizer_cfg)
    qcfg = {**quantizer, 'embed_dim': 4}
    quant = QUANTIZERS.build(qcfg)
    tokenizer, quant = load_tokenizer_checkpoint(str(path), tokenizer, quant)
    assert not tokenizer.training and not quant.training
    assert not any(p.requires_grad for p in [*tokenizer.parameters(), *quant.parameters()])
    model.eval()
    video = clips()
    with torch.no_grad():
        z = tokenizer.encode(video)
        torch.testing.assert_close(z, model.tokenizer.encode(video))
        frames = z.transpose(1, 2).flatten(0, 1)
        torch.testing.assert_close(quant(frames).quantized, model.quantizer(frames).quantized)
    torch.save({'state_dict': {'other.weight': torch.zeros(1)}}, tmp_path / 'bad.pth')
    with pytest.raises(KeyError, match='tokenizer'):
        load_tokenizer_checkpoint(str(tmp_path / 'bad.pth'), tokenizer, quant)
