"""MovingDigits: deterministic, consistent with its labels and captions, disjoint splits."""

import hashlib
import subprocess
import sys

import numpy as np
import pytest
import torch

from videoar.datasets import MovingDigits, digit_sprites, load_source_digits, split_sources
from videoar.datasets.moving_digits import DIRECTIONS
from videoar.registry import DATASETS
from videoar.utils.validation import ConfigError

HASH_CODE = (
    'import hashlib\n'
    'from videoar.datasets import MovingDigits\n'
    "ds = MovingDigits(split='val', num_digits=2, two_digit_prob=0.5, seed=3)\n"
    'h = hashlib.sha256()\n'
    'for i in range(12):\n'
    '    item = ds[i]\n'
    "    h.update(item['inputs'].numpy().tobytes())\n"
    "    h.update(repr(sorted(item['data_samples'].items())).encode())\n"
    'print(h.hexdigest())\n'
)


def items_hash(dataset, count=12) -> str:
    digest = hashlib.sha256()
    for i in range(count):
        item = dataset[i]
        digest.update(item['inputs'].numpy().tobytes())
        digest.update(repr(sorted(item['data_samples'].items())).encode())
    return digest.hexdigest()


def centre_of_mass(video: torch.Tensor) -> np.ndarray:
    """(3, F, H, W) in [-1, 1] -> (F, 2) intensity-weighted (row, col)."""
    mass = ((video + 1) / 2).sum(0).numpy().astype(np.float64)  # (F, H, W)
    rows = np.arange(mass.shape[1])[None, :, None]
    cols = np.arange(mass.shape[2])[None, None, :]
    total = mass.sum((1, 2))
    return np.stack([(mass * rows).sum((1, 2)) / total, (mass * cols).sum((1, 2)) / total], -1)


def test_items_are_identical_across_calls_instances_and_processes(subprocess_env):
    dataset = MovingDigits(split='val', num_digits=2, two_digit_prob=0.5, seed=3)
    first = dataset[7]
    again = dataset[7]
    assert torch.equal(first['inputs'], again['inputs'])
    assert first['data_samples'] == again['data_samples']
    expected = items_hash(dataset)
    assert (
        items_hash(MovingDigits(split='val', num_digits=2, two_digit_prob=0.5, seed=3)) == expected
    )
    # consuming the global RNGs changes nothing
    np.random.seed(123)
    torch.manual_seed(123)
    np.random.rand(10)
    assert items_hash(dataset) == expected
    out = subprocess.run(
        [sys.executable, '-c', HASH_CODE], capture_output=True, text=True, env=subprocess_env,
        check=True, timeout=120,
    )  # fmt: skip
    assert out.stdout.strip().splitlines()[-1] == expected
    # and the seed, the split and the index all matter
    assert (
        items_hash(MovingDigits(split='val', num_digits=2, two_digit_prob=0.5, seed=4)) != expected
    )
    assert (
        items_hash(MovingDigits(split='test', num_digits=2, two_digit_prob=0.5, seed=3)) != expected
    )
    assert not torch.equal(dataset[7]['inputs'], dataset[8]['inputs'])


def test_shapes_range_and_item_format():
    dataset = MovingDigits(split='train', length=40)
    assert len(dataset) == 40
    assert MovingDigits(split='train').__len__() == 10000
    assert len(MovingDigits(split='val')) == 256 == len(MovingDigits(split='test'))
    item = dataset[0]
    video, meta = item['inputs'], item['data_samples']
    assert video.shape == (3, 17, 32, 32) and video.dtype == torch.float32
    assert video.min().item() == -1.0  # dark background
    assert video.max().item() <= 1.0 and video.max().item() > 0.2  # a visible digit
    assert set(meta) == {'label', 'caption', 'index'} and meta['index'] == 0
    assert isinstance(meta['label'], int) and 0 <= meta['label'] <= 9
    assert torch.equal(dataset[-1]['inputs'], dataset[39]['inputs'])
    with pytest.raises(IndexError):
        dataset[40]
    # other sizes and the still-image path for stage-1 training
    wide = MovingDigits(num_frames=9, height=24, width=40, length=4)[1]['inputs']
    assert wide.shape == (3, 9, 24, 40)
    image_set = MovingDigits(num_frames=1, length=4)
    image = image_set[2]
    assert image['inputs'].shape == (3, 1, 32, 32)
    assert image['data_samples']['caption'] == f'digit {image["data_samples"]["label"]}'
    assert dataset.metainfo['classes'] == tuple(str(c) for c in range(10))
    # grey when tint=0: the three channels are equal
    grey = MovingDigits(tint=0.0, length=2)[0]['inputs']
    assert torch.equal(grey[0], grey[1]) and torch.equal(grey[1], grey[2])
    built = DATASETS.build(dict(type='MovingDigits', split='test', length=3))
    assert torch.equal(built[2]['inputs'], MovingDigits(split='test', length=3)[2]['inputs'])


def test_rendering_matches_label_source_digit_and_trajectory():
    dataset = MovingDigits(split='train', length=80, height=40, width=40)
    _, targets = load_source_digits()
    sprites = digit_sprites(dataset.sprite_size)
    size = dataset.sprite_size
    checked_directions = 0
    for i in range(len(dataset)):
        params = dataset.describe(i)
        item = dataset[i]
        video, meta = item['inputs'], item['data_samples']
        source = params['sources'][0]
        # the label is the target of the source image that was drawn
        assert meta['label'] == int(targets[source]) == params['label']
        direction = params['directions'][0]
        assert meta['caption'] == f'digit {meta["label"]} moving {direction}'
        # every frame shows exactly that sprite, tinted, at the described position
        for t in (0, 8, 16):
            row, col = params['positions'][0, t]
            window = video[:, t, row : row + size, col : col + size]
            expected = torch.from_numpy(sprites[source] * 2 - 1)[None] * 1.0
            colour = torch.from_numpy(params['colors'][0])[:, None, None]
            assert torch.allclose(window, (expected + 1) * colour - 1, atol=1e-5)
            outside = video[:, t].clone()
            outside[:, row : row + size, col : col + size] = -1
            assert outside.max().item() == -1.0
        # the rendered centre of mass follows the described path rigidly
        com = centre_of_mass(video)
        offset = com - params['positions'][0]
        assert np.abs(offset - offset[0]).max() < 1e-3
        # the caption's direction is the rendered motion until the first bounce
        limit = 40 - size
        free = params['starts'][0] + params['velocities'][0] * np.arange(17)[:, None]
        hits = np.flatnonzero(((free < 0) | (free > limit)).any(1))
        until = (hits[0] if len(hits) else 17) - 1  # last frame before the first bounce
        if until >= 3:
            step = np.sign(np.round(com[until] - com[0], 6))
            assert tuple(step.astype(int)) == DIRECTIONS[direction], (i, direction, com[:until])
            checked_directions += 1
    assert checked_directions >= 30
    # all 8 directions and all 10 classes occur
    params = [dataset.describe(i) for i in range(len(dataset))]
    assert len({p['directions'][0] for p in params}) == 8
    assert len({p['label'] for p in params}) == 10


def test_two_digits_overlay_and_caption():
    dataset = MovingDigits(split='train', num_digits=2, two_digit_prob=0.5, length=40)
    counts = [dataset.describe(i)['num_digits'] for i in range(40)]
    assert 1 in counts and 2 in counts
    i = counts.index(2)
    params = dataset.describe(i)
    a, b = params['classes']
    names = params['directions']
    caption = dataset[i]['data_samples']['caption']
    motion = names[0] if names[0] == names[1] else f'{names[0]} and {names[1]}'
    assert caption == f'digits {a} and {b} moving {motion}'
    assert dataset[i]['data_samples']['label'] == a  # the first digit's class
    # the clip is the per-pixel maximum of the two digits drawn alone
    layers = []
    for d in range(2):
        alone = dict(params, num_digits=1, sources=params['sources'][d:d + 1],
                     positions=params['positions'][d:d + 1], colors=params['colors'][d:d + 1])  # fmt: skip
        layers.append(torch.from_numpy(dataset.render(alone)))
    assert torch.equal(dataset[i]['inputs'], torch.maximum(*layers))
    assert not torch.equal(layers[0], layers[1])
    always = MovingDigits(num_digits=2, length=10)
    assert all(always.describe(j)['num_digits'] == 2 for j in range(10))


def test_splits_use_disjoint_source_digits():
    images, targets = load_source_digits()
    parts = {split: set(split_sources(split).tolist()) for split in ('train', 'val', 'test')}
    assert not parts['train'] & parts['val']
    assert not parts['train'] & parts['test']
    assert not parts['val'] & parts['test']
    assert set().union(*parts.values()) == set(range(len(images))) and len(images) == 1797
    for split, fraction in (('train', 0.70), ('val', 0.15), ('test', 0.15)):
        assert abs(len(parts[split]) / 1797 - fraction) < 0.03
        assert set(targets[sorted(parts[split])].tolist()) == set(range(10))
    # the items of a split only ever draw its own sources
    for split in ('train', 'val', 'test'):
        dataset = MovingDigits(split=split, num_digits=2, length=150)
        used = {s for i in range(len(dataset)) for s in dataset.describe(i)['sources']}
        assert used <= parts[split]
        assert len(used) > 60


def test_bad_arguments_are_explained():
    with pytest.raises(ConfigError, match='num_digits must be one of'):
        MovingDigits(num_digits=3)
    with pytest.raises(ConfigError, match='two_digit_prob needs num_digits=2'):
        MovingDigits(two_digit_prob=0.3)
    with pytest.raises(ConfigError, match="split must be one of.*'train'"):
        MovingDigits(split='training')
    with pytest.raises(ConfigError, match='digit_size'):
        MovingDigits(height=8, width=8, digit_size=0.1)
    with pytest.raises(ConfigError, match='num_frames must be positive'):
        MovingDigits(num_frames=0)
