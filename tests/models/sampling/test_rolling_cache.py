"""Rolling KV cache: equal to full forwards over the same window (positions re-rotated)."""

import pytest
import torch

from videoar.models.maskings import SlidingWindowMask
from videoar.models.pos_encodings import apply_rotary
from videoar.models.sampling import RollingWindow, relative_rotation, rolling, sample_video
from videoar.models.sequence import inputs_from_labels
from videoar.utils import ConfigError

LABELS = {'label': torch.tensor([4, 7])}
WINDOW = 3
NUM_FRAMES = 1 + 4 * 6  # 7 latent frames, the window rolls four times


def _randomise(model, seed=0):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.startswith('head.') or 'modulation' in name:
                param.copy_(torch.randn(param.shape, generator=gen) * 0.3)
            elif name.endswith(('attn.qkv.weight', 'attn.proj.weight')):
                param.mul_(10.0)  # sharp attention, so that positions change the logits
    return model.eval()


def test_relative_rotation_moves_keys_between_positions():
    gen = torch.Generator().manual_seed(0)
    keys = torch.randn(2, 3, 5, 8, generator=gen)
    angles = torch.randn(5, 4, generator=gen).double()
    shift = torch.randn(1, 4, generator=gen).double()

    def tables(theta):
        theta = torch.cat([theta, theta], dim=-1)
        return theta.cos().float(), theta.sin().float()

    old, new = tables(angles), tables(angles - shift)
    moved = apply_rotary(apply_rotary(keys, *old), *relative_rotation(new, old))
    torch.testing.assert_close(moved, apply_rotary(keys, *new), atol=1e-6, rtol=1e-5)


def test_window_at_least_the_video_is_the_plain_sampler(tiny_videoar):
    model = _randomise(tiny_videoar())
    plain = sample_video(model, LABELS, seed=2, return_logits=True, decode=False)
    rolled = sample_video(model, LABELS, seed=2, return_logits=True, decode=False, window=3)
    assert torch.equal(plain['labels'], rolled['labels'])
    torch.testing.assert_close(plain['logits'], rolled['logits'])


@pytest.mark.parametrize('depth', [1, 3])
def test_rolling_cache_equals_a_sliding_window_full_forward_without_prefix(
    tiny_videoar, depth, monkeypatch
):
    """No prefix (AdaLN): with relative time positions, a rolled window is exactly the full
    forward over the whole video with a sliding-window mask of W - 1 earlier frames."""
    model = _randomise(tiny_videoar(transformer=dict(cond_mode='adaln', depth=depth), max_frames=7))
    assert model.layout(WINDOW).prefix_len == 0
    out = sample_video(model, LABELS, num_frames=NUM_FRAMES, seed=0, return_logits=True,
                       decode=False, window=WINDOW)  # fmt: skip
    assert out['latent'].shape[2] == 7
    cond = model.conditioner(LABELS, 2, 'cpu')
    model.masking = SlidingWindowMask(window=WINDOW - 1)
    full = model.forward_logits(labels=out['labels'], condition=cond)
    torch.testing.assert_close(out['logits'], full, atol=5e-5, rtol=1e-4)
    # without the re-rotation the kept keys sit one frame off after each roll: not equal
    monkeypatch.setattr(
        rolling,
        'relative_rotation',
        lambda new, old: (torch.ones_like(new[0]), torch.zeros_like(new[1])),
    )
    unrotated = sample_video(model, LABELS, num_frames=NUM_FRAMES, seed=0, return_logits=True,
                             decode=False, window=WINDOW)  # fmt: skip
    tokens = WINDOW * model.layout(WINDOW).tokens_per_frame  # the cache first rolls at frame W
    assert torch.equal(unrotated['labels'][:, :tokens], out['labels'][:, :tokens])
    assert not torch.allclose(unrotated['logits'], out['logits'], atol=1e-2)


def test_rolled_frame_equals_a_fresh_window_forward_with_the_prefix(tiny_videoar):
    """With the class prefix (depth 1, where cached keys/values depend on their tokens only):
    the logits of every frame past the window equal one full forward over [prefix | the last W
    frames] at the positions of a fresh window (the window's first block keeps its input)."""
    model = _randomise(tiny_videoar(transformer=dict(depth=1)))
    layout = model.layout(WINDOW)
    assert layout.prefix_len == 1
    out = sample_video(model, LABELS, num_frames=NUM_FRAMES, seed=1, return_logits=True,
                       decode=False, window=WINDOW)  # fmt: skip
    cond = model.conditioner(LABELS, 2, 'cpu')
    inputs, _ = inputs_from_labels(model.quantizer, out['labels'], 7)
    tpf, prefix = layout.tokens_per_frame, layout.prefix_len
    for t in range(WINDOW, 7):
        window_inputs = inputs[:, (t - WINDOW + 1) * tpf : (t + 1) * tpf]
        with torch.no_grad():
            x = model.embed_video(window_inputs, cond, layout, prefix)
            first = layout.block_slice(0, 0)
            x[:, : first.stop - prefix] -= (cond.pooled + model.start_token)[:, None]
            x = torch.cat([model.embed_prefix(cond, layout), x], dim=1)
            hidden = model.forward_blocks(x, cond, layout)
            logits = model.head(hidden[:, prefix + (WINDOW - 1) * tpf :])
        expected = out['logits'][:, t * tpf : (t + 1) * tpf]
        torch.testing.assert_close(logits, expected, atol=5e-5, rtol=1e-4)


def test_rolling_continuation_and_learned_pe_refusal(tiny_videoar):
    model = _randomise(tiny_videoar())
    first = sample_video(model, LABELS, seed=0, decode=False)
    prefix = first['labels'][:, : 2 * 9]  # two given latent frames (1 + 2 + 6 tokens each)
    out = sample_video(model, LABELS, num_frames=NUM_FRAMES, seed=0, decode=False, window=WINDOW,
                       prefix_labels=prefix)  # fmt: skip
    assert torch.equal(out['labels'][:, : prefix.shape[1]], prefix)
    assert out['latent'].shape[2] == 7 and torch.isfinite(out['latent']).all()
    learned = tiny_videoar(pos_encoding=dict(type='LearnedAbsolutePE'))
    with pytest.raises(ConfigError, match='rolling KV cache'):
        RollingWindow(learned, WINDOW)
