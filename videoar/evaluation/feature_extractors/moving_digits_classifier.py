"""A small 3D-conv video classifier of the embedded MovingDigits dataset (the demo's judge).

It answers "do the generated videos show the digit they were conditioned on?" (class accuracy)
and gives features for a Fréchet classifier distance (FCD) between generated and real clips.
It is trained once, on CPU in well under a minute, on the real MovingDigits *training* split and
cached under ``<$VIDEOAR_CACHE_DIR or ~/.cache/videoar>/moving_digits_classifier/``, keyed by
every setting that changes the weights (clip size, digits, seed, schedule, architecture version).

The network, its preprocessing and the training augmentation are in
:mod:`videoar.evaluation.feature_extractors.moving_digits_net`; this module holds the registered
feature extractor (trained weights, fingerprint), the training run and its cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import os.path as osp
import time

import torch
import torch.nn.functional as F
from mmengine.logging import print_log

from videoar.datasets import MovingDigits
from videoar.io.records import state_dict_sha256
from videoar.registry import FEATURE_EXTRACTORS

from .i3d_weights import default_cache_root
from .moving_digits_net import MovingDigitsNet, augment_clips

#: bump when the architecture or the training recipe changes (part of the cache key)
ARCH_VERSION = 3


#: the default training schedule (CPU, well under a minute on an idle 2-core machine)
DEFAULT_TRAINING = dict(iters=300, batch_size=32, lr=3e-3, noise=0.08, blur_prob=0.15, affine=1.0)


def _schedule(**recipe) -> dict:
    """The given (not ``None``) entries of a training recipe."""
    return {key: value for key, value in recipe.items() if value is not None}


@FEATURE_EXTRACTORS.register_module()
class MovingDigitsClassifier(MovingDigitsNet):
    """Video classifier of MovingDigits; ``forward`` gives features, ``logits`` the classes.

    Args:
        num_frames, img_size: the clip settings it is trained at (frames ``F``, side ``S``).
            Any input size works (frames are resized to ``input_size``; any ``F >= 1``).
        input_size: the side frames are resized to before the network (area / bilinear).
        frame_step: every ``frame_step``-th frame is used (the first one included).
        num_digits: digits per training clip (1 or 2; the label is the first digit's class).
        width: channels of the first block (doubled in the second, quadrupled in the third).
        feature_dim: channels of the last block = size of the features (global max pooled).
        pretrained: load trained weights: ``weights`` if given, else the cached classifier for
            these settings, trained on first use (``get_or_train_moving_digits_classifier``).
            ``False`` gives a randomly initialised network (for training).
        weights: a state-dict file (loaded with ``weights_only=True``).
        cache_dir: cache directory (default ``<cache root>/moving_digits_classifier``).
        seed: dataset and initialisation seed of the training run.
        train_iters, train_batch_size, train_lr, train_noise, train_blur_prob, train_affine: the
            training recipe when it has to be trained (``None``: :data:`DEFAULT_TRAINING`); part
            of the cache key.
    """

    def __init__(
        self,
        num_frames: int = 17,
        img_size: int = 32,
        num_digits: int = 1,
        input_size: int = 16,
        frame_step: int = 4,
        width: int = 16,
        feature_dim: int = 64,
        pretrained: bool = True,
        weights: str | None = None,
        cache_dir: str | None = None,
        seed: int = 0,
        train_iters: int | None = None,
        train_batch_size: int | None = None,
        train_lr: float | None = None,
        train_noise: float | None = None,
        train_blur_prob: float | None = None,
        train_affine: float | None = None,
    ) -> None:
        super().__init__(
            num_frames, img_size, num_digits, input_size, frame_step, width, feature_dim, seed
        )
        self.meta: dict = {}
        self.weights_sha256 = 'random-init'
        if pretrained:
            if weights is not None:
                state = torch.load(weights, map_location='cpu', weights_only=True)
                self.load_state_dict(state)
                self.weights_sha256 = state_dict_sha256(self.state_dict())
                self.meta = dict(weights=osp.abspath(weights))
            else:
                trained = get_or_train_moving_digits_classifier(
                    cache_dir=cache_dir,
                    num_frames=num_frames,
                    img_size=img_size,
                    num_digits=num_digits,
                    input_size=input_size,
                    frame_step=frame_step,
                    width=width,
                    feature_dim=feature_dim,
                    seed=seed,
                    **_schedule(
                        iters=train_iters,
                        batch_size=train_batch_size,
                        lr=train_lr,
                        noise=train_noise,
                        blur_prob=train_blur_prob,
                        affine=train_affine,
                    ),
                )
                self.load_state_dict(trained.state_dict())
                self.weights_sha256 = trained.weights_sha256
                self.meta = dict(trained.meta)
            self.eval()

    def fingerprint(self) -> dict:
        return dict(
            name='MovingDigitsClassifier',
            weights_sha256=self.weights_sha256,
            feature=f'penultimate layer ({self.feature_dim})',
            num_frames=self.num_frames,
            resolution=self.img_size,
            input_size=self.input_size,
            frame_step=self.frame_step,
            num_digits=self.num_digits,
            arch_version=ARCH_VERSION,
            val_accuracy=self.meta.get('val_accuracy'),
        )


# ---- training and cache ---------------------------------------------------------------------------
def _dataset(split, num_frames, img_size, num_digits, seed, length):
    return MovingDigits(
        split=split,
        length=length,
        num_frames=num_frames,
        height=img_size,
        width=img_size,
        num_digits=num_digits,
        seed=seed,
    )


def _batch(dataset, indices) -> tuple[torch.Tensor, torch.Tensor]:
    items = [dataset[int(i)] for i in indices]
    videos = torch.stack([it['inputs'] for it in items])
    labels = torch.tensor([it['data_samples']['label'] for it in items], dtype=torch.long)
    return videos, labels


@torch.no_grad()
def evaluate_classifier(
    model: MovingDigitsClassifier, dataset, batch_size: int = 64, device='cpu'
) -> float:
    """Accuracy of ``model`` on every item of ``dataset`` (in order)."""
    model.eval()
    correct = 0
    for start in range(0, len(dataset), batch_size):
        videos, labels = _batch(dataset, range(start, min(start + batch_size, len(dataset))))
        correct += int((model.classify(videos.to(device)).cpu() == labels).sum())
    return correct / len(dataset)


def train_moving_digits_classifier(
    num_frames: int = 17,
    img_size: int = 32,
    num_digits: int = 1,
    input_size: int = 16,
    frame_step: int = 4,
    width: int = 16,
    feature_dim: int = 64,
    seed: int = 0,
    iters: int = DEFAULT_TRAINING['iters'],
    batch_size: int = DEFAULT_TRAINING['batch_size'],
    lr: float = DEFAULT_TRAINING['lr'],
    noise: float = DEFAULT_TRAINING['noise'],
    blur_prob: float = DEFAULT_TRAINING['blur_prob'],
    affine: float = DEFAULT_TRAINING['affine'],
    val_length: int = 256,
    device: str = 'cpu',
    log=None,
    num_threads: int | None = 1,
) -> MovingDigitsClassifier:
    """Train a classifier on the MovingDigits train split (deterministic given the settings).

    Returns the model in eval mode; ``model.meta`` holds ``val_accuracy`` (on ``val_length``
    clips of the disjoint val split), ``train_seconds`` and the settings.

    ``num_threads`` (default 1; ``None`` keeps the current setting) sets torch's CPU threads
    during training and is restored afterwards: the network is tiny, and on a busy 2-core
    machine one thread measured 0.04 s/iteration against 1.3 s with two (OpenMP spin-waiting).
    The result does not depend on it.
    """
    previous_threads = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    try:
        return _train(
            num_frames, img_size, num_digits, input_size, frame_step, width, feature_dim, seed,
            iters, batch_size, lr, noise, blur_prob, affine, val_length, device, log,
        )  # fmt: skip
    finally:
        torch.set_num_threads(previous_threads)


def _train(
    num_frames, img_size, num_digits, input_size, frame_step, width, feature_dim, seed, iters,
    batch_size, lr, noise, blur_prob, affine, val_length, device, log,
) -> MovingDigitsClassifier:  # fmt: skip
    generator = torch.Generator().manual_seed(seed)
    torch_state = torch.random.get_rng_state()
    torch.manual_seed(seed)  # deterministic init; the global RNG is restored below
    model = MovingDigitsClassifier(
        num_frames, img_size, num_digits, input_size, frame_step, width, feature_dim,
        pretrained=False, seed=seed,
    ).to(device)  # fmt: skip
    torch.random.set_rng_state(torch_state)
    train = _dataset('train', num_frames, img_size, num_digits, seed, iters * batch_size)
    val = _dataset('val', num_frames, img_size, num_digits, seed, val_length)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=iters, eta_min=lr * 0.02
    )
    order = torch.randperm(len(train), generator=generator)
    start_time = time.perf_counter()
    model.train()
    for it in range(iters):
        videos, labels = _batch(train, order[it * batch_size : (it + 1) * batch_size])
        clips = augment_clips(model.preprocess(videos), generator, noise, blur_prob, affine)
        clips = clips.to(device)
        loss = F.cross_entropy(model.head(model.embed(clips)), labels.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        if log is not None and (it + 1) % 50 == 0:
            log(f'[MovingDigitsClassifier] iter {it + 1}/{iters} loss {loss.item():.4f}')
    train_seconds = time.perf_counter() - start_time
    model.eval()
    accuracy = evaluate_classifier(model, val, device=device)
    model.weights_sha256 = state_dict_sha256(model.state_dict())
    model.meta = dict(
        val_accuracy=accuracy,
        val_length=val_length,
        train_seconds=train_seconds,
        iters=iters,
        batch_size=batch_size,
        lr=lr,
        noise=noise,
        blur_prob=blur_prob,
        affine=affine,
        arch_version=ARCH_VERSION,
        **model.settings(),
    )
    return model.cpu()


def classifier_cache_key(**settings) -> str:
    """A short hash of every setting that changes the trained weights."""
    blob = json.dumps(dict(settings, arch_version=ARCH_VERSION), sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def get_or_train_moving_digits_classifier(
    cache_dir: str | None = None,
    num_frames: int = 17,
    img_size: int = 32,
    num_digits: int = 1,
    input_size: int = 16,
    frame_step: int = 4,
    width: int = 16,
    feature_dim: int = 64,
    seed: int = 0,
    iters: int = DEFAULT_TRAINING['iters'],
    batch_size: int = DEFAULT_TRAINING['batch_size'],
    lr: float = DEFAULT_TRAINING['lr'],
    noise: float = DEFAULT_TRAINING['noise'],
    blur_prob: float = DEFAULT_TRAINING['blur_prob'],
    affine: float = DEFAULT_TRAINING['affine'],
    device: str = 'cpu',
    verbose: bool = True,
) -> MovingDigitsClassifier:
    """The cached classifier for these settings; trained (once) and cached if absent.

    Files: ``<cache_dir>/<key>.pt`` (state dict, loaded with ``weights_only=True``) and
    ``<key>.json`` (settings, val accuracy, training time). ``cache_dir`` defaults to
    ``<$VIDEOAR_CACHE_DIR or ~/.cache/videoar>/moving_digits_classifier``.
    """
    settings = dict(
        num_frames=num_frames, img_size=img_size, num_digits=num_digits, input_size=input_size,
        frame_step=frame_step, width=width, feature_dim=feature_dim, seed=seed, iters=iters,
        batch_size=batch_size, lr=lr, noise=noise, blur_prob=blur_prob, affine=affine,
    )  # fmt: skip
    cache_dir = osp.expanduser(
        cache_dir or osp.join(default_cache_root(), 'moving_digits_classifier')
    )
    key = classifier_cache_key(**settings)
    weights_path = osp.join(cache_dir, f'{key}.pt')
    meta_path = osp.join(cache_dir, f'{key}.json')
    if osp.isfile(weights_path) and osp.isfile(meta_path):
        model = MovingDigitsClassifier(
            num_frames, img_size, num_digits, input_size, frame_step, width, feature_dim,
            pretrained=False, seed=seed,
        )  # fmt: skip
        model.load_state_dict(torch.load(weights_path, map_location='cpu', weights_only=True))
        with open(meta_path) as f:
            model.meta = json.load(f)
        model.weights_sha256 = state_dict_sha256(model.state_dict())
        if model.meta.get('weights_sha256') not in (None, model.weights_sha256):
            raise ValueError(
                f'cached classifier {weights_path} does not match its metadata; delete it.'
            )
        return model.eval()

    log = None
    if verbose:

        def log(msg):
            print_log(msg, logger='current', level=logging.INFO)

        log(
            f'[MovingDigitsClassifier] training once for {num_frames}x{img_size}x{img_size} '
            f'({iters} iterations on CPU); cached at {weights_path}'
        )
    model = train_moving_digits_classifier(**settings, device=device, log=log)
    model.meta['weights_sha256'] = model.weights_sha256
    os.makedirs(cache_dir, exist_ok=True)
    pid = os.getpid()
    torch.save(model.state_dict(), f'{weights_path}.{pid}.tmp')
    os.replace(f'{weights_path}.{pid}.tmp', weights_path)
    with open(f'{meta_path}.{pid}.tmp', 'w') as f:
        json.dump(model.meta, f, indent=2)
    os.replace(f'{meta_path}.{pid}.tmp', meta_path)
    if log is not None:
        log(
            f'[MovingDigitsClassifier] val accuracy {model.meta["val_accuracy"]:.3f} after '
            f'{model.meta["train_seconds"]:.1f} s'
        )
    return model


__all__ = [
    'MovingDigitsClassifier',
    'get_or_train_moving_digits_classifier',
    'train_moving_digits_classifier',
    'evaluate_classifier',
    'classifier_cache_key',
]
