"""VideoAR loss: bitwise CE / CE values, per-scale weights, latent cache path, validation."""

import math

import pytest
import torch
import torch.nn.functional as F

from videoar.models.sampling.sampler import sample_video
from videoar.models.sequence import build_teacher_forcing
from videoar.utils import ConfigError

META = {'label': torch.tensor([1, 6])}


def _video(seed=0, frames=9):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(2, 3, frames, 16, 24, generator=gen) * 2 - 1


def test_bitwise_ce_equals_a_manual_computation(tiny_model):
    model = tiny_model(conditioner=dict(drop_prob=0.0)).eval()
    video = _video()
    with torch.no_grad():
        out = model(video, META, mode='loss')
        logits = model(video, META, mode='tensor')  # teacher forcing, no corruption
    labels = build_teacher_forcing(model.encode(video), model.quantizer).labels  # (B, Lv, d)
    bit_logits = logits.unflatten(-1, (-1, 2))
    manual = F.cross_entropy(bit_logits.permute(0, 3, 1, 2), labels)  # mean over all bits
    torch.testing.assert_close(out['loss'], manual)
    accuracy = (bit_logits.argmax(-1) == labels).float().mean()
    torch.testing.assert_close(out['acc_bit'], accuracy)
    token_acc = (bit_logits.argmax(-1) == labels).all(-1).float().mean()
    torch.testing.assert_close(out['acc_token'], token_acc)
    assert set(out) >= {'flip_rate/t0', 'flip_rate/t1', 'flip_rate/t2', 'flip_rate/mean'}


def test_zero_initialised_head_starts_at_log2_per_bit(tiny_model):
    model = tiny_model(randomise=False)
    out = model(_video(), META, mode='loss')
    torch.testing.assert_close(out['loss'], torch.tensor(math.log(2.0)))


def test_per_scale_reweighting_follows_sqrt_area_ratio(tiny_model):
    model = tiny_model(reweight_loss_by_scale=True)
    layout = model.layout(model.latent_frames)
    weights = model.scale_weights(layout, 'cpu')
    torch.testing.assert_close(weights.sum(), torch.tensor(1.0))
    # scales (1,1), (1,2), (2,3): per-token weight sqrt(6/1) : sqrt(6/2) : sqrt(6/6)
    per_scale = [weights[layout.video_block_slice(0, k)][0].item() for k in range(3)]
    assert per_scale[0] / per_scale[2] == pytest.approx(math.sqrt(6.0))
    assert per_scale[1] / per_scale[2] == pytest.approx(math.sqrt(3.0))
    # the loss is the weighted token loss
    model.eval()
    video = _video(1)
    with torch.no_grad():
        out = model(video, META, mode='loss')
        logits = model(video, META, mode='tensor').unflatten(-1, (-1, 2))
    labels = build_teacher_forcing(model.encode(video), model.quantizer).labels
    token = F.cross_entropy(logits.permute(0, 3, 1, 2), labels, reduction='none').mean(-1)
    torch.testing.assert_close(out['loss'], (token * weights).sum(-1).mean())


def test_cached_latents_give_the_same_loss_as_videos(tiny_model):
    model = tiny_model().eval()
    video = _video(2)
    with torch.no_grad():
        from_video = model(video, META, mode='loss')
        latent = model.encode(video)
        from_cache = model(None, {**META, 'latent': latent}, mode='loss')
    torch.testing.assert_close(from_cache['loss'], from_video['loss'])


def test_training_step_updates_only_the_ar_model_and_logs_flip_rates(tiny_model):
    model = tiny_model(corrector=dict(type='CrossFrameErrorCorrection')).train()
    tokenizer_before = {k: v.clone() for k, v in model.tokenizer.state_dict().items()}
    out = model(_video(3), META, mode='loss')
    out['loss'].backward()
    assert model.tokenizer.training is False and model.quantizer.training is False
    assert all(p.grad is None for p in model.tokenizer.parameters())
    assert all(p.grad is None for p in model.quantizer.parameters())
    assert model.head.weight.grad.abs().sum() > 0
    assert model.transformer.blocks[0].attn.qkv.weight.grad.abs().sum() > 0
    for key, value in model.tokenizer.state_dict().items():
        assert torch.equal(value, tokenizer_before[key])
    rates = [out[f'flip_rate/t{t}'].item() for t in range(model.latent_frames)]
    assert all(0.0 < r < 0.5 for r in rates)  # U(0.01 t, 0.25 + 0.01 t) per scale, realised


def test_condition_dropout_reaches_the_model_in_training(tiny_model):
    model = tiny_model(conditioner=dict(drop_prob=0.5))
    video = _video(4)
    torch.manual_seed(0)
    model.train()
    losses = {model(video, META, mode='loss')['loss'].item() for _ in range(6)}
    model.eval()
    with torch.no_grad():
        fixed = {model(video, META, mode='loss')['loss'].item() for _ in range(3)}
    assert len(losses) > 1 and len(fixed) == 1


def test_index_labels_train_and_sample(tiny_model):
    quantizer = dict(type='MultiScaleVQ', embed_dim=4, scale_sizes=[(1, 1), (1, 2), (2, 3)],
                     codebook_size=16)  # fmt: skip
    model = tiny_model(quantizer=quantizer)
    assert model.head.out_features == 16
    out = model(_video(5), META, mode='loss')
    assert set(out) >= {'loss', 'acc_token'} and 'acc_bit' not in out
    out['loss'].backward()
    sample = sample_video(model, META, seed=0, return_logits=True)
    assert sample['labels'].shape == (2, 27) and int(sample['labels'].max()) < 16
    cond = model.conditioner(META, 2, 'cpu')
    with torch.no_grad():
        full = model.forward_logits(labels=sample['labels'], condition=cond)
    torch.testing.assert_close(sample['logits'], full, atol=2e-5, rtol=1e-4)


def test_build_time_validation(tiny_model):
    with pytest.raises(ConfigError, match='last scale'):
        tiny_model(quantizer=dict(scale_sizes=[(1, 1), (2, 2)]))
    with pytest.raises(ConfigError, match='1 \\+ 4\\*k'):
        tiny_model(num_frames=8)
    with pytest.raises(ConfigError, match='divisible'):
        tiny_model(resolution=(20, 24))
    with pytest.raises(ConfigError, match='embed_dim=6 must equal'):
        tiny_model(quantizer=dict(embed_dim=6))
    with pytest.raises(ConfigError, match="unknown key.*'depht'"):
        tiny_model(transformer=dict(depht=3))
    with pytest.raises(ConfigError, match='max_frames'):
        tiny_model(max_frames=2)
    with pytest.raises(ConfigError, match='sample_cfg'):
        tiny_model(sample_cfg=dict(cfg=2.0))
    model = tiny_model()
    with pytest.raises(ConfigError, match='max_frames'):
        sample_video(model, META, num_frames=13)
