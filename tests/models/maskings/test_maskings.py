"""Attention masks: hand-checked block-causal semantics, windows, the random frame mask."""

import pytest
import torch

from videoar.models.maskings import (
    BlockCausalMask,
    RandomFrameMask,
    SlidingWindowMask,
    block_causal_mask,
)
from videoar.models.sequence import get_layout
from videoar.registry import MASKINGS
from videoar.utils import ConfigError

# prefix 2 | frame 0: (1x1) (1x2) | frame 1: (1x1) (1x2)  -> L = 8
#             positions:   p0 p1 | a  b b | c  d d
EXPECTED = [
    # p0 p1 a  b  b  c  d  d
    [1, 0, 0, 0, 0, 0, 0, 0],  # p0: causal prefix, no video
    [1, 1, 0, 0, 0, 0, 0, 0],  # p1
    [1, 1, 1, 0, 0, 0, 0, 0],  # a  = (0, 0)
    [1, 1, 1, 1, 1, 0, 0, 0],  # b  = (0, 1): own coarser scale + own block
    [1, 1, 1, 1, 1, 0, 0, 0],
    [1, 1, 1, 1, 1, 1, 0, 0],  # c  = (1, 0): all of frame 0
    [1, 1, 1, 1, 1, 1, 1, 1],  # d  = (1, 1)
    [1, 1, 1, 1, 1, 1, 1, 1],
]


def tiny_layout():
    return get_layout(2, [(1, 1), (1, 2)], prefix_len=2)


def test_block_causal_mask_matches_the_hand_checked_table():
    mask = BlockCausalMask()(tiny_layout(), batch_size=3, training=True)
    assert mask.shape == (1, 8, 8) and mask.dtype == torch.bool
    assert mask[0].long().tolist() == EXPECTED
    bidirectional = BlockCausalMask(prefix_causal=False)(tiny_layout(), 1, False)
    assert bidirectional[0, 0, :2].tolist() == [True, True]
    assert bidirectional[0, 0, 2:].eq(False).all()


def test_block_causal_mask_hides_every_future_block_on_a_bigger_layout():
    layout = get_layout(3, [1, 2, 3], prefix_len=3)
    mask = block_causal_mask(layout)
    f, k = layout.frame_index, layout.scale_index
    for i in range(layout.total_len):
        for j in range(layout.total_len):
            if i < 3:
                expected = j <= i
            elif j < 3:
                expected = True
            else:
                expected = bool(f[j] < f[i] or (f[j] == f[i] and k[j] <= k[i]))
            assert bool(mask[i, j]) == expected, (i, j)


def test_sliding_window_limits_earlier_frames():
    layout = get_layout(4, [1, 2], prefix_len=1)
    f = layout.frame_index
    for window in (0, 1, 2):
        mask = SlidingWindowMask(window)(layout, 2, True)[0]
        full = block_causal_mask(layout)
        video = ~layout.is_prefix
        gap = f[:, None] - f[None, :]
        pair = video[:, None] & video[None, :]
        assert torch.equal(
            mask[pair & (gap > window)], torch.zeros_like(mask[pair & (gap > window)])
        )
        assert torch.equal(mask[~(pair & (gap > window))], full[~(pair & (gap > window))])


def test_random_frame_mask_keeps_prefix_and_coarser_scales_and_drops_at_the_rate():
    layout = get_layout(5, [1, 2], prefix_len=2)
    drop = 0.3
    masking = RandomFrameMask(drop_prob=drop)
    batch = 200
    mask = masking(layout, batch, True, generator=torch.Generator().manual_seed(0))
    assert mask.shape == (batch, layout.total_len, layout.total_len)
    base = block_causal_mask(layout)
    assert not (mask & ~base).any()  # never shows anything block-causal hides
    f = layout.frame_index
    video = ~layout.is_prefix
    same_frame = video[:, None] & video[None, :] & (f[:, None] == f[None, :])
    always = (base & ~(video[:, None] & video[None, :])) | (base & same_frame)
    assert mask[:, always].all()  # prefix and own coarser scales always visible
    # frame-level decisions: one representative token per frame (its scale-0 token)
    first = torch.tensor([layout.block_slice(t, 0).start for t in range(5)])
    frame_mask = mask[:, first][:, :, first]  # (B, T, T)
    earlier = torch.tril(torch.ones(5, 5, dtype=torch.bool), diagonal=-1)
    kept = frame_mask[:, earlier].float()
    assert abs(1 - kept.mean().item() - drop) < 0.03  # 2000 Bernoulli draws, std 0.01
    # all blocks of an earlier frame are dropped together, for every query token of a frame
    for t in range(5):
        for s in range(t):
            block = mask[:, layout.frame_slice(t)][:, :, layout.frame_slice(s)]
            assert (block == block[:, :1, :1]).all()
    # decisions differ between samples and between query frames
    assert not (frame_mask == frame_mask[:1]).all()
    assert (frame_mask[:, 3, 1] != frame_mask[:, 4, 1]).any()


def test_random_frame_mask_respects_the_window_and_is_deterministic_in_eval():
    layout = get_layout(5, [1, 2], prefix_len=1)
    masking = RandomFrameMask(drop_prob=0.5, window=2)
    train = masking(layout, 50, True, generator=torch.Generator().manual_seed(0))
    window = SlidingWindowMask(2)(layout, 1, False)
    assert not (train & ~window).any()  # frames outside the window never visible
    assert torch.equal(masking(layout, 50, False), window)
    assert torch.equal(RandomFrameMask(0.4)(layout, 4, False), BlockCausalMask()(layout, 4, False))
    again = masking(layout, 50, True, generator=torch.Generator().manual_seed(0))
    assert torch.equal(train, again)


def test_static_masks_are_cached_per_layout():
    masking = BlockCausalMask()
    layout = tiny_layout()
    assert masking(layout, 1, True) is masking(layout, 4, False)
    other = masking(get_layout(3, [(1, 1), (1, 2)], prefix_len=2), 1, True)
    assert other.shape == (1, 11, 11)


def test_invalid_masking_configs_raise():
    with pytest.raises(ConfigError, match='window'):
        SlidingWindowMask(-1)
    with pytest.raises(ConfigError, match='drop_prob'):
        RandomFrameMask(drop_prob=1.5)


REQUIRED_ARGS = {'SlidingWindowMask': dict(window=1)}
NAMES = sorted(n for n in MASKINGS.module_dict if not n.startswith('_'))


@pytest.mark.parametrize('name', NAMES)
def test_every_registered_masking_fulfils_the_contract(name):
    masking = MASKINGS.build(dict(type=name, **REQUIRED_ARGS.get(name, {})))
    layout = get_layout(3, [1, 2], prefix_len=2)
    base = block_causal_mask(layout)
    for training in (True, False):
        mask = masking(layout, 4, training, generator=torch.Generator().manual_seed(0))
        assert mask.dtype == torch.bool and mask.dim() == 3 and mask.shape[0] in (1, 4)
        assert mask.shape[1:] == (layout.total_len, layout.total_len)
        assert not (mask & ~base).any()  # causal: never shows a later block
        assert mask.diagonal(dim1=1, dim2=2).all()  # every token sees itself
        assert mask[:, 2:, :2].all()  # video sees the prefix
