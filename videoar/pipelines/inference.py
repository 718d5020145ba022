"""Python entry points: build a model from a config (and checkpoint), and sample videos.

    from videoar.pipelines import init_model, sample_videos
    model = init_model('configs/_base_/models/videoar_tiny.py', 'work_dirs/x/iter_1000.pth')
    videos = sample_videos(model, classes=[3, 7], cfg_scale=3.0, seed=0)   # (2, 3, F, H, W)

(A later issue adds ``generate(...)`` with text prompts, continuation and long videos on top of
these two functions.)
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from torch import nn

from videoar.io.checkpoint import load_state_dict
from videoar.models.sampling.sampler import sample_video
from videoar.registry import MODELS


def init_model(
    config: str | Config | dict,
    checkpoint: str | None = None,
    device: str | torch.device = 'cpu',
    cfg_options: dict | None = None,
    strict: bool = True,
) -> nn.Module:
    """Build the model of a config and load its weights.

    Args:
        config: a config file path, an mmengine ``Config`` or a dict with a ``model`` entry.
        checkpoint: path of an mmengine checkpoint (``state_dict`` inside) or of a plain state
            dict; loaded with ``weights_only=True``. ``None`` keeps the initial weights. A full
            VideoAR checkpoint includes the frozen tokenizer, so the config's
            ``tokenizer_checkpoint`` is then not read.
        device: where to put the model.
        cfg_options: overrides merged into the config (as ``--cfg-options``).
        strict: require every key of the model in the checkpoint.

    Returns:
        The model in eval mode, with ``model.cfg`` set to the config.
    """
    if isinstance(config, (str, os.PathLike)):
        config = Config.fromfile(str(config))
    elif isinstance(config, dict) and not isinstance(config, Config):
        config = Config(config)
    if cfg_options:
        config.merge_from_dict(cfg_options)
    if 'model' not in config:
        raise KeyError('the config has no `model` entry.')
    if checkpoint is not None and config.model.get('tokenizer_checkpoint'):
        # a full checkpoint holds the (frozen) tokenizer weights too: no need for the separate
        # tokenizer file, which may not exist on this machine
        config.model.tokenizer_checkpoint = None
    with DefaultScope.overwrite_default_scope(config.get('default_scope', 'videoar')):
        model = MODELS.build(config.model)
    if checkpoint is not None:
        model.load_state_dict(load_state_dict(checkpoint), strict=strict)
    model.cfg = config
    return model.to(device).eval()


@torch.no_grad()
def sample_videos(
    model: nn.Module,
    classes: Sequence[int] | torch.Tensor | None = None,
    num_samples: int | None = None,
    num_frames: int | None = None,
    cfg_scale: float | None = None,
    cfg_schedule=None,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    seed: int | None = 0,
    batch_size: int = 16,
) -> torch.Tensor:
    """Sample class-conditional (or unconditional) videos.

    Args:
        model: a ``VideoAR`` (e.g. from :func:`init_model`).
        classes: one class index per video; ``None`` = unconditional (the null condition), with
            ``num_samples`` videos.
        num_samples: number of videos when ``classes`` is None.
        num_frames: pixel frames per video (default: the model's training length).
        cfg_scale / cfg_schedule: guidance (constant scale, or a ``CFG_SCHEDULES`` object/config).
        temperature, top_k, top_p: sampling settings per bit / token.
        seed: makes the result deterministic (``None``: non-deterministic).
        batch_size: videos per forward.

    Returns:
        ``(N, 3, F, H, W)`` float videos in ``[-1, 1]`` on the model's device.
    """
    if classes is None:
        if not num_samples:
            raise ValueError('give classes=[...] or num_samples= for unconditional sampling.')
        labels = torch.full((num_samples,), -1, dtype=torch.long)
    else:
        labels = torch.as_tensor(classes, dtype=torch.long).flatten()
    generator = None if seed is None else torch.Generator(device='cpu').manual_seed(int(seed))
    videos = []
    for chunk in labels.split(batch_size):
        out = sample_video(
            model,
            {'label': chunk},
            batch_size=len(chunk),
            num_frames=num_frames,
            cfg_scale=cfg_scale,
            cfg_schedule=cfg_schedule,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            generator=generator,
        )
        videos.append(out['video'])
    return torch.cat(videos)
