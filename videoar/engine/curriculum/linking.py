"""Linking curriculum stages: what one stage's config takes from the stages before it.

* placeholders in string values: ``{work_dir}`` (the curriculum's), ``{work_dir:NAME}`` and
  ``{checkpoint:NAME}`` (stage ``NAME``'s final checkpoint);
* ``init_from``: the ``InitFromStageHook`` (found by type, added when absent) gets the source
  stage's final checkpoint;
* ``tokenizer_from``: ``model.tokenizer_checkpoint`` (when the model class takes it) and the
  ``checkpoint`` of every ``LatentCacheDataset`` in the dataloaders;
* every ``LatentCacheDataset`` without a ``cache_dir`` caches under ``<work_dir>/latent_cache``;
* every train stage gets a ``StageFinishedHook`` (it writes the ``finished.json`` the curriculum
  reads).

The functions edit the config in place; ``final_checkpoint(name)`` resolves a stage's result.
"""

from __future__ import annotations

import os.path as osp
import re
from collections.abc import Callable, Iterator, Mapping

from mmengine.config import Config

from videoar.utils import ConfigError

from ..config_options import find_hooks, hook_type
from ..runs import accepts, latent_cache_datasets, link_init, link_tokenizer

PLACEHOLDER = re.compile(r'\{(work_dir|checkpoint)(?::([^{}]+))?\}')


def walk_strings(value, path: str = '') -> Iterator[tuple[str, str]]:
    """Yield ``(dotted path, string)`` for every string inside nested dicts and lists."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from walk_strings(item, f'{path}.{key}' if path else str(key))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from walk_strings(item, f'{path}.{i}' if path else str(i))


def resolve_placeholders(
    cfg: Config,
    root: str,
    stage_names: list[str],
    work_dir: Callable[[str], str],
    final_checkpoint: Callable[[str], str],
) -> None:
    """Replace ``{work_dir}``, ``{work_dir:NAME}`` and ``{checkpoint:NAME}`` in every string."""

    def one(match: re.Match) -> str:
        what, name = match.group(1), match.group(2)
        if name is None:
            if what == 'checkpoint':
                raise ConfigError('{checkpoint} needs a stage name: {checkpoint:NAME}.')
            return root
        if name not in stage_names:
            raise ConfigError(f'placeholder {match.group(0)} names no stage.')
        return work_dir(name) if what == 'work_dir' else final_checkpoint(name)

    updates = {
        path: PLACEHOLDER.sub(one, value)
        for path, value in walk_strings(cfg._cfg_dict.to_dict())
        if PLACEHOLDER.search(value)
    }
    if updates:
        cfg.merge_from_dict(updates)


def default_cache_dirs(cfg: Config, root: str) -> None:
    """``cache_dir = <root>/latent_cache`` for every latent-cache dataset without one."""
    for dataset in latent_cache_datasets(cfg):
        if dataset.get('cache_dir') is None:
            dataset['cache_dir'] = osp.join(root, 'latent_cache')


def add_finished_hook(cfg: Config) -> None:
    """Append a ``StageFinishedHook`` unless the config has one."""
    hooks = list(cfg.get('custom_hooks') or [])
    if not find_hooks(hooks, 'StageFinishedHook'):
        hooks.append(dict(type='StageFinishedHook'))
    cfg.custom_hooks = hooks


def has_hook(cfg: Config, type_name: str) -> bool:
    return bool(find_hooks(cfg.get('custom_hooks') or [], type_name))


__all__ = [
    'accepts',
    'add_finished_hook',
    'default_cache_dirs',
    'has_hook',
    'hook_type',
    'latent_cache_datasets',
    'link_init',
    'link_tokenizer',
    'resolve_placeholders',
    'walk_strings',
]
