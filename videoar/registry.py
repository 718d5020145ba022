"""All registries of videoar, and the plugins found by installation.

Generic registries are children of mmengine's roots, so mmengine's Runner finds our
components under ``default_scope='videoar'``. Domain registries (tokenizers, quantizers, ...)
stand alone, as mmagic's diffusion schedulers do. Every registry has ``locations=`` so a
config's ``type='Name'`` resolves without manual imports.

Lookups keep mmengine's contract: ``Registry.get`` of an unknown name returns ``None`` (mmengine
and plugin code test for it). Building an unknown type raises :class:`UnknownComponentError` (a
``KeyError``) naming the registry, the available names and the closest matches.

Plugins: every installed distribution that declares an entry point in the group
``videoar.plugins`` (see ``plugins/README.md``) is imported once per process, the first time any
videoar registry builds a component or misses a name (so at config build time, before the
Runner starts, and never merely by ``import videoar``). Its components are then available to
configs without ``custom_imports``. Before the first plugin is imported, videoar's own modules
(every registry's ``locations``) are imported, so a plugin that registers a name videoar already
has is refused (:class:`PluginError`) unless it asks to replace it with
``register_module(force=True)``. A plugin that fails to import stops the run with a
:class:`PluginError` naming the plugin, its distribution and the error. The log lists each
plugin loaded and what it registered (:func:`loaded_plugins` returns the same records).
``VIDEOAR_PLUGINS=0`` turns discovery off; ``VIDEOAR_DISABLE_PLUGINS=name1,name2`` skips some.
"""

from __future__ import annotations

import difflib
import os
import traceback
from importlib import metadata

from mmengine.logging import print_log
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import INFERENCERS as MMENGINE_INFERENCERS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import STRATEGIES as MMENGINE_STRATEGIES
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry as _MMRegistry

PLUGIN_GROUP = 'videoar.plugins'


class UnknownComponentError(KeyError):
    """Raised when a config names a ``type`` that no registry knows."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0]) if self.args else ''


class PluginError(RuntimeError):
    """An installed plugin failed to import, or registered a name that exists already."""


class Registry(_MMRegistry):
    """An mmengine registry that loads installed plugins and explains unknown names."""

    def _available_names(self) -> list[str]:
        names = set(self._module_dict)
        parent = self.parent
        while parent is not None:
            names.update(parent._module_dict)
            parent = parent.parent
        return sorted(names)

    def get(self, key):
        """The registered class (or function) of ``key``, else ``None`` (mmengine's contract);
        installed plugins are loaded first when ``key`` is not found."""
        obj = super().get(key)
        if obj is None and isinstance(key, str) and load_plugins():
            obj = super().get(key)
        return obj

    def unknown_name_error(self, key: str) -> UnknownComponentError:
        """The error for a name this registry does not know: close matches and all names."""
        _, real_key = self.split_scope_key(key)
        available = self._available_names()
        close = difflib.get_close_matches(real_key, available, n=3, cutoff=0.5)
        lower = [n for n in available if n.lower() == real_key.lower()]
        close = list(dict.fromkeys(lower + close))
        hint = f' Did you mean: {", ".join(close)}?' if close else ''
        shown = ', '.join(available[:60]) + (' ...' if len(available) > 60 else '')
        plugins = ', '.join(p['name'] for p in _PLUGINS['records']) or 'none'
        return UnknownComponentError(
            f"'{key}' is not in the videoar '{self.name}' registry.{hint} "
            f'Available names: [{shown}]. Installed plugins loaded: {plugins}. If it comes '
            f"from a plugin, install it (its entry point in the group '{PLUGIN_GROUP}'), or add "
            f"custom_imports=dict(imports=['your_plugin']) to the config."
        )

    def require(self, key):
        """:meth:`get`, raising :class:`UnknownComponentError` for an unknown name."""
        obj = self.get(key)
        if obj is None:
            raise self.unknown_name_error(key)
        return obj

    def build(self, cfg, *args, **kwargs):
        """Build ``cfg``; an unknown ``type`` raises :class:`UnknownComponentError`."""
        load_plugins()
        obj_type = cfg.get('type') if hasattr(cfg, 'get') else None
        if isinstance(obj_type, str):
            self.require(obj_type)
        return super().build(cfg, *args, **kwargs)


_MODELS = ['videoar.models']

# ---- generic registries (children of mmengine's roots) -------------------------------------
RUNNERS = Registry('runner', parent=MMENGINE_RUNNERS, locations=['videoar.engine'])
RUNNER_CONSTRUCTORS = Registry(
    'runner constructor', parent=MMENGINE_RUNNER_CONSTRUCTORS, locations=['videoar.engine']
)
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, locations=['videoar.engine'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, locations=['videoar.engine'])
STRATEGIES = Registry('strategy', parent=MMENGINE_STRATEGIES, locations=['videoar.engine'])
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, locations=['videoar.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler', parent=MMENGINE_DATA_SAMPLERS, locations=['videoar.datasets']
)
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, locations=['videoar.datasets'])
MODELS = Registry('model', parent=MMENGINE_MODELS, locations=_MODELS)
MODEL_WRAPPERS = Registry(
    'model_wrapper', parent=MMENGINE_MODEL_WRAPPERS, locations=['videoar.engine']
)
WEIGHT_INITIALIZERS = Registry(
    'weight initializer', parent=MMENGINE_WEIGHT_INITIALIZERS, locations=_MODELS
)
OPTIMIZERS = Registry('optimizer', parent=MMENGINE_OPTIMIZERS, locations=['videoar.engine'])
OPTIM_WRAPPERS = Registry(
    'optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS, locations=['videoar.engine']
)
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['videoar.engine', 'videoar.models.tokenizers'],
)
PARAM_SCHEDULERS = Registry(
    'parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS, locations=['videoar.engine']
)
METRICS = Registry('metric', parent=MMENGINE_METRICS, locations=['videoar.evaluation'])
EVALUATOR = Registry('evaluator', parent=MMENGINE_EVALUATOR, locations=['videoar.evaluation'])
TASK_UTILS = Registry('task util', parent=MMENGINE_TASK_UTILS, locations=_MODELS)
VISUALIZERS = Registry('visualizer', parent=MMENGINE_VISUALIZERS, locations=['videoar.engine'])
VISBACKENDS = Registry('vis_backend', parent=MMENGINE_VISBACKENDS, locations=['videoar.engine'])
LOG_PROCESSORS = Registry(
    'log_processor', parent=MMENGINE_LOG_PROCESSORS, locations=['videoar.engine']
)
INFERENCERS = Registry('inferencer', parent=MMENGINE_INFERENCERS, locations=['videoar.pipelines'])
FUNCTIONS = Registry('function', parent=MMENGINE_FUNCTIONS, locations=['videoar.datasets'])

# ---- domain registries (stand alone) --------------------------------------------------------
TOKENIZERS = Registry('tokenizer', locations=['videoar.models.tokenizers'])
QUANTIZERS = Registry('quantizer', locations=['videoar.models.quantizers'])
POS_ENCODINGS = Registry('positional encoding', locations=['videoar.models.pos_encodings'])
CORRECTORS = Registry('corrector', locations=['videoar.models.correctors'])
MASKINGS = Registry('masking', locations=['videoar.models.maskings'])
CONDITIONERS = Registry('conditioner', locations=['videoar.models.conditioners'])
CFG_SCHEDULES = Registry('cfg schedule', locations=['videoar.models.sampling'])
FEATURE_EXTRACTORS = Registry(
    'feature extractor', locations=['videoar.evaluation.feature_extractors']
)

__all__ = [
    'Registry',
    'UnknownComponentError',
    'RUNNERS',
    'RUNNER_CONSTRUCTORS',
    'LOOPS',
    'HOOKS',
    'STRATEGIES',
    'DATASETS',
    'DATA_SAMPLERS',
    'TRANSFORMS',
    'MODELS',
    'MODEL_WRAPPERS',
    'WEIGHT_INITIALIZERS',
    'OPTIMIZERS',
    'OPTIM_WRAPPERS',
    'OPTIM_WRAPPER_CONSTRUCTORS',
    'PARAM_SCHEDULERS',
    'METRICS',
    'EVALUATOR',
    'TASK_UTILS',
    'VISUALIZERS',
    'VISBACKENDS',
    'LOG_PROCESSORS',
    'INFERENCERS',
    'FUNCTIONS',
    'TOKENIZERS',
    'QUANTIZERS',
    'POS_ENCODINGS',
    'CORRECTORS',
    'MASKINGS',
    'CONDITIONERS',
    'CFG_SCHEDULES',
    'FEATURE_EXTRACTORS',
]

# ---- plugins found by installation ----------------------------------------------------------
_PLUGINS: dict = dict(loaded=False, loading=False, records=[])


def _all_registries() -> list[Registry]:
    return [obj for name, obj in globals().items() if name.isupper() and isinstance(obj, Registry)]


def _snapshot(registries) -> dict:
    """``{registry name: {component name: object}}`` of the registries and their parents."""
    snap = {}
    for reg in registries:
        while reg is not None:
            snap[f'{reg.scope}::{reg.name}'] = dict(reg._module_dict)
            reg = reg.parent
    return snap


def _changes(before: dict, after: dict) -> tuple[dict, dict]:
    """Names added, and names whose object was replaced, per registry."""
    added, replaced = {}, {}
    for reg, names in after.items():
        old = before.get(reg, {})
        new = sorted(n for n in names if n not in old)
        swapped = sorted(n for n in names if n in old and names[n] is not old[n])
        if new:
            added[reg] = new
        if swapped:
            replaced[reg] = swapped
    return added, replaced


def _entry_points():
    skip = {n.strip() for n in os.environ.get('VIDEOAR_DISABLE_PLUGINS', '').split(',') if n}
    found = metadata.entry_points(group=PLUGIN_GROUP)
    return [ep for ep in sorted(found, key=lambda e: e.name) if ep.name not in skip]


def _describe(ep) -> str:
    dist = getattr(ep, 'dist', None)
    return f'{dist.name} {dist.version}' if dist is not None else 'unknown distribution'


def _import_plugin(ep, registries) -> dict:
    """Import one entry point (calling it when it is a function) and record what it added."""
    before = _snapshot(registries)
    try:
        target = ep.load()
        if callable(target) and not isinstance(target, type):
            target()
    except KeyError as error:  # mmengine refuses a name registered twice without force=True
        raise PluginError(
            f"videoar plugin '{ep.name}' ({_describe(ep)}, entry point {ep.value!r}) registers a "
            f'name that already exists: {error}. Rename the component, or replace the existing '
            'one on purpose with register_module(force=True).'
        ) from error
    except Exception as error:
        tail = traceback.format_exception_only(type(error), error)[-1].strip()
        raise PluginError(
            f"videoar plugin '{ep.name}' ({_describe(ep)}, entry point {ep.value!r}) failed to "
            f'import: {tail}. Fix or uninstall it, or skip it with '
            f'VIDEOAR_DISABLE_PLUGINS={ep.name}.'
        ) from error
    added, replaced = _changes(before, _snapshot(registries))
    return dict(name=ep.name, distribution=_describe(ep), entry_point=ep.value,
                registered=added, replaced=replaced)  # fmt: skip


def _log_plugin(record: dict) -> None:
    parts = [f'{reg}: {", ".join(names)}' for reg, names in record['registered'].items()]
    parts += [
        f'{reg}: {", ".join(n)} (replaced, force=True)' for reg, n in record['replaced'].items()
    ]
    print_log(f"videoar plugin '{record['name']}' ({record['distribution']}) registered "
              + ('; '.join(parts) or 'nothing'), logger='current')  # fmt: skip


def load_plugins(reload: bool = False) -> bool:
    """Import every installed ``videoar.plugins`` entry point once; ``True`` when this call
    loaded at least one (so a failed lookup is worth repeating).

    videoar's own modules (each registry's ``locations``) are imported first, so that a plugin
    redefining a built-in name is caught. Raises :class:`PluginError` (see the module doc).
    """
    if _PLUGINS['loading'] or (_PLUGINS['loaded'] and not reload):
        return False
    if os.environ.get('VIDEOAR_PLUGINS', '1') == '0':
        _PLUGINS['loaded'] = True
        return False
    _PLUGINS['loading'] = True
    try:
        entry_points = _entry_points()
        registries = _all_registries()
        if entry_points:
            for reg in registries:
                reg.import_from_location()
        records = []
        for ep in entry_points:
            record = _import_plugin(ep, registries)
            records.append(record)
            _log_plugin(record)
        _PLUGINS['records'] = records
        _PLUGINS['loaded'] = True
        return bool(records)
    finally:
        _PLUGINS['loading'] = False


def loaded_plugins() -> list[dict]:
    """What :func:`load_plugins` imported: name, distribution, entry point, registered and
    replaced names per registry."""
    return [dict(r) for r in _PLUGINS['records']]


__all__ += ['PluginError', 'load_plugins', 'loaded_plugins']
