"""MovingDigits: the embedded, deterministic, class-conditional video dataset.

Videos are rendered on the fly from scikit-learn's bundled 8x8 handwritten digits
(``sklearn.datasets.load_digits``: 1797 real samples that ship inside the package, nothing is
downloaded). Each clip shows one digit (or two) scaled up bilinearly and moving with a constant
velocity along one of 8 compass directions, bouncing off the borders of a dark canvas.

* **Determinism.** Item ``i`` depends only on ``(seed, split, i)``: its parameters come from
  ``numpy.random.default_rng([seed, split_id, i]).random(17)`` (PCG64 seeded by a SeedSequence,
  plain uniform doubles), so it is identical across calls, worker processes and machines. No
  global RNG is touched.
* **Splits.** The 1797 source images are split 70/15/15 into train/val/test by a fixed integer
  hash of the image index (splitmix64), so no source image is shared between splits and the
  split does not depend on the numpy version.
* **Label and caption.** ``label`` is the class (0-9) of the first digit. The caption names the
  digit(s) and the *initial* direction of motion (``'digit 3 moving up-left'``; with two digits
  ``'digits 3 and 7 moving up-left and down'``, the label stays the first digit's class). After a
  bounce the digit moves the other way along that axis, as in Moving MNIST. For ``num_frames=1``
  (images, e.g. stage-1 tokenizer training) the caption is ``'digit 3'``.
* **Rendering.** Sprites of all 1797 digits are upscaled once per process and size (cached), and
  placed at integer positions per frame with one vectorised numpy assignment per digit. Digits
  combine by a per-pixel maximum. Values are in ``[-1, 1]`` (background ``-1``); each digit gets a
  light colour tint (``tint=0`` gives grey).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from videoar.registry import DATASETS
from videoar.utils.validation import ConfigError, check_choice, check_positive

SPLITS = ('train', 'val', 'test')
DEFAULT_LENGTHS = dict(train=10000, val=256, test=256)
SPLIT_FRACTIONS = (0.70, 0.15, 0.15)
CLASSES = tuple(str(c) for c in range(10))

# (row step, column step): rows grow downwards, so 'up' is -1
DIRECTIONS = {
    'up': (-1, 0),
    'down': (1, 0),
    'left': (0, -1),
    'right': (0, 1),
    'up-left': (-1, -1),
    'up-right': (-1, 1),
    'down-left': (1, -1),
    'down-right': (1, 1),
}
DIRECTION_NAMES = tuple(DIRECTIONS)

_NUM_UNIFORMS = 17  # 1 for the two-digit coin + 8 per digit
_SOURCE_CACHE: dict[str, np.ndarray] = {}
_SPRITE_CACHE: dict[int, np.ndarray] = {}


def load_source_digits() -> tuple[np.ndarray, np.ndarray]:
    """The bundled digits: images ``(1797, 8, 8)`` float32 in ``[0, 1]`` and targets ``(1797,)``."""
    if not _SOURCE_CACHE:
        from sklearn.datasets import load_digits  # deferred: 0.9 s of import time

        digits = load_digits()
        _SOURCE_CACHE['images'] = (digits.images / 16.0).astype(np.float32)
        _SOURCE_CACHE['targets'] = digits.target.astype(np.int64)
    return _SOURCE_CACHE['images'], _SOURCE_CACHE['targets']


def digit_sprites(size: int) -> np.ndarray:
    """All source digits upscaled bilinearly to ``(1797, size, size)`` float32 in ``[0, 1]``.

    Computed once per process and size.
    """
    sprites = _SPRITE_CACHE.get(size)
    if sprites is None:
        images, _ = load_source_digits()
        with torch.no_grad():
            up = torch.nn.functional.interpolate(
                torch.from_numpy(images)[:, None], size=(size, size), mode='bilinear',
                align_corners=False,
            )  # fmt: skip
        sprites = np.ascontiguousarray(up[:, 0].clamp_(0, 1).numpy())
        _SPRITE_CACHE[size] = sprites
    return sprites


def _unit_hash(values: np.ndarray) -> np.ndarray:
    """splitmix64 of non-negative ints -> floats in ``[0, 1)`` (platform and version independent)."""
    z = values.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(2**53)


def split_sources(split: str) -> np.ndarray:
    """Indices (into ``load_digits()``) of the source images of ``split``, sorted."""
    check_choice(split, SPLITS, 'split')
    images, _ = load_source_digits()
    u = _unit_hash(np.arange(len(images)))
    edges = np.cumsum(SPLIT_FRACTIONS)
    split_of = np.searchsorted(edges, u, side='right')
    return np.flatnonzero(split_of == SPLITS.index(split))


def _bounce(path: np.ndarray, limit: float) -> np.ndarray:
    """Fold an unbounded coordinate into ``[0, limit]`` (reflections at both ends)."""
    if limit <= 0:
        return np.zeros_like(path)
    folded = np.mod(path, 2.0 * limit)
    return np.where(folded > limit, 2.0 * limit - folded, folded)


@DATASETS.register_module()
class MovingDigits(Dataset):
    """Bouncing handwritten digits, rendered deterministically (see the module docstring).

    Args:
        split: ``'train'``, ``'val'`` or ``'test'`` (disjoint source digits).
        length: number of items; default 10000 / 256 / 256 for train / val / test.
        num_frames: ``F`` frames per clip (``1 + T``; 1 gives still images).
        height, width: canvas size ``H x W``.
        num_digits: 1 or 2 (at most this many digits per clip).
        two_digit_prob: with ``num_digits=2``, the probability that a clip shows two digits
            (default 1.0: always two).
        digit_size: sprite side as a fraction of ``min(H, W)`` (default 0.5).
        speed_range: ``(low, high)`` speed in canvas sides per frame (default 0.04-0.1, i.e.
            1.3-3.2 pixels per frame on 32 px).
        tint: strength of the random colour tint per digit (0 = grey, at most 1).
        seed: item ``i`` depends only on ``(seed, split, i)``.

    Item: ``dict(inputs=float32 (3, F, H, W) in [-1, 1], data_samples=dict(label, caption,
    index))``.
    """

    def __init__(
        self,
        split: str = 'train',
        length: int | None = None,
        num_frames: int = 17,
        height: int = 32,
        width: int = 32,
        num_digits: int = 1,
        two_digit_prob: float | None = None,
        digit_size: float = 0.5,
        speed_range: tuple[float, float] = (0.04, 0.1),
        tint: float = 0.3,
        seed: int = 0,
    ):
        check_choice(split, SPLITS, 'MovingDigits split')
        length = DEFAULT_LENGTHS[split] if length is None else length
        for value, name in ((length, 'length'), (num_frames, 'num_frames')):
            if not isinstance(value, (int, np.integer)):
                raise ConfigError(f'MovingDigits {name} must be an int, got {value!r}.')
            check_positive(value, f'MovingDigits {name}')
        check_positive(height, 'MovingDigits height')
        check_positive(width, 'MovingDigits width')
        check_choice(num_digits, (1, 2), 'MovingDigits num_digits')
        if two_digit_prob is None:
            two_digit_prob = 1.0 if num_digits == 2 else 0.0
        elif num_digits == 1:
            raise ConfigError(
                'MovingDigits: two_digit_prob needs num_digits=2 (it is the probability of the '
                f'second digit), got num_digits=1 and two_digit_prob={two_digit_prob}.'
            )
        if not 0.0 <= two_digit_prob <= 1.0:
            raise ConfigError(
                f'MovingDigits two_digit_prob must be in [0, 1], got {two_digit_prob}.'
            )
        if not 0.0 < digit_size <= 1.0:
            raise ConfigError(f'MovingDigits digit_size must be in (0, 1], got {digit_size}.')
        sprite_size = int(round(min(height, width) * digit_size))
        if sprite_size < 2:
            raise ConfigError(
                f'MovingDigits: digit_size={digit_size} on a {height}x{width} canvas gives '
                f'{sprite_size}px digits; use a larger canvas or digit_size (>= 2px).'
            )
        if len(speed_range) != 2 or not 0.0 <= speed_range[0] <= speed_range[1]:
            raise ConfigError(
                f'MovingDigits speed_range must be (low, high) with 0 <= low <= high, '
                f'got {speed_range!r}.'
            )
        if not 0.0 <= tint <= 1.0:
            raise ConfigError(f'MovingDigits tint must be in [0, 1], got {tint}.')
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ConfigError(f'MovingDigits seed must be a non-negative int, got {seed!r}.')

        self.split = split
        self.split_id = SPLITS.index(split)
        self.length = int(length)
        self.num_frames = int(num_frames)
        self.height = int(height)
        self.width = int(width)
        self.num_digits = num_digits
        self.two_digit_prob = float(two_digit_prob)
        self.digit_size = float(digit_size)
        self.sprite_size = sprite_size
        self.speed_range = (float(speed_range[0]), float(speed_range[1]))
        self.tint = float(tint)
        self.seed = int(seed)
        self.sources = split_sources(split)
        _, self._targets = load_source_digits()
        self._sprites = digit_sprites(sprite_size)  # built before DataLoader workers fork
        self._frame_ids = np.arange(self.num_frames)
        self._offsets = np.arange(sprite_size)

    @property
    def metainfo(self) -> dict:
        return dict(
            classes=CLASSES,
            dataset='MovingDigits',
            split=self.split,
            num_frames=self.num_frames,
            height=self.height,
            width=self.width,
        )

    def __len__(self) -> int:
        return self.length

    def _check_index(self, index: int) -> int:
        index = int(index)
        if index < 0:
            index += self.length
        if not 0 <= index < self.length:
            raise IndexError(f'MovingDigits index {index} out of range [0, {self.length}).')
        return index

    def describe(self, index: int) -> dict:
        """The parameters item ``index`` is rendered from.

        Returns a dict with ``label``, ``caption``, ``num_digits``, ``sources`` (indices into
        ``load_digits()``), ``classes`` (digit classes), ``directions`` (names),
        ``velocities`` ``(n, 2)`` (rows, cols) pixels per frame, ``starts`` ``(n, 2)`` float
        top-left at frame 0 (the unbounced path is ``starts + velocities * t``), ``positions``
        ``(n, F, 2)`` integer top-left (row, col) per frame (bounced, rounded),
        ``sprite_size``, ``colors`` ``(n, 3)``.
        """
        index = self._check_index(index)
        u = np.random.default_rng([self.seed, self.split_id, index]).random(_NUM_UNIFORMS)
        count = 2 if u[0] < self.two_digit_prob else 1
        size = self.sprite_size
        limits = np.array([self.height - size, self.width - size], np.float64)
        extent = np.array([self.height, self.width], np.float64)
        t = self._frame_ids.astype(np.float64)[:, None]
        sources, classes, names, velocities, starts, positions, colors = [], [], [], [], [], [], []
        for d in range(count):
            v = u[1 + 8 * d : 9 + 8 * d]
            source = int(self.sources[min(int(v[0] * len(self.sources)), len(self.sources) - 1)])
            name = DIRECTION_NAMES[min(int(v[1] * 8), 7)]
            step = np.array(DIRECTIONS[name], np.float64)
            speed = self.speed_range[0] + v[2] * (self.speed_range[1] - self.speed_range[0])
            velocity = speed * extent * step / np.linalg.norm(step)
            start = v[3:5] * limits
            path = np.stack(
                [_bounce(start[a] + velocity[a] * t[:, 0], limits[a]) for a in range(2)], -1
            )
            sources.append(source)
            classes.append(int(self._targets[source]))
            names.append(name)
            velocities.append(velocity)
            starts.append(start)
            positions.append(np.rint(path).astype(np.int64))
            colors.append(1.0 - self.tint * v[5:8])
        return dict(
            index=index,
            label=classes[0],
            caption=self._caption(classes, names),
            num_digits=count,
            sources=sources,
            classes=classes,
            directions=names,
            velocities=np.stack(velocities),
            starts=np.stack(starts),
            positions=np.stack(positions),
            sprite_size=size,
            colors=np.stack(colors).astype(np.float32),
        )

    def _caption(self, classes: list[int], names: list[str]) -> str:
        if len(classes) == 1:
            text = f'digit {classes[0]}'
        else:
            text = f'digits {classes[0]} and {classes[1]}'
        if self.num_frames == 1:
            return text
        if len(names) == 2 and names[0] == names[1]:
            return f'{text} moving {names[0]}'
        return f'{text} moving {" and ".join(names)}'

    def render(self, params: dict) -> np.ndarray:
        """Render :meth:`describe`'s parameters: float32 ``(3, F, H, W)`` in ``[-1, 1]``."""
        # one (3, F, H, W) allocation, then an in-place max on each digit's (3, s, s) window per
        # frame (max commutes with the affine map [0, 1] -> [-1, 1]); big temporaries are avoided
        # on purpose: at 64x64 their page faults cost more than the drawing
        video = np.full((3, self.num_frames, self.height, self.width), -1.0, np.float32)
        size = self.sprite_size
        for d in range(params['num_digits']):
            sprite = self._sprites[params['sources'][d]]
            colored = sprite[None] * (2.0 * params['colors'][d])[:, None, None] - 1.0  # (3, s, s)
            for frame, (row, col) in enumerate(params['positions'][d].tolist()):
                window = video[:, frame, row : row + size, col : col + size]
                np.maximum(window, colored, out=window)
        return video

    def __getitem__(self, index: int) -> dict:
        params = self.describe(index)
        video = torch.from_numpy(self.render(params))
        meta = dict(label=params['label'], caption=params['caption'], index=params['index'])
        return dict(inputs=video, data_samples=meta)

    def __repr__(self) -> str:
        return (
            f'MovingDigits(split={self.split!r}, length={self.length}, '
            f'shape=(3, {self.num_frames}, {self.height}, {self.width}), '
            f'num_digits={self.num_digits}, two_digit_prob={self.two_digit_prob}, '
            f'sources={len(self.sources)}, seed={self.seed})'
        )
