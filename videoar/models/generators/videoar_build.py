"""Build-time parts of :class:`~videoar.models.generators.VideoAR`: the frozen tokenizer pair and
the checks that make an impossible configuration fail before training starts."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

from mmengine.logging import print_log
from torch import nn

from videoar.io.checkpoint import resolve_checkpoint
from videoar.models.tokenizers.checkpoint import load_tokenizer_checkpoint
from videoar.registry import QUANTIZERS, TOKENIZERS
from videoar.utils import (
    ConfigError,
    build_checked,
    check_known_keys,
    check_num_frames,
    freeze,
)

SAMPLE_CFG_KEYS = ('cfg_scale', 'cfg_schedule', 'temperature', 'top_k', 'top_p', 'seed')
TRANSFORMER_ATTRS = ('dim', 'head_dim', 'depth', 'num_heads', 'cond_mode')


class UntrainedTokenizerWarning(UserWarning):
    """A VideoAR model was built on a tokenizer with random weights."""


def warn_untrained_tokenizer() -> None:
    """Say loudly that the tokenizer is untrained (the log and Python's warnings)."""
    message = (
        'VideoAR: tokenizer_checkpoint=None, so the frozen tokenizer keeps its RANDOM '
        'initial weights and the model learns to predict the codes of noise. Give a trained '
        'tokenizer (model.tokenizer_checkpoint=CHECKPOINT_OR_RUN_DIR, or inputs.tokenizer=... '
        'in the AR stage configs), or set model.allow_random_tokenizer=True if this is '
        'intended (tests, speed measurements, loading a full checkpoint afterwards).'
    )
    print_log(message, logger='current', level=30)
    warnings.warn(message, UntrainedTokenizerWarning, stacklevel=3)


def build_frozen_tokenizer(
    tokenizer: dict,
    quantizer: dict,
    checkpoint: str | dict | None,
    allow_random_tokenizer: bool = True,
) -> tuple[nn.Module, nn.Module, str | None]:
    """Build the tokenizer and quantizer, load ``checkpoint`` into them, freeze both.

    ``checkpoint`` is a file, a tokenizer run's work directory or ``dict(work_dir=, command=)``
    (resolved by :func:`videoar.io.checkpoint.resolve_checkpoint`), or ``None`` (keep the init;
    without ``allow_random_tokenizer`` that warns loudly, :func:`warn_untrained_tokenizer`).

    Returns:
        ``(tokenizer, quantizer, resolved checkpoint path or None)``.
    """
    tokenizer = build_checked(TOKENIZERS, tokenizer, 'VideoAR.tokenizer')
    quantizer = build_checked(QUANTIZERS, quantizer, 'VideoAR.quantizer')
    if checkpoint:
        checkpoint = resolve_checkpoint(checkpoint, 'VideoAR.tokenizer_checkpoint')
        load_tokenizer_checkpoint(checkpoint, tokenizer, quantizer)
    elif not allow_random_tokenizer:
        warn_untrained_tokenizer()
    freeze(tokenizer)
    freeze(quantizer)
    if quantizer.embed_dim != tokenizer.latent_dim:
        raise ConfigError(
            f'VideoAR: the quantizer embed_dim={quantizer.embed_dim} must equal the '
            f'tokenizer latent_dim={tokenizer.latent_dim}.'
        )
    return tokenizer, quantizer, checkpoint or None


@dataclass(frozen=True)
class LatentGeometry:
    """Sizes of a training clip: pixel ``num_frames`` and ``resolution (H, W)``, latent
    ``latent_frames`` and ``latent_size (h, w)``, and ``max_frames`` of the positional tables."""

    num_frames: int
    resolution: tuple[int, int]
    latent_frames: int
    latent_size: tuple[int, int]
    max_frames: int


def latent_geometry(
    tokenizer, quantizer, num_frames: int, resolution, max_frames: int | None
) -> LatentGeometry:
    """Check a clip shape against the tokenizer and the quantizer's schedule; its latent sizes."""
    if isinstance(resolution, int):
        resolution = (resolution, resolution)
    resolution = (int(resolution[0]), int(resolution[1]))
    check_num_frames(num_frames, tokenizer.temporal_stride, 'VideoAR.num_frames')
    latent_frames, latent_h, latent_w = tokenizer.latent_shape(num_frames, *resolution)
    quantizer.check_latent_size((latent_h, latent_w))
    max_frames = int(max_frames or latent_frames)
    if max_frames < latent_frames:
        raise ConfigError(
            f'VideoAR.max_frames={max_frames} is smaller than the {latent_frames} latent frames '
            f'of num_frames={num_frames}; use max_frames >= {latent_frames}.'
        )
    return LatentGeometry(
        num_frames=int(num_frames),
        resolution=resolution,
        latent_frames=int(latent_frames),
        latent_size=(int(latent_h), int(latent_w)),
        max_frames=max_frames,
    )


def check_transformer(transformer: nn.Module) -> None:
    """The model reads these attributes of its transformer (``ARTransformer`` has them all)."""
    for attr in TRANSFORMER_ATTRS:
        if not hasattr(transformer, attr):
            raise ConfigError(f'VideoAR.transformer must expose `{attr}` (as ARTransformer).')


def check_sample_cfg(sample_cfg: Mapping | None) -> dict:
    """``sample_cfg`` with only the sampler's keys (a ConfigError names the allowed ones)."""
    sample_cfg = dict(sample_cfg or {})
    check_known_keys(sample_cfg, SAMPLE_CFG_KEYS, 'VideoAR.sample_cfg')
    return sample_cfg


__all__ = [
    'SAMPLE_CFG_KEYS',
    'LatentGeometry',
    'build_frozen_tokenizer',
    'check_sample_cfg',
    'check_transformer',
    'latent_geometry',
]
