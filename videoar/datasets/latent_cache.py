"""``LatentCacheDataset``: tokenizer latents of a dataset, computed once and stored on disk.

The AR stages train on a frozen tokenizer's latents. Encoding every clip at every step costs
more than the transformer step on small models, so the clips are encoded once (continuous
latents *before* quantization, so cross-frame error correction can still re-quantize them with
its own flips) and stored in ``cache_dir`` as ``latents_<fingerprint>.pt``.

The fingerprint is a sha256 over: the tokenizer checkpoint file's sha256 (or, without a
checkpoint, of the initial weights), the tokenizer config, the wrapped dataset's config, the
clip shape ``(F, H, W)``, ``num_items`` and the storage dtype. A matching file is reused (the log
says so); anything else is re-encoded into a new file. Random augmentations of the wrapped
dataset are frozen at encoding time (one draw per clip).

Items: ``dict(inputs=torch.zeros(0), data_samples=dict(label, caption, index, latent))`` with
``latent`` float ``(d, T', h, w)``; collated into ``VideoBatch.latent``, which the VideoAR model
reads instead of encoding the video.
"""

from __future__ import annotations

import hashlib
import json
import os
import os.path as osp
from collections.abc import Mapping

import torch
from mmengine.config import Config
from mmengine.dist import barrier, get_rank
from mmengine.logging import print_log
from mmengine.utils import ProgressBar
from torch.utils.data import Dataset

from videoar.io.checkpoint import load_state_dict, resolve_checkpoint
from videoar.io.records import file_sha256, state_dict_sha256, to_jsonable
from videoar.registry import DATASETS, TOKENIZERS
from videoar.utils import ConfigError, check_choice, check_known_keys, check_positive

CACHE_VERSION = 1
DEFAULT_CACHE_DIR = osp.join('work_dirs', 'latent_cache')


def resolve_tokenizer_cfg(tokenizer, checkpoint: str | None) -> tuple[dict, str | None]:
    """Normalise the accepted tokenizer forms to ``(TOKENIZERS config, checkpoint path)``.

    * ``dict(config='configs/tokenizer/x.py', checkpoint=PATH)``: the tokenizer of that config's
      ``model`` (a ``VideoTokenizer``);
    * a ``TOKENIZERS`` config, e.g. ``dict(type='CausalVideoTokenizer', ...)``;
    * a model config holding a ``tokenizer`` entry (``VideoTokenizer``, ``VideoAR``).

    A ``checkpoint`` key inside the dict and the ``checkpoint`` argument are the same thing.
    """
    if not isinstance(tokenizer, Mapping):
        raise ConfigError(
            'LatentCacheDataset.tokenizer must be a dict: dict(config=..., checkpoint=...) or a '
            f'tokenizer config dict(type=...); got {tokenizer!r}.'
        )
    cfg = dict(tokenizer)
    inner_ckpt = cfg.pop('checkpoint', None)
    if inner_ckpt is not None and checkpoint is not None and inner_ckpt != checkpoint:
        raise ConfigError(
            f'LatentCacheDataset: two tokenizer checkpoints given ({inner_ckpt!r} in tokenizer, '
            f'{checkpoint!r} as checkpoint); give one.'
        )
    checkpoint = checkpoint if checkpoint is not None else inner_ckpt
    if 'config' in cfg:
        check_known_keys(cfg, ('config',), 'LatentCacheDataset.tokenizer')
        path = cfg['config']
        if not osp.isfile(path):
            raise ConfigError(f'LatentCacheDataset: tokenizer config {path!r} does not exist.')
        model = Config.fromfile(path).get('model')
        if model is None:
            raise ConfigError(f'LatentCacheDataset: {path!r} has no model = dict(...).')
        cfg = dict(model)
    if 'type' not in cfg:
        raise ConfigError(
            'LatentCacheDataset.tokenizer needs a type (e.g. CausalVideoTokenizer) or '
            f'config=PATH; got keys {sorted(cfg)}.'
        )
    registered = isinstance(cfg['type'], str) and cfg['type'] in TOKENIZERS.module_dict
    if not registered and 'tokenizer' in cfg:
        cfg = dict(cfg['tokenizer'])
    return to_jsonable(cfg), checkpoint


def load_tokenizer_weights(tokenizer: torch.nn.Module, checkpoint: str) -> None:
    """Load the ``tokenizer.`` weights of a ``VideoTokenizer`` checkpoint (or a bare state dict)
    strictly into ``tokenizer``."""
    state = load_state_dict(checkpoint)
    sub = {k[len('tokenizer.') :]: v for k, v in state.items() if k.startswith('tokenizer.')}
    try:
        tokenizer.load_state_dict(sub or state, strict=True)
    except RuntimeError as err:
        raise RuntimeError(
            f'{checkpoint!r}: the tokenizer weights do not fit the configured '
            f'{type(tokenizer).__name__} (use the config it was trained with). {err}'
        ) from err


@DATASETS.register_module()
class LatentCacheDataset(Dataset):
    """A dataset's clips as frozen-tokenizer latents, encoded once and cached on disk.

    Args:
        dataset: config of the wrapped pixel dataset (``DATASETS``; items as in
            ``docs/interfaces.md``). A built dataset also works, but then only its class name,
            length and clip shape enter the fingerprint.
        tokenizer: ``dict(config=PATH, checkpoint=PATH)``, or a ``TOKENIZERS`` config (or a
            model config with a ``tokenizer`` entry) with ``checkpoint``.
        checkpoint: the tokenizer checkpoint (a ``VideoTokenizer`` training checkpoint): a file,
            the tokenizer run's work directory, or ``dict(work_dir=..., command=...)``.
        cache_dir: where the cache files live (default ``work_dirs/latent_cache``).
        num_items: cache only the first ``num_items`` clips (default: all).
        batch_size: clips per encoder forward.
        device: encoding device (default: CUDA when available, else CPU).
        dtype: storage dtype, ``'float32'`` (exact) or ``'bfloat16'``/``'float16'`` (half size).
        rebuild: re-encode even when a matching cache exists.
        num_latent_frames: serve only the first ``num_latent_frames`` latent frames of each clip
            (default: all). With a causal tokenizer these are exactly the latents of the first
            ``1 + tau * (num_latent_frames - 1)`` pixel frames, so shorter-clip stages share the
            cache of the long clips.
    """

    def __init__(
        self,
        dataset,
        tokenizer,
        checkpoint: str | dict | None = None,
        cache_dir: str | None = None,
        num_items: int | None = None,
        batch_size: int = 16,
        device: str | None = None,
        dtype: str = 'float32',
        rebuild: bool = False,
        num_latent_frames: int | None = None,
    ) -> None:
        check_positive(batch_size, 'LatentCacheDataset batch_size')
        if num_latent_frames is not None:
            check_positive(num_latent_frames, 'LatentCacheDataset num_latent_frames')
        self.num_latent_frames = num_latent_frames
        check_choice(dtype, ('float32', 'bfloat16', 'float16'), 'LatentCacheDataset dtype')
        if checkpoint is not None and (not isinstance(checkpoint, str) or osp.isdir(checkpoint)):
            checkpoint = resolve_checkpoint(checkpoint, 'LatentCacheDataset checkpoint')
        self.tokenizer_cfg, self.checkpoint = resolve_tokenizer_cfg(tokenizer, checkpoint)
        if self.checkpoint is not None and not osp.isfile(self.checkpoint):
            raise ConfigError(
                f'LatentCacheDataset: the tokenizer checkpoint {self.checkpoint!r} does not '
                'exist; train the tokenizer first (python tools/train.py configs/tokenizer/...) '
                'or set its path.'
            )
        self.dataset_cfg = dataset
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, Mapping) else dataset
        total = len(self.dataset)
        if num_items is not None:
            check_positive(num_items, 'LatentCacheDataset num_items')
            if num_items > total:
                raise ConfigError(
                    f'LatentCacheDataset num_items={num_items} exceeds the {total} clips of the '
                    f'wrapped dataset; use at most {total} (or None for all).'
                )
        self.num_items = int(num_items or total)
        self.cache_dir = cache_dir or DEFAULT_CACHE_DIR
        self.batch_size = int(batch_size)
        self.device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
        self.dtype = dtype
        self._tokenizer = None
        self.fingerprint = self.compute_fingerprint()
        self.cache_file = osp.join(self.cache_dir, f'latents_{self.fingerprint[:16]}.pt')
        self.reused = False
        self._load_or_build(rebuild)
        if num_latent_frames is not None and num_latent_frames > self.latents.shape[2]:
            raise ConfigError(
                f'LatentCacheDataset num_latent_frames={num_latent_frames} exceeds the '
                f'{self.latents.shape[2]} latent frames of the cached clips.'
            )

    # ---- fingerprint -----------------------------------------------------------------------
    def _clip_shape(self) -> list[int]:
        video = self.dataset[0]['inputs']
        return list(video.shape[1:])

    def build_tokenizer(self) -> torch.nn.Module:
        if self._tokenizer is None:
            tokenizer = TOKENIZERS.build(dict(self.tokenizer_cfg))
            if self.checkpoint is not None:
                load_tokenizer_weights(tokenizer, self.checkpoint)
            self._tokenizer = tokenizer.eval().requires_grad_(False)
        return self._tokenizer

    def compute_fingerprint(self) -> str:
        if self.checkpoint is not None:
            weights = 'sha256:' + file_sha256(self.checkpoint)
        else:
            print_log(
                'LatentCacheDataset: no tokenizer checkpoint given; caching the latents of an '
                'untrained tokenizer.',
                logger='current',
            )
            weights = 'init-sha256:' + state_dict_sha256(self.build_tokenizer().state_dict())
        if isinstance(self.dataset_cfg, Mapping):
            dataset = to_jsonable(self.dataset_cfg)
        else:
            dataset = dict(object=type(self.dataset).__name__, length=len(self.dataset))
        record = dict(
            version=CACHE_VERSION,
            tokenizer=self.tokenizer_cfg,
            tokenizer_weights=weights,
            dataset=dataset,
            clip_shape=self._clip_shape(),
            num_items=self.num_items,
            dtype=self.dtype,
        )
        self.fingerprint_record = record
        return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()

    # ---- cache -----------------------------------------------------------------------------
    def _read(self) -> dict | None:
        if not osp.isfile(self.cache_file):
            return None
        data = torch.load(self.cache_file, map_location='cpu', weights_only=True)
        if data.get('fingerprint') != self.fingerprint:
            return None
        return data

    def _load_or_build(self, rebuild: bool) -> None:
        data = None
        if get_rank() == 0:
            data = None if rebuild else self._read()
            if data is not None:
                self.reused = True
                print_log(
                    f'LatentCacheDataset: reusing {self.cache_file} ({self.num_items} clips; the '
                    'fingerprint of tokenizer checkpoint and clip settings matches)',
                    logger='current',
                )
            else:
                data = self._encode_all()
                os.makedirs(self.cache_dir, exist_ok=True)
                tmp = f'{self.cache_file}.tmp{os.getpid()}'
                torch.save(data, tmp)
                os.replace(tmp, self.cache_file)
                print_log(f'LatentCacheDataset: wrote {self.cache_file}', logger='current')
        barrier()
        if data is None:
            data = self._read()
            if data is None:
                raise RuntimeError(f'LatentCacheDataset: {self.cache_file} was not written.')
            self.reused = True
        self.latents = data['latents']
        self.labels = data['labels']
        self.captions = list(data['captions'])
        self.indices = data['indices']
        self._tokenizer = None  # free the encoder

    @torch.no_grad()
    def _encode_all(self) -> dict:
        tokenizer = self.build_tokenizer().to(self.device)
        print_log(
            f'LatentCacheDataset: encoding {self.num_items} clips with the frozen tokenizer into '
            f'{self.cache_file}',
            logger='current',
        )
        bar = ProgressBar(self.num_items)
        latents, labels, captions, indices = [], [], [], []
        for start in range(0, self.num_items, self.batch_size):
            items = [
                self.dataset[i] for i in range(start, min(start + self.batch_size, self.num_items))
            ]
            video = torch.stack([item['inputs'] for item in items]).to(self.device)
            latents.append(tokenizer.encode(video).float().cpu().to(getattr(torch, self.dtype)))
            for offset, item in enumerate(items):
                meta = item.get('data_samples') or {}
                labels.append(int(meta.get('label', -1)))
                captions.append(str(meta.get('caption', '')))
                indices.append(int(meta.get('index', start + offset)))
            bar.update(len(items))
        print()
        return dict(
            fingerprint=self.fingerprint,
            record=json.dumps(self.fingerprint_record, sort_keys=True),
            latents=torch.cat(latents),
            labels=torch.tensor(labels, dtype=torch.long),
            captions=captions,
            indices=torch.tensor(indices, dtype=torch.long),
        )

    # ---- dataset ---------------------------------------------------------------------------
    @property
    def metainfo(self) -> dict:
        meta = dict(getattr(self.dataset, 'metainfo', None) or {})
        meta.update(
            latent_shape=tuple(self.latents.shape[1:]),
            latent_cache=self.cache_file,
            fingerprint=self.fingerprint,
        )
        return meta

    def __len__(self) -> int:
        return len(self.latents)

    def __getitem__(self, index: int) -> dict:
        return dict(
            inputs=torch.zeros(0),
            data_samples=dict(
                label=int(self.labels[index]),
                caption=self.captions[index],
                index=int(self.indices[index]),
                latent=self.latents[index, :, : self.num_latent_frames].float(),
            ),
        )

    def __repr__(self) -> str:
        return (
            f'LatentCacheDataset({len(self)} clips of {type(self.dataset).__name__}, latent '
            f'{tuple(self.latents.shape[1:])}, cache {self.cache_file})'
        )
