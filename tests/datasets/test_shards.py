"""WebDataset shards: write, stream with 2 ranks x 2 workers (every sample once per epoch, none
twice, a new order next epoch), decode clips and latents, tools/make_shards.py end to end."""

import os

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from videoar.datasets import ShardDataset, ShardWriter
from videoar.datasets.shards import read_index
from videoar.utils import ConfigError

SAMPLES, PER_SHARD = 40, 5


@pytest.fixture(scope='module')
def shard_dir(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('shards'))
    with ShardWriter(out, samples_per_shard=PER_SHARD) as writer:
        for i in range(SAMPLES):
            frames = np.full((5, 8, 8, 3), i, dtype=np.uint8)
            writer.write(i, label=i % 3, caption=f'clip {i}', frames=frames,
                         latent=torch.full((4, 2, 2, 2), float(i)))  # fmt: skip
    return out


def _indices(shard_dir, rank, epochs=1, **kwargs):
    dataset = ShardDataset(shard_dir, num_frames=5, rank=rank, world_size=2, shuffle_buffer=4,
                           infinite=epochs > 1, **kwargs)  # fmt: skip
    loader = DataLoader(dataset, batch_size=None, num_workers=2)
    seen = []
    for item in loader:
        seen.append(int(item['data_samples']['index']))
        if len(seen) == epochs * SAMPLES // 2:
            break
    return seen


def test_two_ranks_two_workers_see_every_sample_once_per_epoch(shard_dir):
    assert sum(s['num_samples'] for s in read_index(shard_dir)) == SAMPLES
    rank0, rank1 = _indices(shard_dir, 0), _indices(shard_dir, 1)
    assert len(rank0) == len(rank1) == SAMPLES // 2
    assert sorted(rank0 + rank1) == list(range(SAMPLES))  # each exactly once, none twice
    assert rank0 != sorted(rank0)  # shuffled
    # two epochs of an infinite stream: each epoch again covers every sample once, reshuffled
    two = _indices(shard_dir, 0, epochs=2) + _indices(shard_dir, 1, epochs=2)
    assert sorted(two) == sorted(list(range(SAMPLES)) * 2)


def test_items_decode_clips_and_latents(shard_dir):
    item = next(iter(ShardDataset(shard_dir, num_frames=3, height=4, width=4, shuffle=False)))
    index = item['data_samples']['index']
    assert item['inputs'].shape == (3, 3, 4, 4)
    expected = index / 127.5 - 1
    assert torch.allclose(item['inputs'], torch.full_like(item['inputs'], expected), atol=1e-2)
    assert item['data_samples']['label'] == index % 3
    assert item['data_samples']['caption'] == f'clip {index}'
    latent = next(iter(ShardDataset(shard_dir, kind='latent', shuffle=False, num_latent_frames=1)))
    assert latent['data_samples']['latent'].shape == (4, 1, 2, 2)
    assert latent['data_samples']['latent'].flatten()[0] == latent['data_samples']['index']


def test_errors_name_the_fix(tmp_path, shard_dir):
    with pytest.raises(ConfigError, match='make_shards'):
        ShardDataset(str(tmp_path))
    with pytest.raises(ConfigError, match='shard\\(s\\) for 16 ranks'):
        ShardDataset(shard_dir, world_size=16, rank=0)


def test_make_shards_tool_writes_a_config_dataset(tmp_path, repo_root, run_tool):
    out = str(tmp_path / 'digits')
    config = os.path.join(repo_root, 'configs', '_base_', 'datasets', 'moving_digits.py')
    run_tool('tools/make_shards.py', '--config', config, out, '--limit', '6',
             '--samples-per-shard', '4', check=True)  # fmt: skip
    assert [s['num_samples'] for s in read_index(out)] == [4, 2]
    items = list(ShardDataset(out, num_frames=17, shuffle=False))
    assert [i['data_samples']['index'] for i in items] == list(range(6))
    assert items[0]['inputs'].shape == (3, 17, 32, 32)
