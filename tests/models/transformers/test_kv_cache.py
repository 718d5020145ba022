"""KVCache: append, reset, truncate, select (window rebuild), overflow errors."""

import pytest
import torch

from videoar.models.transformers import KVCache


def _kv(batch, heads, length, head_dim, offset):
    k = torch.arange(length, dtype=torch.float32).add(offset).view(1, 1, length, 1)
    k = k.expand(batch, heads, length, head_dim).clone()
    return k, -k


def test_write_returns_all_cached_keys_and_advance_moves_the_pointer():
    cache = KVCache(num_layers=2, batch_size=2, num_heads=3, max_len=8, head_dim=4)
    for layer in range(2):
        k_all, v_all = cache.write(layer, *_kv(2, 3, 3, 4, 0))
        assert k_all.shape == (2, 3, 3, 4)
    cache.advance(3)
    assert len(cache) == 3
    k_all, v_all = cache.write(0, *_kv(2, 3, 2, 4, 3))
    assert k_all[0, 0, :, 0].tolist() == [0, 1, 2, 3, 4]
    torch.testing.assert_close(v_all, -k_all)


def test_truncate_reset_and_select_keep_the_right_positions():
    cache = KVCache(1, 1, 1, 10, 2)
    cache.write(0, *_kv(1, 1, 6, 2, 0))
    cache.advance(6)
    cache.select(torch.tensor([0, 4, 5]))  # e.g. keep the prefix and the last frame
    assert cache.length == 3
    k_all, _ = cache.write(0, *_kv(1, 1, 1, 2, 100))
    assert k_all[0, 0, :, 0].tolist() == [0, 4, 5, 100]
    cache.truncate(2)
    assert cache.length == 2
    with pytest.raises(ValueError):
        cache.truncate(5)
    with pytest.raises(ValueError):
        cache.select(torch.tensor([7]))
    cache.reset()
    assert cache.length == 0


def test_overflow_and_batch_mismatch_raise():
    cache = KVCache(1, 2, 1, 4, 2)
    with pytest.raises(RuntimeError, match='overflow'):
        cache.write(0, *_kv(2, 1, 5, 2, 0))
    with pytest.raises(RuntimeError, match='batch'):
        cache.write(0, *_kv(3, 1, 1, 2, 0))
