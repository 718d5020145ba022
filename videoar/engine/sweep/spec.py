"""A sweep file (mmengine Config syntax) -> the settings, seeds and options of every run.

A sweep file names the base config, the axes of ``--cfg-options`` overrides, the seeds, the
metrics to report, the evaluation, the executor and the control setting::

    config = 'configs/ablations/videoar_tiny-ablation_movingdigits.py'
    settings = [dict(name='rope'), dict(name='learned-pe', options={'model.pos_encoding.type': ...})]
    grid = {'model.corrector.p_max': [0.1, 0.25]}      # every combination
    zipped = {'model.transformer.dim': [64, 128],      # lists walked together
              'model.transformer.num_heads': [2, 4]}
    seeds = [0, 1, 2]
    control = 'rope'
    metrics = ['fcd_classifier', 'class_accuracy']
    executor = dict(type='local', max_parallel=2, threads_per_run=1)

The settings are ``settings`` x ``grid`` x ``zipped`` (each defaults to one empty entry); a
setting's ``config`` replaces the base config (``'config'`` may also be a grid or zipped key).
"""

from __future__ import annotations

import copy
import itertools
import os.path as osp
import re
from dataclasses import dataclass, field

from mmengine.config import Config

from videoar.utils import ConfigError, check_known_keys

SWEEP_KEYS = (
    'name', 'config', 'settings', 'grid', 'zipped', 'seeds', 'seed_key', 'cfg_options', 'control',
    'metrics', 'evaluation', 'executor', 'retries', 'work_dir',
)  # fmt: skip
SETTING_KEYS = ('name', 'config', 'options')
EXECUTOR_TYPES = ('local', 'submitit')
DEFAULT_SEED_KEY = 'randomness.seed'


@dataclass
class Setting:
    """One point of the sweep: a config file and the overrides it adds."""

    name: str
    config: str
    options: dict = field(default_factory=dict)


@dataclass
class SweepSpec:
    """A parsed sweep file (see the module docstring)."""

    name: str
    settings: list[Setting]
    seeds: list[int]
    work_dir: str
    seed_key: str = DEFAULT_SEED_KEY
    cfg_options: dict = field(default_factory=dict)
    control: str = ''
    metrics: list[str] | None = None
    evaluation: dict | bool | None = None
    executor: dict = field(default_factory=lambda: dict(type='local'))
    retries: int = 1
    source: str | None = None


def short_key(key: str) -> str:
    """``model.corrector.p_max`` -> ``p_max``; ``config`` -> ``config``."""
    return key.rsplit('.', 1)[-1]


def value_label(key: str, value) -> str:
    if key == 'config':
        return osp.splitext(osp.basename(str(value)))[0]
    if isinstance(value, (list, tuple)):
        return 'x'.join(map(str, value))
    return str(value)


def safe_name(name: str) -> str:
    """A directory-safe form of a setting name (kept readable)."""
    return re.sub(r'[^A-Za-z0-9_.=+-]+', '_', name).strip('_')[:120] or 'setting'


def _axis_points(grid: dict, zipped: dict, where: str) -> list[list[tuple[str, object]]]:
    """The (key, value) lists of ``grid`` (product) x ``zipped`` (walked together)."""
    for key, values in {**grid, **zipped}.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise ConfigError(f'{where}: {key} needs a non-empty list of values, got {values!r}.')
    lengths = {len(v) for v in zipped.values()}
    if len(lengths) > 1:
        sizes = {k: len(v) for k, v in zipped.items()}
        raise ConfigError(f'{where}: the lists of zipped must have equal lengths, got {sizes}.')
    grid_points = [list(zip(grid, values)) for values in itertools.product(*grid.values())]
    zip_points = [list(zip(zipped, values)) for values in zip(*zipped.values())] or [[]]
    return [g + z for g in grid_points for z in zip_points]


def expand_settings(base_config, settings, grid, zipped, where='sweep') -> list[Setting]:
    """``settings`` x ``grid`` x ``zipped`` -> the list of :class:`Setting` (names unique)."""
    out = []
    for entry in settings or [dict()]:
        entry = dict(entry)
        check_known_keys(entry, SETTING_KEYS, f'{where}: settings entry')
        for point in _axis_points(dict(grid or {}), dict(zipped or {}), where):
            config = entry.get('config', base_config)
            options = copy.deepcopy(dict(entry.get('options') or {}))
            labels = [entry['name']] if entry.get('name') else []
            for key, value in point:
                if key == 'config':
                    config = value
                else:
                    options[key] = copy.deepcopy(value)
                labels.append(f'{short_key(key)}={value_label(key, value)}')
            if config is None:
                raise ConfigError(
                    f'{where}: give config= (the base config) or a config per setting.'
                )
            name = '_'.join(labels) or osp.splitext(osp.basename(config))[0]
            out.append(Setting(name=name, config=str(config), options=options))
    names = [safe_name(s.name) for s in out]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f'{where}: setting names must be unique, repeated: {duplicates}.')
    return out


def resolve_control(control, settings: list[Setting], where='sweep') -> str:
    """The control setting's name from a name, an index or ``None`` (the first setting)."""
    names = [s.name for s in settings]
    if control is None:
        return names[0]
    if isinstance(control, int) and not isinstance(control, bool):
        if not -len(names) <= control < len(names):
            raise ConfigError(f'{where}: control index {control} out of range for {names}.')
        return names[control]
    if control not in names:
        raise ConfigError(f'{where}: control {control!r} is not a setting; settings: {names}.')
    return control


def check_executor(executor, where='sweep') -> dict:
    executor = dict(executor or dict(type='local'))
    executor.setdefault('type', 'local')
    if executor['type'] not in EXECUTOR_TYPES:
        raise ConfigError(
            f'{where}: executor.type must be one of {list(EXECUTOR_TYPES)}, got {executor["type"]!r}.'
        )
    return executor


def build_spec(raw: dict, source: str | None = None, work_dir: str | None = None) -> SweepSpec:
    """Check a sweep dict (a loaded sweep file) and expand its settings."""
    where = f'sweep {source}' if source else 'sweep'
    raw = {k: v for k, v in raw.items() if not k.startswith('_')}
    check_known_keys(raw, SWEEP_KEYS, where)
    settings = expand_settings(raw.get('config'), raw.get('settings'), raw.get('grid'),
                               raw.get('zipped'), where)  # fmt: skip
    seeds = list(raw.get('seeds', [0]))
    if not seeds or not all(isinstance(s, int) for s in seeds) or len(set(seeds)) != len(seeds):
        raise ConfigError(f'{where}: seeds must be a list of distinct integers, got {seeds!r}.')
    retries = int(raw.get('retries', 1))
    if retries < 0:
        raise ConfigError(f'{where}: retries must be >= 0, got {retries}.')
    name = raw.get('name') or (osp.splitext(osp.basename(source))[0] if source else 'sweep')
    metrics = raw.get('metrics')
    if isinstance(metrics, str):
        metrics = [metrics]
    return SweepSpec(
        name=name,
        settings=settings,
        seeds=seeds,
        work_dir=work_dir or raw.get('work_dir') or osp.join('work_dirs', 'sweeps', name),
        seed_key=raw.get('seed_key', DEFAULT_SEED_KEY),
        cfg_options=dict(raw.get('cfg_options') or {}),
        control=resolve_control(raw.get('control'), settings, where),
        metrics=list(metrics) if metrics else None,
        evaluation=raw.get('evaluation'),
        executor=check_executor(raw.get('executor'), where),
        retries=retries,
        source=source,
    )


def to_plain(value):
    """Config objects -> plain dicts/lists (for JSON and for passing to subprocesses)."""
    if hasattr(value, 'to_dict'):
        value = value.to_dict()
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


def load_spec(path: str, work_dir: str | None = None) -> SweepSpec:
    """Read a sweep file (mmengine Config syntax, ``_base_`` allowed) into a :class:`SweepSpec`."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'sweep file {path!r} does not exist.')
    raw = to_plain(Config.fromfile(path).to_dict())
    return build_spec(raw, source=path, work_dir=work_dir)


__all__ = [
    'DEFAULT_SEED_KEY', 'Setting', 'SweepSpec', 'build_spec', 'expand_settings', 'load_spec',
    'resolve_control', 'safe_name', 'to_plain',
]  # fmt: skip
