"""Giving a stage the outputs of the runs before it: the config key ``inputs``.

A stage config names where its inputs come from once, and every consumer gets them::

    inputs = dict(
        run='./work_dirs/videoar_curriculum',  # a curriculum work dir or a stage work dir
        init_stage='stage1',                   # the curriculum stage to initialise from
        tokenizer=None, init=None, latent_cache=None,  # explicit overrides (file or work dir)
    )

:func:`link_inputs` resolves them (:func:`videoar.io.runs.resolve_run_inputs`) and writes

* the tokenizer checkpoint into ``model.tokenizer_checkpoint`` (when the model takes it) and the
  ``checkpoint`` of every ``LatentCacheDataset`` in the dataloaders;
* the latent cache directory into the ``cache_dir`` of every ``LatentCacheDataset``;
* the checkpoint to initialise from into the ``InitFromStageHook`` (added when absent).

The curriculum links its stages with the same functions (:mod:`.curriculum.linking`).
``inputs=None`` (or absent) leaves the config as written.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping

from mmengine.config import Config

from videoar.io.runs import RunInputs, resolve_run_inputs
from videoar.registry import MODELS
from videoar.utils import ConfigError

from .config_options import find_hooks

INPUT_KEYS = ('run', 'init_stage', 'tokenizer', 'init', 'latent_cache', 'command')
DATALOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def accepts(model_type, argument: str) -> bool:
    """Whether the registered model class takes ``argument`` in its constructor."""
    if model_type is None:
        return False
    try:
        cls = MODELS.get(model_type) if isinstance(model_type, str) else model_type
    except KeyError:
        return False
    return cls is not None and argument in inspect.signature(cls.__init__).parameters


def latent_cache_datasets(cfg: Config) -> Iterator[dict]:
    """Every ``LatentCacheDataset`` config inside the config's dataloaders (nested datasets too)."""

    def visit(node):
        if isinstance(node, Mapping):
            if node.get('type') == 'LatentCacheDataset':
                yield node
            for key in ('dataset', 'datasets'):
                if key in node:
                    yield from visit(node[key])
        elif isinstance(node, (list, tuple)):
            for item in node:
                yield from visit(item)

    for key in DATALOADER_KEYS:
        loader = cfg.get(key)
        if isinstance(loader, Mapping):
            yield from visit(loader.get('dataset'))


def link_init(cfg: Config, checkpoint: str, command: str | None) -> None:
    """Point the config's ``InitFromStageHook`` (added first when absent) at ``checkpoint``."""
    hooks = list(cfg.get('custom_hooks') or [])
    found = find_hooks(hooks, 'InitFromStageHook')
    for index in found:
        hooks[index]['checkpoint'] = checkpoint
        hooks[index]['stage_work_dir'] = None
        if command:
            hooks[index].setdefault('command', command)
    if not found:
        hooks.insert(0, dict(type='InitFromStageHook', checkpoint=checkpoint, command=command))
    cfg.custom_hooks = hooks


def link_tokenizer(cfg: Config, checkpoint: str) -> None:
    """Give the tokenizer checkpoint to the model and to every latent-cache dataset."""
    model = cfg.get('model')
    if isinstance(model, Mapping) and accepts(model.get('type'), 'tokenizer_checkpoint'):
        cfg.model.tokenizer_checkpoint = checkpoint
    for dataset in latent_cache_datasets(cfg):
        tokenizer = dataset.get('tokenizer')
        if isinstance(tokenizer, Mapping) and 'checkpoint' in tokenizer:
            tokenizer['checkpoint'] = checkpoint
        else:
            dataset['checkpoint'] = checkpoint


def link_latent_cache(cfg: Config, cache_dir: str) -> None:
    """``cache_dir`` of every latent-cache dataset."""
    for dataset in latent_cache_datasets(cfg):
        dataset['cache_dir'] = cache_dir


def input_options(cfg: Config) -> dict | None:
    """The config's ``inputs`` as a plain dict (None when absent or None); unknown keys raise."""
    spec = cfg.get('inputs')
    if spec is None:
        return None
    if not isinstance(spec, Mapping):
        raise ConfigError(
            f'inputs must be a dict with keys {list(INPUT_KEYS)} or None; got {spec!r}.'
        )
    spec = {k: v for k, v in dict(spec).items() if k != '_delete_'}
    unknown = sorted(set(spec) - set(INPUT_KEYS))
    if unknown:
        raise ConfigError(f'inputs: unknown key(s) {unknown}; the keys are {list(INPUT_KEYS)}.')
    return spec


def given_in_place(cfg: Config, spec: dict) -> dict:
    """Inputs set directly on a consumer (``model.tokenizer_checkpoint=...``, the init hook's
    ``checkpoint=...``) and not in ``inputs``: they win over ``inputs.run`` and reach every
    other consumer too."""
    given = {}
    model = cfg.get('model')
    if not spec.get('tokenizer') and isinstance(model, Mapping):
        if model.get('tokenizer_checkpoint'):
            given['tokenizer'] = model['tokenizer_checkpoint']
    hooks = cfg.get('custom_hooks') or []
    if not spec.get('init'):
        for index in find_hooks(hooks, 'InitFromStageHook'):
            if hooks[index].get('checkpoint'):
                given['init'] = hooks[index]['checkpoint']
    return given


def link_inputs(cfg: Config) -> RunInputs | None:
    """Resolve ``cfg.inputs`` and give each input to its consumers (module docstring). A
    tokenizer or init checkpoint set directly on its consumer counts as given in ``inputs``.

    Returns the resolved inputs, or None when the config has no ``inputs``.

    Raises:
        videoar.io.CheckpointNotFoundError: a named run or checkpoint does not exist.
    """
    spec = input_options(cfg)
    if spec is None or not any(spec.get(k) for k in ('run', 'tokenizer', 'init', 'latent_cache')):
        return None
    spec.update(given_in_place(cfg, spec))
    found = resolve_run_inputs(**spec)
    if found.tokenizer:
        link_tokenizer(cfg, found.tokenizer)
    if found.latent_cache:
        link_latent_cache(cfg, found.latent_cache)
    if found.init:
        link_init(cfg, found.init, spec.get('command'))
    return found


__all__ = [
    'INPUT_KEYS',
    'accepts',
    'input_options',
    'latent_cache_datasets',
    'link_init',
    'link_inputs',
    'link_latent_cache',
    'link_tokenizer',
]
