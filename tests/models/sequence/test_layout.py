"""SequenceLayout: hand-checked indices of a small layout, slices, caching, validation."""

import pytest
import torch

from videoar.models.sequence import get_layout
from videoar.utils import ConfigError


def test_indices_of_a_small_layout_match_the_hand_written_table():
    # prefix 1 | frame 0: 1x1, 2x2 | frame 1: 1x1, 2x2
    layout = get_layout(2, [(1, 1), (2, 2)], prefix_len=1)
    assert (layout.tokens_per_frame, layout.video_len, layout.total_len) == (5, 10, 11)
    assert layout.prefix_index.tolist() == [0] + [-1] * 10
    assert layout.frame_index.tolist() == [-1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    assert layout.scale_index.tolist() == [-1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1]
    assert layout.block_index.tolist() == [-1, 0, 1, 1, 1, 1, 2, 3, 3, 3, 3]
    cells = [(0, 0), (0, 0), (0, 1), (1, 0), (1, 1)]
    assert layout.spatial_index.tolist() == [[-1, -1]] + [list(c) for c in cells] * 2
    assert layout.token_in_frame_index.tolist() == [-1] + list(range(5)) * 2
    assert layout.is_prefix.tolist() == [True] + [False] * 10
    for tensor in (layout.frame_index, layout.block_index, layout.spatial_index):
        assert tensor.dtype == torch.long and tensor.device.type == 'cpu'


def test_block_slices_cover_exactly_their_block_in_order():
    layout = get_layout(3, [1, (2, 3), 4], prefix_len=4)
    k_count = layout.num_scales
    covered = torch.zeros(layout.total_len, dtype=torch.long)
    previous_stop = layout.prefix_len
    for t in range(layout.num_frames):
        for k in range(k_count):
            sl = layout.block_slice(t, k)
            assert sl.start == previous_stop  # blocks follow each other, frame-major
            previous_stop = sl.stop
            assert sl.stop - sl.start == layout.tokens_per_scale[k]
            assert set(layout.frame_index[sl].tolist()) == {t}
            assert set(layout.scale_index[sl].tolist()) == {k}
            assert set(layout.block_index[sl].tolist()) == {t * k_count + k}
            inner = layout.video_block_slice(t, k)
            assert (inner.start + 4, inner.stop + 4) == (sl.start, sl.stop)
            covered[sl] += 1
        fs = layout.frame_slice(t)
        assert set(layout.frame_index[fs].tolist()) == {t} and fs.stop - fs.start == 1 + 6 + 16
    assert previous_stop == layout.total_len
    assert covered[4:].eq(1).all() and covered[:4].eq(0).all()
    # cells of a (2, 3) block are row-major
    sl = layout.block_slice(1, 1)
    assert layout.spatial_index[sl].tolist() == [[i, j] for i in range(2) for j in range(3)]
    with pytest.raises(IndexError):
        layout.block_slice(3, 0)


def test_get_layout_is_cached_and_normalises_scale_sizes():
    a = get_layout(2, [1, 2, 4], 3)
    b = get_layout(2, [(1, 1), (2, 2), (4, 4)], 3)
    assert a is b and hash(a) == hash(b)
    assert a.scale_sizes == ((1, 1), (2, 2), (4, 4))
    assert get_layout(3, [1, 2, 4], 3) is not a
    assert a.frame_index is a.frame_index  # cached tensors


def test_invalid_layouts_raise_config_errors():
    with pytest.raises(ConfigError, match='num_frames'):
        get_layout(0, [1, 2], 0)
    with pytest.raises(ConfigError, match='prefix_len'):
        get_layout(1, [1, 2], -1)
    with pytest.raises(ConfigError, match='non-decreasing'):
        get_layout(1, [2, 1], 0)
