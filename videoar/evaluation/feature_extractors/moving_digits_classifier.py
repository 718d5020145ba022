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
from .moving_digits_net import DEFAULT_NET, MovingDigitsNet, augment_clips

#: bump when the architecture or the training recipe changes (part of the cache key)
ARCH_VERSION = 3


#: the default training schedule (CPU, well under a minute on an idle 2-core machine)
DEFAULT_TRAINING = dict(iters=300, batch_size=32, lr=3e-3, noise=0.08, blur_prob=0.15, affine=1.0)


def _schedule(**recipe) -> dict:
    """The given (not ``None``) entries of a training recipe."""
    return {key: value for key, value in recipe.items() if value is not None}


def _full_settings(**settings) -> dict:
    """Network settings and training recipe with the defaults filled in (the cache key's input)."""
    unknown = sorted(set(settings) - set(DEFAULT_NET) - set(DEFAULT_TRAINING))
    if unknown:
        raise TypeError(
            f"unknown MovingDigitsClassifier settings {unknown}; the settings are the network's "
            f"{sorted(DEFAULT_NET)} and the training recipe's {sorted(DEFAULT_TRAINING)}."
        )
    return {**DEFAULT_NET, **DEFAULT_TRAINING, **settings}


@FEATURE_EXTRACTORS.register_module()
class MovingDigitsClassifier(MovingDigitsNet):
    """Video classifier of MovingDigits; ``forward`` gives features, ``logits`` the classes.

    Args:
        pretrained: load trained weights: ``weights`` if given, else the cached classifier for
            these settings, trained on first use (``get_or_train_moving_digits_classifier``).
            ``False`` gives a randomly initialised network (for training).
        weights: a state-dict file (loaded with ``weights_only=True``).
        cache_dir: cache directory (default ``<cache root>/moving_digits_classifier``).
        train_iters, train_batch_size, train_lr, train_noise, train_blur_prob, train_affine: the
            training recipe when it has to be trained (``None``: :data:`DEFAULT_TRAINING`); part
            of the cache key.
        **net_args: the network settings of :class:`MovingDigitsNet` (``num_frames``,
            ``img_size``, ``num_digits``, ``input_size``, ``frame_step``, ``width``,
            ``feature_dim``, ``seed``; defaults :data:`DEFAULT_NET`); part of the cache key.
    """

    def __init__(
        self,
        *,
        pretrained: bool = True,
        weights: str | None = None,
        cache_dir: str | None = None,
        train_iters: int | None = None,
        train_batch_size: int | None = None,
        train_lr: float | None = None,
        train_noise: float | None = None,
        train_blur_prob: float | None = None,
        train_affine: float | None = None,
        **net_args,
    ) -> None:
        super().__init__(**net_args)
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
                    **self.settings(),
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
def _dataset(split: str, settings: dict, length: int) -> MovingDigits:
    return MovingDigits(
        split=split,
        length=length,
        num_frames=settings['num_frames'],
        height=settings['img_size'],
        width=settings['img_size'],
        num_digits=settings['num_digits'],
        seed=settings['seed'],
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
    *,
    val_length: int = 256,
    device: str = 'cpu',
    log=None,
    num_threads: int | None = 1,
    **settings,
) -> MovingDigitsClassifier:
    """Train a classifier on the MovingDigits train split (deterministic given the settings).

    ``settings`` are the network settings (:data:`DEFAULT_NET`) and the training recipe
    (``iters``, ``batch_size``, ``lr``, ``noise``, ``blur_prob``, ``affine``:
    :data:`DEFAULT_TRAINING`); missing ones take these defaults.

    Returns the model in eval mode; ``model.meta`` holds ``val_accuracy`` (on ``val_length``
    clips of the disjoint val split), ``train_seconds`` and the settings.

    ``num_threads`` (default 1; ``None`` keeps the current setting) sets torch's CPU threads
    during training and is restored afterwards: the network is tiny, and on a busy 2-core
    machine one thread measured 0.04 s/iteration against 1.3 s with two (OpenMP spin-waiting).
    The result does not depend on it.
    """
    settings = _full_settings(**settings)
    previous_threads = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    try:
        return _train(settings, val_length, device, log)
    finally:
        torch.set_num_threads(previous_threads)


def _train(settings: dict, val_length: int, device, log) -> MovingDigitsClassifier:
    recipe = {name: settings[name] for name in DEFAULT_TRAINING}
    iters, batch_size, lr = recipe['iters'], recipe['batch_size'], recipe['lr']
    generator = torch.Generator().manual_seed(settings['seed'])
    torch_state = torch.random.get_rng_state()
    torch.manual_seed(settings['seed'])  # deterministic init; the global RNG is restored below
    net_args = {name: settings[name] for name in DEFAULT_NET}
    model = MovingDigitsClassifier(pretrained=False, **net_args).to(device)
    torch.random.set_rng_state(torch_state)
    train = _dataset('train', settings, iters * batch_size)
    val = _dataset('val', settings, val_length)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=iters, eta_min=lr * 0.02
    )
    order = torch.randperm(len(train), generator=generator)
    start_time = time.perf_counter()
    model.train()
    for it in range(iters):
        videos, labels = _batch(train, order[it * batch_size : (it + 1) * batch_size])
        clips = augment_clips(
            model.preprocess(videos), generator, recipe['noise'], recipe['blur_prob'],
            recipe['affine'],
        )  # fmt: skip
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
        **recipe,
        arch_version=ARCH_VERSION,
        **model.settings(),
    )
    return model.cpu()


def classifier_cache_key(**settings) -> str:
    """A short hash of every setting that changes the trained weights."""
    blob = json.dumps(dict(settings, arch_version=ARCH_VERSION), sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def get_or_train_moving_digits_classifier(
    cache_dir: str | None = None, device: str = 'cpu', verbose: bool = True, **settings
) -> MovingDigitsClassifier:
    """The cached classifier for these settings; trained (once) and cached if absent.

    ``settings``: the network settings and the training recipe of
    :func:`train_moving_digits_classifier` (missing ones take their defaults); all of them form
    the cache key. Files: ``<cache_dir>/<key>.pt`` (state dict, loaded with
    ``weights_only=True``) and ``<key>.json`` (settings, val accuracy, training time).
    ``cache_dir`` defaults to ``<$VIDEOAR_CACHE_DIR or ~/.cache/videoar>/moving_digits_classifier``.
    """
    settings = _full_settings(**settings)
    cache_dir = osp.expanduser(
        cache_dir or osp.join(default_cache_root(), 'moving_digits_classifier')
    )
    key = classifier_cache_key(**settings)
    weights_path = osp.join(cache_dir, f'{key}.pt')
    meta_path = osp.join(cache_dir, f'{key}.json')
    if osp.isfile(weights_path) and osp.isfile(meta_path):
        net_args = {name: settings[name] for name in DEFAULT_NET}
        model = MovingDigitsClassifier(pretrained=False, **net_args)
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
            f'[MovingDigitsClassifier] training once for {settings["num_frames"]}x'
            f'{settings["img_size"]}x{settings["img_size"]} ({settings["iters"]} iterations on '
            f'CPU); cached at {weights_path}'
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
