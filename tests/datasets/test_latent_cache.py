"""LatentCacheDataset: cached latents equal direct encoding; reuse by fingerprint."""

import pytest
import torch

from videoar.datasets.latent_cache import LatentCacheDataset
from videoar.models.tokenizers import CausalVideoTokenizer
from videoar.utils import ConfigError

DATASET = dict(type='MovingDigits', split='val', length=6, num_frames=5, height=16, width=16)


@pytest.fixture
def tokenizer_cfg(tiny_tokenizer_config):
    """4 latent channels, strides 4 in space and 2 in time: 5 frames of 16 x 16 -> (4, 3, 4, 4)."""
    return tiny_tokenizer_config()


@pytest.fixture
def save_tokenizer(tokenizer_cfg):
    """``save_tokenizer(path, seed)``: save a VideoTokenizer-style checkpoint of a tokenizer of
    ``tokenizer_cfg`` initialised from ``seed``; returns that tokenizer in eval mode."""

    def save(path, seed):
        torch.manual_seed(seed)
        cfg = {k: v for k, v in tokenizer_cfg.items() if k != 'type'}
        tokenizer = CausalVideoTokenizer(**cfg)
        state = {f'tokenizer.{k}': v for k, v in tokenizer.state_dict().items()}
        state['quantizer.dummy'] = torch.zeros(1)  # a VideoTokenizer checkpoint also holds these
        torch.save({'state_dict': state, 'meta': {}}, path)
        return tokenizer.eval()

    return save


@pytest.fixture
def encode_counter(monkeypatch):
    calls = []
    original = CausalVideoTokenizer.encode

    def counting(self, video, cache=None):
        calls.append(video.shape[0])
        return original(self, video, cache)

    monkeypatch.setattr(CausalVideoTokenizer, 'encode', counting)
    return calls


def test_cache_equals_direct_encoding_and_is_reused(
    tmp_path, encode_counter, tokenizer_cfg, save_tokenizer
):
    ckpt = tmp_path / 'tok.pth'
    tokenizer = save_tokenizer(ckpt, seed=0)
    kwargs = dict(
        dataset=DATASET, tokenizer=dict(tokenizer_cfg, checkpoint=str(ckpt)),
        cache_dir=str(tmp_path / 'cache'), num_items=5, batch_size=2,
    )  # fmt: skip
    cached = LatentCacheDataset(**kwargs)
    assert len(cached) == 5 and not cached.reused
    assert encode_counter == [2, 2, 1]  # encoded once, in batches

    item = cached[3]
    assert item['inputs'].numel() == 0
    clip = cached.dataset[3]
    with torch.no_grad():
        direct = tokenizer.encode(clip['inputs'][None])[0]
        same_batch = tokenizer.encode(torch.stack([cached.dataset[i]['inputs'] for i in (2, 3)]))
    assert torch.equal(item['data_samples']['latent'], same_batch[1])  # bit-exact
    assert torch.allclose(item['data_samples']['latent'], direct, atol=1e-5)  # batch of one
    assert item['data_samples']['latent'].shape == (4, 3, 4, 4)
    assert item['data_samples']['label'] == clip['data_samples']['label']
    assert item['data_samples']['caption'] == clip['data_samples']['caption']
    assert item['data_samples']['index'] == 3

    encode_counter.clear()
    again = LatentCacheDataset(**kwargs)
    assert again.reused and encode_counter == []  # no re-encoding
    assert again.cache_file == cached.cache_file
    assert torch.equal(again.latents, cached.latents)

    # a collated batch carries the latents where VideoAR's loss mode reads them
    batch = torch.utils.data.default_collate([again[0], again[1]])
    assert batch['data_samples']['latent'].shape == (2, 4, 3, 4, 4)


def test_fingerprint_follows_checkpoint_and_clip_settings(
    tmp_path, encode_counter, tokenizer_cfg, save_tokenizer
):
    ckpt_a, ckpt_b = tmp_path / 'a.pth', tmp_path / 'b.pth'
    save_tokenizer(ckpt_a, seed=0)
    save_tokenizer(ckpt_b, seed=1)
    base = dict(dataset=DATASET, cache_dir=str(tmp_path), num_items=2, batch_size=4)
    first = LatentCacheDataset(tokenizer=tokenizer_cfg, checkpoint=str(ckpt_a), **base)
    other_ckpt = LatentCacheDataset(tokenizer=tokenizer_cfg, checkpoint=str(ckpt_b), **base)
    assert other_ckpt.fingerprint != first.fingerprint and not other_ckpt.reused
    assert not torch.equal(other_ckpt.latents, first.latents)
    longer = dict(DATASET, num_frames=7)
    other_clip = LatentCacheDataset(
        tokenizer=tokenizer_cfg, checkpoint=str(ckpt_a), **dict(base, dataset=longer)
    )
    assert other_clip.fingerprint != first.fingerprint and other_clip.latents.shape[2] == 4
    more = LatentCacheDataset(
        tokenizer=tokenizer_cfg, checkpoint=str(ckpt_a), **dict(base, num_items=3)
    )
    assert more.fingerprint != first.fingerprint and len(more) == 3
    assert encode_counter == [2, 2, 2, 3]
    # rewriting checkpoint a with other weights invalidates its cache
    save_tokenizer(ckpt_a, seed=2)
    rewritten = LatentCacheDataset(tokenizer=tokenizer_cfg, checkpoint=str(ckpt_a), **base)
    assert not rewritten.reused and rewritten.fingerprint != first.fingerprint


def test_tokenizer_from_a_model_config_and_errors(tmp_path, tokenizer_cfg, save_tokenizer):
    ckpt = tmp_path / 'tok.pth'
    save_tokenizer(ckpt, seed=0)
    model_cfg = dict(type='VideoTokenizer', tokenizer=tokenizer_cfg, quantizer=dict(type='x'))
    config = tmp_path / 'tok_cfg.py'
    config.write_text(f'model = {model_cfg!r}\n')
    by_config = LatentCacheDataset(
        dataset=DATASET, tokenizer=dict(config=str(config), checkpoint=str(ckpt)),
        cache_dir=str(tmp_path), num_items=1,
    )  # fmt: skip
    by_model = LatentCacheDataset(
        dataset=DATASET, tokenizer=model_cfg, checkpoint=str(ckpt), cache_dir=str(tmp_path),
        num_items=1,
    )  # fmt: skip
    assert by_config.fingerprint == by_model.fingerprint and by_model.reused
    with pytest.raises(ConfigError, match='does not exist'):
        LatentCacheDataset(
            dataset=DATASET, tokenizer=tokenizer_cfg, checkpoint=str(tmp_path / 'no.pth')
        )
    with pytest.raises(ConfigError, match='num_items=7 exceeds the 6 clips'):
        LatentCacheDataset(
            dataset=DATASET, tokenizer=tokenizer_cfg, checkpoint=str(ckpt), num_items=7
        )


def test_num_latent_frames_serves_the_latents_of_the_shorter_clip(
    tmp_path, tokenizer_cfg, save_tokenizer
):
    """Causality makes the first latent frames of a long clip those of its first pixel frames."""
    from videoar.datasets import MovingDigits

    tokenizer = save_tokenizer(tmp_path / 'tok.pth', seed=3)
    long_clips = dict(DATASET, num_frames=9)
    cut = LatentCacheDataset(dataset=long_clips, tokenizer=tokenizer_cfg, checkpoint=str(tmp_path / 'tok.pth'),
                             cache_dir=str(tmp_path), num_latent_frames=2)  # fmt: skip
    short = MovingDigits(**{k: v for k, v in DATASET.items() if k != 'type'})  # 5 frames
    with torch.no_grad():
        direct = tokenizer.encode(short[1]['inputs'][None])[0]  # tau 2: 5 frames -> 3 latents
    assert cut[1]['data_samples']['latent'].shape == (4, 2, 4, 4)
    torch.testing.assert_close(
        cut[1]['data_samples']['latent'], direct[:, :2], atol=1e-5, rtol=1e-4
    )
    with pytest.raises(ConfigError, match='num_latent_frames=9 exceeds'):
        LatentCacheDataset(dataset=long_clips, tokenizer=tokenizer_cfg, checkpoint=str(tmp_path / 'tok.pth'),
                           cache_dir=str(tmp_path), num_latent_frames=9)  # fmt: skip
