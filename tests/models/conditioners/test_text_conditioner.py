"""Text conditioning: byte tokenizer, CharTextConditioner, padded prefixes inside VideoAR, T5."""

import sys

import pytest
import torch

import videoar.models.pos_encodings  # noqa: F401
from videoar.models.conditioners import Condition
from videoar.models.conditioners.text import CharTextConditioner, T5TextConditioner
from videoar.models.conditioners.text_tokenizer import ByteTokenizer
from videoar.models.sampling.sampler import sample_video
from videoar.registry import MODELS
from videoar.utils import ConfigError

CAPTIONS = ['digit 3 moving up-left', 'a', 'digit 7 moving down']

# the tiny VideoAR of tests/conftest.py (9 frames of 16 x 24) with a byte-level text encoder
TEXT_CONDITIONER = dict(type='CharTextConditioner', max_length=24, width=32, depth=1, num_heads=2)


@pytest.fixture
def text_model(tiny_videoar):
    """The tiny text-conditioned VideoAR with a random head, in eval mode."""
    return tiny_videoar(seed=0, random_head=True, conditioner=TEXT_CONDITIONER).eval()


def test_byte_tokenizer_pads_truncates_and_round_trips():
    left = ByteTokenizer(max_length=8)  # the default: captions end next to the video
    ids, mask = left(['ab', ''])
    assert ids.tolist() == [[0, 0, 0, 0, 1, 100, 101, 2], [0, 0, 0, 0, 0, 0, 1, 2]]
    assert mask[1].tolist() == [False] * 6 + [True, True]
    tok = ByteTokenizer(max_length=8, padding_side='right')
    ids, mask = tok(['héllo', '', 'a long caption'])
    assert ids.shape == mask.shape == (3, 8)
    assert ids[0, 0] == tok.bos_id and ids[1].tolist() == [1, 2, 0, 0, 0, 0, 0, 0]
    # 'héllo' is 6 UTF-8 bytes: bos + 6 + eos fills the row exactly
    assert mask[0].all() and ids[0, -1] == tok.eos_id and tok.decode(ids[0]) == 'héllo'
    assert mask[1].tolist() == [True, True] + [False] * 6
    assert tok.decode(ids[2]) == 'a long' and ids[2, -1] == tok.eos_id
    assert tok.is_truncated('a long caption') and not tok.is_truncated('héllo')
    with pytest.raises(ConfigError, match='max_length'):
        ByteTokenizer(max_length=1)
    with pytest.raises(ConfigError, match='padding_side'):
        ByteTokenizer(max_length=8, padding_side='middle')


def test_left_and_right_padding_encode_a_caption_alike():
    """Learned positions count from the first real token: the prefix is only shifted."""
    conds = []
    for side in ('left', 'right'):
        torch.manual_seed(0)
        conds.append(CharTextConditioner(embed_dim=16, max_length=24, width=32, depth=2,
                                         num_heads=4, padding_side=side).eval())  # fmt: skip
    left, right = (c({'caption': CAPTIONS}, 3, 'cpu') for c in conds)
    for row in range(3):
        torch.testing.assert_close(
            left.prefix[row][left.prefix_mask[row]], right.prefix[row][right.prefix_mask[row]]
        )
        assert left.prefix_mask[row, -1] and right.prefix_mask[row, 0]
    torch.testing.assert_close(left.pooled, right.pooled)


@pytest.mark.parametrize('caption', ['', 'a', 'digit 7', 'digit 3 moving up-left', 'x' * 40])
def test_text_to_video_distances_equal_the_papers(text_model, caption):
    """Paper (Fig. 2): text token j at (j, j, j), video (t, h, w) at (t + L, h + L, w + L), with
    L = |Psi| the caption's tokens: every text-to-video RoPE distance must be the paper's."""
    model = text_model
    cond = model.conditioner({'caption': [caption or ' ']}, 1, 'cpu')
    real = cond.prefix_mask[0]
    length = int(real.sum())
    assert length == min(len(caption.encode()), 22) + 2 or not caption.strip()
    layout = model.layout(model.latent_frames)
    positions = model.pos_encoding.positions(layout)
    text = positions[: layout.prefix_len][real]  # (L, 3) our positions of the real tokens
    video = positions[layout.prefix_len :]  # (Lv, 3)
    paper_text = torch.arange(length).unsqueeze(-1).expand(-1, 3)
    paper_video = (
        torch.cat(
            [
                layout.frame_index[layout.video_slice, None],
                layout.spatial_index[layout.video_slice],
            ],
            dim=1,
        )
        + length
    )
    ours = video[None] - text[:, None]
    paper = paper_video[None] - paper_text[:, None]
    assert torch.equal(ours, paper)


def test_char_conditioner_masks_padding_and_is_batch_invariant():
    torch.manual_seed(0)
    cond = CharTextConditioner(embed_dim=16, max_length=24, width=32, depth=2, num_heads=4).eval()
    out = cond({'caption': CAPTIONS}, 3, 'cpu')
    assert out.prefix.shape == (3, 24, 16) and out.pooled.shape == (3, 16)
    lengths = [len(c.encode()) + 2 for c in CAPTIONS]
    assert out.prefix_mask.sum(1).tolist() == lengths
    assert torch.all(out.prefix[~out.prefix_mask] == 0)  # padded positions are zeroed
    assert torch.isfinite(out.prefix).all() and torch.isfinite(out.pooled).all()
    # a caption's condition does not depend on what else is in the batch (key padding works)
    alone = cond({'caption': [CAPTIONS[1]]}, 1, 'cpu')
    torch.testing.assert_close(alone.prefix[0], out.prefix[1], atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(alone.pooled[0], out.pooled[1], atol=1e-6, rtol=1e-5)
    # changing the pad embedding changes nothing: padded keys are never attended to
    with torch.no_grad():
        cond.token_embed.weight[ByteTokenizer.pad_id] += 5.0
    again = cond({'caption': CAPTIONS}, 3, 'cpu')
    torch.testing.assert_close(again.prefix, out.prefix, atol=1e-6, rtol=1e-5)
    # different captions give different conditions
    assert (out.pooled[0] - out.pooled[2]).abs().max() > 1e-4


def test_condition_dropout_and_empty_captions_use_the_learned_null():
    torch.manual_seed(0)
    cond = CharTextConditioner(embed_dim=8, max_length=12, width=16, depth=1, num_heads=2,
                               drop_prob=0.5)  # fmt: skip
    null = cond.null(3, 'cpu')
    torch.testing.assert_close(null.prefix[1], cond.null_prefix)
    assert null.prefix_mask.all()
    dropped = cond({'caption': CAPTIONS}, 3, 'cpu', drop_mask=torch.tensor([True, False, True]))
    torch.testing.assert_close(dropped.prefix[[0, 2]], null.prefix[[0, 2]])
    kept = cond.eval()({'caption': CAPTIONS}, 3, 'cpu')
    torch.testing.assert_close(dropped.prefix[1], kept.prefix[1])
    # blank captions and batches without captions are unconditional
    blank = cond({'caption': ['', 'digit 1', '  ']}, 3, 'cpu')
    torch.testing.assert_close(blank.pooled[[0, 2]], null.pooled[[0, 2]])
    assert not torch.allclose(blank.pooled[1], null.pooled[1])
    torch.testing.assert_close(cond({'label': [1, 2, 3]}, 3, 'cpu').prefix, null.prefix)
    # training-mode dropout hits about drop_prob of the samples
    cond.train()
    drawn = cond.sample_drop_mask(4000, 'cpu', torch.Generator().manual_seed(0)).float().mean()
    assert abs(drawn.item() - 0.5) < 0.03
    null_grad = torch.autograd.grad(
        cond({'caption': ['x'] * 8}, 8, 'cpu', drop_mask=torch.ones(8, dtype=torch.bool))
        .prefix.sum(), cond.null_prefix)[0]  # fmt: skip
    assert null_grad.abs().sum() > 0  # the null prefix is learned


def test_text_tokens_sit_on_the_rope_diagonal_and_video_after_the_prefix(text_model):
    model = text_model
    layout = model.layout(model.latent_frames)
    assert layout.prefix_len == 24 == model.conditioner.prefix_len
    positions = model.pos_encoding.positions(layout)
    expected = torch.arange(24).unsqueeze(-1).expand(-1, 3)
    assert torch.equal(positions[:24], expected)
    # frame 0 scale 0 at (P, P, P); frame 0 scale 2 cell (1, 2) at (P, P+1, P+2); frame 1 at t=P+1
    assert positions[layout.block_slice(0, 0).start].tolist() == [24, 24, 24]
    cell = layout.block_slice(0, 2).start + 1 * 3 + 2
    assert positions[cell].tolist() == [24, 25, 26]
    assert positions[layout.block_slice(1, 0).start].tolist() == [25, 24, 24]


def test_videoar_ignores_padded_prefix_tokens_and_never_produces_nan(text_model):
    model = text_model
    data = {'caption': CAPTIONS}
    cond = model.conditioner(data, 3, 'cpu')
    latent = torch.randn(3, 4, model.latent_frames, *model.latent_size)
    with torch.no_grad():
        logits = model.forward_logits(latent=latent, condition=cond)
        # garbage in the padded prefix positions changes nothing (key padding in the AR model)
        noisy = Condition(cond.prefix + 7.0 * (~cond.prefix_mask).unsqueeze(-1), cond.prefix_mask,
                          cond.pooled)  # fmt: skip
        torch.testing.assert_close(model.forward_logits(latent=latent, condition=noisy), logits)
        # a fully padded prefix row still gives finite logits (every token sees itself)
        empty = Condition(cond.prefix, torch.zeros_like(cond.prefix_mask), cond.pooled)
        assert torch.isfinite(model.forward_logits(latent=latent, condition=empty)).all()
    assert torch.isfinite(logits).all()
    # KV-cached sampling with padded prompts equals a full forward over the sampled labels
    out = sample_video(model, data, cfg_scale=2.0, seed=0, return_logits=True, decode=False)
    null = model.conditioner.null(3, 'cpu')
    with torch.no_grad():
        c = model.forward_logits(labels=out['labels'], condition=cond)
        u = model.forward_logits(labels=out['labels'], condition=null)
    torch.testing.assert_close(out['logits'], u + 2.0 * (c - u), atol=5e-5, rtol=1e-4)
    assert torch.isfinite(out['logits']).all()


def test_t5_conditioner_explains_a_missing_package(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, 'transformers', None)  # import fails as if not installed
    with pytest.raises(ConfigError, match=r'transformers.*pip install -e "\.\[text\]"'):
        T5TextConditioner(embed_dim=8, pretrained_path=str(tmp_path))


def test_t5_conditioner_explains_a_missing_path(tmp_path):
    pytest.importorskip('transformers')
    missing = tmp_path / 'no-t5-here'
    with pytest.raises(ConfigError, match='no-t5-here.*not a directory'):
        T5TextConditioner(embed_dim=8, pretrained_path=str(missing))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ConfigError, match='cannot load a T5'):
        T5TextConditioner(embed_dim=8, pretrained_path=str(tmp_path / 'empty'))


def _save_tiny_t5(path):
    transformers = pytest.importorskip('transformers')
    tokenizers = pytest.importorskip('tokenizers')
    vocab = {'<pad>': 0, '</s>': 1, '<unk>': 2}
    for word in 'digit moving up down left right 0 1 2 3 4 5 6 7 8 9'.split():
        vocab[word] = len(vocab)
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token='<unk>'))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token='<pad>', eos_token='</s>', unk_token='<unk>'
    )
    fast.save_pretrained(path)
    config = transformers.T5Config(
        vocab_size=len(vocab), d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2,
        decoder_start_token_id=0,
    )  # fmt: skip
    torch.manual_seed(0)
    transformers.T5EncoderModel(config).save_pretrained(path)


def test_t5_conditioner_loads_a_local_encoder_frozen_and_outside_the_state_dict(tmp_path):
    _save_tiny_t5(tmp_path / 't5')
    cond = T5TextConditioner(embed_dim=8, pretrained_path=str(tmp_path / 't5'), max_length=6)
    cond.eval()
    out = cond({'caption': ['digit 3 moving up', 'digit 7']}, 2, 'cpu')
    assert out.prefix.shape == (2, 6, 8) and out.pooled.shape == (2, 8)
    assert out.prefix_mask.sum(1).tolist() == [4, 2]
    assert torch.all(out.prefix[~out.prefix_mask] == 0)
    assert all(not p.requires_grad for p in cond.encoder.parameters())
    assert not any(k.startswith('encoder') or 'shared' in k for k in cond.state_dict())
    assert set(cond.state_dict()) >= {'proj.weight', 'pooled_proj.weight', 'null_prefix'}
    # cached features equal a fresh encoding; the projection trains
    again = cond({'caption': ['digit 7']}, 1, 'cpu')
    torch.testing.assert_close(again.prefix[0], out.prefix[1])
    assert len(cond._cache) == 2
    out.prefix.sum().backward()
    assert cond.proj.weight.grad is not None and cond.proj.weight.grad.abs().sum() > 0


def test_videoar_with_a_local_t5_trains_samples_and_reloads(tiny_videoar_config, tmp_path):
    _save_tiny_t5(tmp_path / 't5')
    t5 = dict(type='T5TextConditioner', max_length=6, pretrained_path=str(tmp_path / 't5'))
    cfg = tiny_videoar_config(conditioner=t5)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    latent = torch.randn(2, 4, model.latent_frames, *model.latent_size)
    meta = {'caption': ['digit 3 moving up', 'digit 7'], 'latent': latent}
    loss = model(None, meta, mode='loss')['loss']
    loss.backward()
    assert model.conditioner.proj.weight.grad is not None
    out = sample_video(
        model.eval(), {'caption': meta['caption']}, cfg_scale=2.0, seed=0, decode=False
    )
    assert torch.isfinite(out['latent']).all()
    # the checkpoint holds no T5 weights, and loads strictly into a fresh model
    state = model.state_dict()
    assert not any('encoder.block' in k or 'shared.weight' in k for k in state)
    again = MODELS.build(cfg)
    again.load_state_dict(state, strict=True)
