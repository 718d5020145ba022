"""Curriculum stage specs: parse and check the ``stages`` of a curriculum config.

``stages`` is an ordered dict keyed by stage name, or a list of dicts with ``name``::

    stages = dict(
        tokenizer=dict(config='configs/tokenizer/....py'),
        stage1=dict(config='configs/videoar_stage1.py', tokenizer_from='tokenizer'),
        evaluate=dict(kind='evaluate', from_stage='stage1', evaluation=dict(...)),
    )

With the dict form a derived config (``_base_ = ['./videoar_curriculum.py']``) overrides one
stage by its name (mmengine merges dicts key by key), e.g.
``stages = dict(stage1=dict(cfg_options={'train_cfg.max_iters': 6}))``, and removes one with
``stages = dict(stage1=None)``.
"""

from __future__ import annotations

import copy
import os.path as osp
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from mmengine.config import Config, ConfigDict

from videoar.utils import ConfigError, check_choice, check_known_keys

STAGE_KEYS = (
    'name', 'kind', 'config', 'cfg_options', 'init_from', 'tokenizer_from', 'from_stage',
    'evaluation', 'grid',
)  # fmt: skip
CURRICULUM_KEYS = ('cfg_options', 'auto_resume')
GRID_KEYS = ('num_videos', 'nrow', 'fps', 'labels')
TRAIN_ONLY_KEYS = ('init_from', 'tokenizer_from')
EVALUATE_ONLY_KEYS = ('from_stage', 'evaluation', 'grid')
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
_STAGE_NAME = re.compile(r'[A-Za-z0-9_.-]+')


@dataclass
class Stage:
    """One curriculum stage (the keys are described in :mod:`videoar.engine.curriculum`)."""

    name: str
    kind: str = 'train'
    config: str | None = None
    cfg_options: dict = field(default_factory=dict)
    init_from: str | None = None
    tokenizer_from: str | None = None
    from_stage: str | None = None
    evaluation: dict | None = None
    grid: dict = field(default_factory=dict)


def to_dict(value):
    """A plain dict for a ``ConfigDict`` or mapping; other values as they are."""
    if isinstance(value, ConfigDict):
        return value.to_dict()
    return dict(value) if isinstance(value, Mapping) else value


def _stage_entries(cfg: Config) -> list[tuple[str, Mapping]]:
    """``(where, entry)`` for each stage of a list or a dict keyed by stage name, in order."""
    entries = cfg.get('stages')
    usage = (
        'a curriculum config needs stages = dict(NAME=dict(config=...), ...) (ordered, keyed '
        'by stage name) or stages = [dict(name=..., config=...), ...].'
    )
    if isinstance(entries, Mapping):
        out = []
        for name, entry in entries.items():
            if entry is None:  # a derived config removes a stage with NAME=None
                continue
            where = f'stages.{name}'
            if not isinstance(entry, Mapping):
                raise ConfigError(f'{where} must be a dict(config=...), got {entry!r}.')
            if entry.get('name', name) != name:
                raise ConfigError(
                    f'{where}: name={entry["name"]!r} differs from its key; the key is the '
                    'stage name, leave name out.'
                )
            out.append((where, {**entry, 'name': name}))
    elif isinstance(entries, (list, tuple)):
        out = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, Mapping):
                raise ConfigError(
                    f'stages[{i}] must be a dict(name=..., config=...), got {entry!r}.'
                )
            out.append((f'stages[{i}]', entry))
    else:
        out = []
    if not out:
        raise ConfigError(usage)
    return out


def _check_name(name, where: str, stages: list[Stage]) -> None:
    if not isinstance(name, str) or not _STAGE_NAME.fullmatch(name):
        raise ConfigError(
            f'{where}.name must be a folder name (letters, digits, _ . -), got {name!r}.'
        )
    if any(s.name == name for s in stages):
        raise ConfigError(f'{where}: the stage name {name!r} is used twice.')


def _check_kind_keys(stage: Stage, entry: Mapping, where: str, earlier: list[str]) -> None:
    """Keys that belong to the other kind of stage; an evaluate stage's source and grid."""
    check_choice(stage.kind, ('train', 'evaluate'), f'{where}.kind')
    wrong = EVALUATE_ONLY_KEYS if stage.kind == 'train' else TRAIN_ONLY_KEYS
    for key in wrong:
        if entry.get(key) is not None:
            other = 'evaluate' if stage.kind == 'train' else 'train'
            raise ConfigError(f'{where} ({stage.name}): {key} is for {other} stages only.')
    if stage.kind == 'train':
        if not stage.config:
            raise ConfigError(f'{where} ({stage.name}): a train stage needs config=PATH.')
        return
    if not earlier:
        raise ConfigError(
            f'{where} ({stage.name}): an evaluate stage needs a train stage before it.'
        )
    stage.from_stage = stage.from_stage or earlier[-1]
    check_known_keys(stage.grid, GRID_KEYS, f'{where}.grid')


def _parse_stage(entry: Mapping, where: str, stages: list[Stage]) -> Stage:
    check_known_keys(entry, STAGE_KEYS, where)
    name = entry.get('name')
    _check_name(name, where, stages)
    stage = Stage(
        name=name,
        kind=entry.get('kind', 'train'),
        config=entry.get('config'),
        cfg_options=copy.deepcopy(to_dict(entry.get('cfg_options')) or {}),
        init_from=entry.get('init_from'),
        tokenizer_from=entry.get('tokenizer_from'),
        from_stage=entry.get('from_stage'),
        evaluation=copy.deepcopy(to_dict(entry.get('evaluation'))),
        grid=dict(entry.get('grid') or {}),
    )
    earlier = [s.name for s in stages if s.kind == 'train']
    _check_kind_keys(stage, entry, where, earlier)
    for key in ('init_from', 'tokenizer_from', 'from_stage'):
        source = getattr(stage, key)
        if source is not None and source not in earlier:
            raise ConfigError(
                f'{where} ({name}): {key}={source!r} must name an earlier train stage; '
                f'earlier train stages: {earlier}.'
            )
    return stage


def parse_stages(cfg: Config) -> list[Stage]:
    """Check the ``stages`` of a curriculum config and return them as :class:`Stage` s, in order.

    Raises:
        ConfigError: an unknown key, a missing config, a link to a stage that is not an earlier
            train stage, a name used twice.
    """
    stages: list[Stage] = []
    for where, entry in _stage_entries(cfg):
        stages.append(_parse_stage(entry, where, stages))
    return stages


def parse_shared_options(cfg: Config) -> tuple[dict, bool]:
    """``(cfg_options, auto_resume)`` of the curriculum's shared ``curriculum = dict(...)``."""
    shared = to_dict(cfg.get('curriculum')) or {}
    check_known_keys(shared, CURRICULUM_KEYS, 'curriculum')
    return copy.deepcopy(to_dict(shared.get('cfg_options')) or {}), bool(
        shared.get('auto_resume', True)
    )


def resolve_config_path(path: str, curriculum_file: str | None) -> str:
    """A stage config path: as given, next to the curriculum config, or in the repository."""
    candidates = [path]
    if curriculum_file:
        here = osp.dirname(osp.abspath(curriculum_file))
        candidates += [osp.join(here, path), osp.join(osp.dirname(here), path)]
    candidates.append(osp.join(REPO_ROOT, path))
    for candidate in candidates:
        if osp.isfile(candidate):
            return candidate
    raise ConfigError(f'stage config {path!r} not found (looked in {candidates}).')


__all__ = [
    'CURRICULUM_KEYS',
    'GRID_KEYS',
    'STAGE_KEYS',
    'Stage',
    'parse_shared_options',
    'parse_stages',
    'resolve_config_path',
    'to_dict',
]
