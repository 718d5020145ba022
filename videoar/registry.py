"""All registries of videoar.

Generic registries are children of mmengine's roots, so mmengine's Runner finds our
components under ``default_scope='videoar'``. Domain registries (tokenizers, quantizers, ...)
stand alone, as mmagic's diffusion schedulers do. Every registry has ``locations=`` so a
config's ``type='Name'`` resolves without manual imports.

An unknown name raises :class:`UnknownComponentError` (a ``KeyError``) naming the registry,
the available names and the closest matches.
"""

from __future__ import annotations

import difflib

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


class UnknownComponentError(KeyError):
    """Raised when a config names a ``type`` that no registry knows."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0]) if self.args else ''


class Registry(_MMRegistry):
    """An mmengine registry whose failed lookups explain themselves."""

    def _available_names(self) -> list[str]:
        names = set(self._module_dict)
        parent = self.parent
        while parent is not None:
            names.update(parent._module_dict)
            parent = parent.parent
        return sorted(names)

    def get(self, key):
        obj = super().get(key)
        if obj is None and isinstance(key, str):
            scope, real_key = self.split_scope_key(key)
            available = self._available_names()
            close = difflib.get_close_matches(real_key, available, n=3, cutoff=0.5)
            lower = [n for n in available if n.lower() == real_key.lower()]
            close = list(dict.fromkeys(lower + close))
            hint = f' Did you mean: {", ".join(close)}?' if close else ''
            shown = ', '.join(available[:60]) + (' ...' if len(available) > 60 else '')
            raise UnknownComponentError(
                f"'{key}' is not in the videoar '{self.name}' registry.{hint} "
                f'Available names: [{shown}]. If it comes from a plugin, add '
                f"custom_imports=dict(imports=['your_plugin']) to the config."
            )
        return obj


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
