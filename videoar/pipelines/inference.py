"""Models for inference: read a config, build its model and load a checkpoint.

    from videoar.pipelines import generate, init_model
    model = init_model('configs/_base_/models/videoar_tiny.py', 'work_dirs/x/iter_1000.pth')
    videos = generate(model, classes=[3, 7], cfg_scale=3.0, seed=0)['videos']  # (2, 3, F, H, W)

:func:`load_model` is what :func:`videoar.pipelines.generate` uses: a built model as it is, or a
config built with its checkpoint, where a checkpoint that does not fit the config is a
:class:`GenerationError` naming the checkpoint.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from torch import nn

from videoar.io.checkpoint import load_state_dict
from videoar.registry import MODELS

from .errors import GenerationError


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
    if checkpoint is not None and _takes(config.model.get('type'), 'allow_random_tokenizer'):
        config.model.allow_random_tokenizer = True  # the checkpoint holds the tokenizer weights
    with DefaultScope.overwrite_default_scope(config.get('default_scope', 'videoar')):
        model = MODELS.build(config.model)
    if checkpoint is not None:
        load_finite_weights(model, checkpoint, strict=strict)
    model.cfg = config
    return model.to(device).eval()


def _takes(model_type, argument: str) -> bool:
    """Whether the registered model class ``model_type`` has the constructor ``argument``."""
    try:
        cls = MODELS.get(model_type) if isinstance(model_type, str) else model_type
    except KeyError:
        return False
    return cls is not None and argument in inspect.signature(cls.__init__).parameters


def load_config(model_or_config, cfg_options: dict | None = None) -> Config | None:
    """The config of a model object (``model.cfg``), a config path, a ``Config`` or a dict."""
    if isinstance(model_or_config, nn.Module):
        return getattr(model_or_config, 'cfg', None)
    if isinstance(model_or_config, (str, os.PathLike)):
        path = os.fspath(model_or_config)
        if not os.path.isfile(path):
            raise GenerationError(f'config file {path!r} does not exist.')
        cfg = Config.fromfile(path)
    elif isinstance(model_or_config, Config):
        cfg = model_or_config
    elif isinstance(model_or_config, Mapping):
        cfg = Config(dict(model_or_config))
    else:
        raise GenerationError(
            'model_or_config must be a VideoAR model, a config path, an mmengine Config or a '
            f'dict, got {type(model_or_config).__name__}.'
        )
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise GenerationError('the config has no `model` entry.')
    return cfg


def load_model(
    model_or_config, cfg: Config | None, checkpoint: str | None, device=None
) -> nn.Module:
    """The model to generate with, in eval mode.

    A built model is moved to ``device`` (when given) and gets ``checkpoint``'s weights (when
    given); a config (``cfg``, from :func:`load_config`) is built by :func:`init_model` on
    ``device`` (default CPU). A missing checkpoint, or one that does not fit the config, raises
    GenerationError.
    """
    if isinstance(model_or_config, nn.Module):
        model = model_or_config if device is None else model_or_config.to(device)
        if checkpoint is not None:
            _load_checked(lambda: load_finite_weights(model, checkpoint), checkpoint)
        return model.eval()
    if checkpoint is not None and not os.path.isfile(checkpoint):
        raise GenerationError(f'checkpoint {checkpoint!r} does not exist.')
    return _load_checked(lambda: init_model(cfg, checkpoint, device=device or 'cpu'), checkpoint)


def load_finite_weights(model: nn.Module, checkpoint, strict: bool = True):
    """Load ``checkpoint``'s weights into ``model``, refusing non-finite parameters.

    Every floating tensor of the state dict that is not one of the model's buffers (buffers such
    as attention masks may hold -inf on purpose) must be finite: a checkpoint of a diverged run
    would otherwise generate frozen or blank videos. Raises GenerationError naming the first
    bad tensor and the file.
    """
    state = load_state_dict(checkpoint)
    buffers = {name for name, _ in model.named_buffers()}
    for name, tensor in state.items():
        if name in buffers or not torch.is_tensor(tensor) or not tensor.is_floating_point():
            continue
        finite = torch.isfinite(tensor)
        if not bool(finite.all()):
            count = int((~finite).sum())
            raise GenerationError(
                f'checkpoint {os.fspath(checkpoint)!r} holds non-finite weights: {name!r} has '
                f'{count} NaN/inf values of {tensor.numel()} (the first bad tensor); it comes '
                'from a diverged run. Use an earlier checkpoint of the run.'
            )
    return model.load_state_dict(state, strict=strict)


def _load_checked(load, checkpoint):
    """Run ``load()``; a checkpoint that does not fit the config becomes a GenerationError."""
    try:
        return load()
    except RuntimeError as err:
        if checkpoint is None or 'state_dict' not in str(err):
            raise
        lines = str(err).splitlines()
        shown = '\n'.join(lines[:6]) + ('\n  ...' if len(lines) > 6 else '')
        raise GenerationError(
            f'checkpoint {os.fspath(checkpoint)!r} does not match the config (was it trained '
            f'with another config?):\n{shown}'
        ) from err


__all__ = ['init_model', 'load_config', 'load_finite_weights', 'load_model']
