"""Positional encodings: the paper's worked example, rotary invariants, slices, learned tables."""

import pytest
import torch
import torch.nn.functional as F

from videoar.models.pos_encodings import (
    LearnedAbsolutePE,
    MultiScaleTemporalRoPE,
    RoPE2D,
    RoPE3D,
    apply_rotary,
    default_axis_split,
)
from videoar.models.sequence import get_layout
from videoar.registry import POS_ENCODINGS
from videoar.utils import ConfigError

DEFAULTS = dict(
    dim=32, head_dim=16, scale_sizes=[(1, 1), (2, 2), (4, 4)], max_frames=4, max_prefix_len=6
)


def test_multiscale_temporal_rope_positions_match_the_worked_example():
    rope = MultiScaleTemporalRoPE(**DEFAULTS)
    layout = get_layout(2, [(1, 1), (2, 2)], prefix_len=5)
    pos = rope.positions(layout)
    assert pos.shape == (layout.total_len, 3) and pos.dtype == torch.long
    assert pos[:5].tolist() == [[i, i, i] for i in range(5)]  # text on the diagonal
    assert pos[layout.block_slice(0, 0)].tolist() == [[5, 5, 5]]
    assert pos[layout.block_slice(0, 1)].tolist() == [[5, 5, 5], [5, 5, 6], [5, 6, 5], [5, 6, 6]]
    assert pos[layout.block_slice(1, 0)].tolist() == [[6, 5, 5]]
    assert pos[layout.block_slice(1, 1)].tolist() == [[6, 5, 5], [6, 5, 6], [6, 6, 5], [6, 6, 6]]


def test_normalised_positions_place_coarse_tokens_on_the_final_grid():
    layout = get_layout(2, [(1, 1), (2, 2), (4, 4)], prefix_len=2)
    rope = MultiScaleTemporalRoPE(**DEFAULTS, normalize_to_final=True)
    pos = rope.positions(layout)
    # scale (2, 2) of a (4, 4) final grid: h, w = round(i * 4 / 2) + P
    expected = [[3, 2, 2], [3, 2, 4], [3, 4, 2], [3, 4, 4]]
    assert pos[layout.block_slice(1, 1)].tolist() == expected
    final = [[i + 2, j + 2] for i in range(4) for j in range(4)]
    assert pos[layout.block_slice(1, 2)][:, 1:].tolist() == final
    # RoPE2D: (h, w) only, 1-D prefix, normalised by default
    pos2d = RoPE2D(**DEFAULTS).positions(layout)
    assert pos2d.shape == (layout.total_len, 2)
    assert pos2d[:2].tolist() == [[0, 0], [1, 1]]
    assert pos2d[layout.block_slice(0, 1)].tolist() == [[2, 2], [2, 4], [4, 2], [4, 4]]
    # RoPE3D: position-free prefix (identity rotation) and unshifted video positions
    rope3d = RoPE3D(**DEFAULTS)
    pos3d = rope3d.positions(layout)
    assert pos3d[:2].eq(0).all()
    assert pos3d[layout.block_slice(1, 1)].tolist() == [[1, 0, 0], [1, 0, 2], [1, 2, 0], [1, 2, 2]]
    cos, sin = rope3d.rotary(layout, 0, 2)
    assert cos.eq(1).all() and sin.eq(0).all()


def test_default_axis_split_gives_the_remainder_to_time():
    assert default_axis_split(8, 3) == (4, 2, 2)
    assert default_axis_split(9, 3) == (3, 3, 3)
    assert MultiScaleTemporalRoPE(head_dim=64).axis_split == (12, 10, 10)
    assert RoPE2D(head_dim=16).axis_split == (4, 4)
    assert MultiScaleTemporalRoPE(head_dim=16, axis_split=(2, 3, 3)).axis_split == (2, 3, 3)
    with pytest.raises(ConfigError, match='axis_split'):
        MultiScaleTemporalRoPE(head_dim=16, axis_split=(2, 2, 2))
    with pytest.raises(ConfigError, match='even'):
        RoPE3D(head_dim=15)


@pytest.mark.parametrize('cls', [RoPE2D, RoPE3D, MultiScaleTemporalRoPE])
def test_rotary_preserves_norms_and_keeps_the_dtype(cls):
    rope = cls(**DEFAULTS)
    layout = get_layout(3, DEFAULTS['scale_sizes'], prefix_len=4)
    cos, sin = rope.rotary(layout)
    assert cos.shape == (layout.total_len, 16) and cos.dtype == torch.float32
    x = torch.randn(2, 3, layout.total_len, 16)
    rotated = apply_rotary(x, cos, sin)
    torch.testing.assert_close(rotated.norm(dim=-1), x.norm(dim=-1))
    assert not torch.allclose(rotated[:, :, 5:], x[:, :, 5:])
    assert apply_rotary(x.bfloat16(), cos, sin).dtype == torch.bfloat16


def test_rotary_dot_products_depend_only_on_the_position_difference_per_axis():
    rope = MultiScaleTemporalRoPE(head_dim=24, scale_sizes=[1, 2, 4])
    layout = get_layout(3, [1, 2, 4], prefix_len=2)
    pos = rope.positions(layout)
    cos, sin = rope.rotary(layout)
    torch.manual_seed(0)
    q, k = torch.randn(1, 1, 1, 24), torch.randn(1, 1, 1, 24)

    def score(i, j, qv=q, kv=k):
        qi = apply_rotary(qv, cos[i : i + 1], sin[i : i + 1])
        kj = apply_rotary(kv, cos[j : j + 1], sin[j : j + 1])
        return (qi * kj).sum().item()

    def token(t, k_scale, h, w):
        sl = layout.block_slice(t, k_scale)
        return sl.start + h * 4 + w if k_scale == 2 else sl.start + h * 2 + w

    # the same (dt, dh, dw) = (1, 1, -1) at different places, across scales and frames
    pairs = [
        (token(1, 2, 1, 2), token(0, 2, 0, 3)),
        (token(2, 2, 3, 1), token(1, 2, 2, 2)),
        (token(2, 1, 1, 0), token(1, 2, 0, 1)),
    ]
    diffs = {tuple((pos[i] - pos[j]).tolist()) for i, j in pairs}
    assert diffs == {(1, 1, -1)}
    scores = [score(i, j) for i, j in pairs]
    assert max(scores) - min(scores) < 1e-4
    other = score(token(1, 2, 1, 2), token(0, 2, 0, 0))  # difference (1, 1, 2)
    assert abs(other - scores[0]) > 1e-3
    # per axis: with q, k living on the time channels only, h and w offsets do not matter
    t_pairs = rope.axis_split[0]
    only_t = torch.zeros(1, 1, 1, 24)
    only_t[..., :t_pairs] = 1.0
    only_t[..., 12 : 12 + t_pairs] = 0.5
    s1 = score(token(1, 2, 0, 0), token(0, 2, 3, 3), only_t, only_t)
    s2 = score(token(1, 2, 2, 1), token(0, 2, 0, 2), only_t, only_t)
    s3 = score(token(2, 2, 2, 1), token(0, 2, 0, 2), only_t, only_t)
    assert abs(s1 - s2) < 1e-4 and abs(s1 - s3) > 1e-3


@pytest.mark.parametrize(
    'name', sorted(n for n in POS_ENCODINGS.module_dict if not n.startswith('_'))
)
def test_every_registered_encoding_returns_consistent_slices(name):
    torch.manual_seed(0)
    pe = POS_ENCODINGS.build(dict(type=name), default_args=DEFAULTS)
    layout = get_layout(3, DEFAULTS['scale_sizes'], prefix_len=4)
    emb, rot = pe.embedding(layout), pe.rotary(layout)
    assert emb is not None or rot is not None
    for start, end in [(0, 4), (0, 9), (2, 7), (4, 25), (30, layout.total_len), (10, 10)]:
        if emb is not None:
            assert emb.shape == (layout.total_len, DEFAULTS['dim'])
            torch.testing.assert_close(pe.embedding(layout, start, end), emb[start:end])
        if rot is not None:
            cos, sin = pe.rotary(layout, start, end)
            assert cos.shape == (end - start, DEFAULTS['head_dim'])
            torch.testing.assert_close(cos, rot[0][start:end])
            torch.testing.assert_close(sin, rot[1][start:end])
    with pytest.raises(IndexError):
        (pe.embedding if emb is not None else pe.rotary)(layout, 0, layout.total_len + 1)


def test_rotary_tables_are_cached_per_layout():
    rope = MultiScaleTemporalRoPE(**DEFAULTS)
    layout = get_layout(2, DEFAULTS['scale_sizes'], prefix_len=3)
    first = rope.rotary(layout)[0]
    assert rope.rotary(layout, 3, 8)[0].data_ptr() == first[3:8].data_ptr()


def test_learned_pe_adds_scale_frame_and_prefix_tables():
    pe = LearnedAbsolutePE(**DEFAULTS)
    layout = get_layout(3, DEFAULTS['scale_sizes'], prefix_len=4)
    emb = pe.embedding(layout)
    torch.testing.assert_close(emb[:4], pe.prefix_pos[:4])
    token = layout.block_slice(2, 1).start + 3  # frame 2, scale 1, cell (1, 1)
    torch.testing.assert_close(emb[token], pe.scale_pos[1 + 3] + pe.frame_pos[2])
    emb.sum().backward()
    assert pe.scale_pos.grad.abs().sum() > 0 and pe.frame_pos.grad[3].eq(0).all()
    with pytest.raises(ConfigError, match='max_frames'):
        pe.embedding(get_layout(5, DEFAULTS['scale_sizes'], 0))
    with pytest.raises(ConfigError, match='scale_sizes'):
        pe.embedding(get_layout(1, [1, 3], 0))
    # a layout over the first scales only is fine (training on fewer scales)
    assert pe.embedding(get_layout(1, [1, 2], 0)).shape == (5, 32)


def test_learned_pe_loads_a_checkpoint_of_another_schedule_by_resizing():
    old = LearnedAbsolutePE(dim=4, scale_sizes=[1, 2], max_frames=2, max_prefix_len=1)
    with torch.no_grad():
        old.scale_pos.copy_(torch.arange(20, dtype=torch.float32).view(5, 4))
    new = LearnedAbsolutePE(dim=4, scale_sizes=[1, 2, 4], max_frames=3, max_prefix_len=1)
    new.load_state_dict(old.state_dict())
    assert new.table_scale_sizes.tolist() == [[1, 1], [2, 2], [4, 4]]
    old_grid = old.scale_pos[1:5].T.reshape(1, 4, 2, 2)
    expected = F.interpolate(old_grid, size=(4, 4), mode='bilinear', align_corners=False)
    torch.testing.assert_close(new.scale_pos[5:21], expected[0].reshape(4, 16).T)
    # relative size 1/4 and 1/2 of the new schedule both map to the old 1x1 scale
    torch.testing.assert_close(new.scale_pos[0], old.scale_pos[0])
    torch.testing.assert_close(new.scale_pos[1:5], old.scale_pos[0].expand(4, 4))
    torch.testing.assert_close(new.frame_pos[:2], old.frame_pos)
    torch.testing.assert_close(new.frame_pos[2], old.frame_pos[1])  # grown by repetition
    # in-place resizing does the same and the same schedule is the identity
    clone = LearnedAbsolutePE(dim=4, scale_sizes=[1, 2], max_frames=2, max_prefix_len=1)
    clone.load_state_dict(old.state_dict())
    clone.resize_tables(scale_sizes=[1, 2, 4], max_frames=3)
    torch.testing.assert_close(clone.scale_pos, new.scale_pos)
    same = LearnedAbsolutePE(dim=4, scale_sizes=[1, 2], max_frames=2, max_prefix_len=1)
    same.load_state_dict(old.state_dict())
    torch.testing.assert_close(same.scale_pos, old.scale_pos)
