"""Shared set-up for the command-line tools: arguments, config loading, overrides and
pre-flight checks."""

from __future__ import annotations

import argparse
import copy
import difflib
import importlib.util
import os
import os.path as osp
import re
import sys

import torch
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from videoar import registry as registry_module
from videoar.io.checkpoint import CheckpointNotFoundError
from videoar.io.runs import RunInputs
from videoar.registry import MODELS, RUNNERS, Registry, UnknownComponentError
from videoar.utils import ConfigError

from .checkpointing import prepare_resume
from .compat import ddp_wrapper_cfg_for_cpu, setup_cpu_distributed
from .config_options import merge_options
from .hooks.preemption_hook import PreemptionHook
from .runs import accepts, link_inputs

#: Top-level keys that mmengine's Runner (or videoar's tools) read.
RUNNER_KEYS = {
    'model', 'work_dir', 'experiment_name', 'train_dataloader', 'val_dataloader',
    'test_dataloader', 'train_cfg', 'val_cfg', 'test_cfg', 'auto_scale_lr', 'optim_wrapper',
    'param_scheduler', 'val_evaluator', 'test_evaluator', 'default_hooks', 'custom_hooks',
    'data_preprocessor', 'load_from', 'resume', 'launcher', 'env_cfg', 'log_processor',
    'log_level', 'visualizer', 'default_scope', 'randomness', 'model_wrapper_cfg', 'runner_type',
    'strategy', 'compile', 'find_unused_parameters', 'activation_checkpointing', 'custom_imports',
    'stages', 'curriculum', 'init_from_stage', 'preemption', 'inputs',
}  # fmt: skip
REQUIRED_FOR_TRAIN = ('model', 'train_dataloader', 'train_cfg', 'optim_wrapper')
LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')


def add_runner_arguments(parser: argparse.ArgumentParser, cfg_options_help: str) -> None:
    """The arguments every Runner tool takes: ``--cfg-options``, ``--launcher`` and the
    ``--local-rank`` that ``torch.distributed.launch`` passes (read by :func:`parse_tool_args`)."""
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help=cfg_options_help)
    parser.add_argument('--launcher', choices=list(LAUNCHERS), default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_tool_args(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """Parse ``argv`` and export ``--local-rank`` as ``LOCAL_RANK`` unless it is already set."""
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def prepare_config(
    path: str, cfg_options: dict | None, work_dir: str | None, for_training: bool
) -> tuple[Config, str]:
    """:func:`load_config`, :func:`check_top_level_keys` and :func:`resolve_work_dir` in one:
    the checked config and its work dir."""
    cfg = load_config(path, cfg_options)
    check_top_level_keys(cfg, for_training=for_training)
    return cfg, resolve_work_dir(cfg, path, work_dir)


def check_top_level_keys(cfg: Config, for_training: bool = True) -> None:
    """Catch misspelt top-level keys (``modle=``) and missing essentials before the Runner starts.

    Config files may define helper variables at top level, so only keys that look like a
    misspelling of a Runner key are reported.
    """
    keys = set(cfg.keys())
    problems = []
    for key in sorted(keys - RUNNER_KEYS):
        close = difflib.get_close_matches(key, sorted(RUNNER_KEYS), n=1, cutoff=0.85)
        if close:
            problems.append(f'{key!r} looks like a misspelling of {close[0]!r}')
    if for_training and 'stages' not in keys:
        missing = [k for k in REQUIRED_FOR_TRAIN if k not in keys]
        if missing:
            problems.append(f'missing required key(s) {missing}')
    if problems:
        raise ConfigError(f'config {cfg.filename}: ' + '; '.join(problems) + '.')


def load_config(path: str, cfg_options: dict | None = None) -> Config:
    """Read a config file and merge ``cfg_options`` (hooks may be addressed by type name,
    :func:`videoar.engine.config_options.merge_options`)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path!r} does not exist.')
    cfg = Config.fromfile(path)
    merge_options(cfg, cfg_options)
    return cfg


def resolve_work_dir(cfg: Config, config_path: str, work_dir: str | None) -> str:
    """``--work-dir`` > ``work_dir`` in the config > ``./work_dirs/<config stem>``."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])
    return cfg.work_dir


def enable_amp(cfg: Config, dtype: str = 'bfloat16') -> None:
    """Switch the optimizer wrapper to :class:`PortableAmpOptimWrapper` (bf16 on CPU and GPU)."""
    optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if optim_wrapper in ('AmpOptimWrapper', 'PortableAmpOptimWrapper'):
        cfg.optim_wrapper.type = 'PortableAmpOptimWrapper'
    elif optim_wrapper == 'OptimWrapper':
        cfg.optim_wrapper.type = 'PortableAmpOptimWrapper'
        cfg.optim_wrapper.setdefault('dtype', dtype)
    else:
        raise ConfigError(
            f'--amp cannot wrap optim_wrapper.type={optim_wrapper!r}; set '
            "optim_wrapper.type='PortableAmpOptimWrapper' in the config instead."
        )


def setup_launcher(cfg: Config, launcher: str) -> None:
    """Set the launcher; on a machine without CUDA, use gloo and DDP without device ids."""
    cfg.launcher = launcher
    if launcher == 'none':
        return
    if not torch.cuda.is_available():
        env_cfg = cfg.setdefault('env_cfg', ConfigDict())
        env_cfg.setdefault('dist_cfg', ConfigDict())
        env_cfg.dist_cfg.backend = 'gloo'
        setup_cpu_distributed(launcher)
        if cfg.get('runner_type') is None:
            cfg.model_wrapper_cfg = ddp_wrapper_cfg_for_cpu(cfg.get('model_wrapper_cfg'))
    os.environ.setdefault('LOCAL_RANK', '0')


def build_runner(cfg: Config):
    """The config's ``runner_type`` (from ``RUNNERS``) or mmengine's ``Runner``.

    For training configs, ``resume`` is first checked and resolved to a loadable checkpoint
    (:func:`videoar.engine.checkpointing.prepare_resume`), and the Runner gets a
    :class:`PreemptionHook` (:func:`add_preemption_hook`).
    """
    prepare_resume(cfg)
    try:
        runner = RUNNERS.build(cfg) if cfg.get('runner_type') is not None else Runner.from_cfg(cfg)
    except KeyError as error:  # mmengine's root registries: explain with ours
        explained = explain_unknown_type(error)
        if explained is None:
            raise
        raise explained from error
    if cfg.get('train_cfg') is not None:
        add_preemption_hook(runner, cfg.get('preemption'))
    return runner


def explain_unknown_type(error: KeyError) -> UnknownComponentError | None:
    """mmengine's ``'X is not in the videoar::model registry'`` -> our registry's explanation
    (close matches, available names, plugins); ``None`` for other errors."""
    if isinstance(error, UnknownComponentError):
        return None
    found = re.match(
        r'(\S+) is not in the videoar::(.+?) registry', str(error.args[0] if error.args else '')
    )
    if found is None:
        return None
    for reg in vars(registry_module).values():
        if isinstance(reg, Registry) and reg.name == found.group(2):
            return reg.unknown_name_error(found.group(1))
    return None


def add_preemption_hook(runner, options) -> None:
    """Register a :class:`PreemptionHook` unless ``custom_hooks`` already has one.

    The top-level config key ``preemption`` configures it: ``dict(signals=['SIGTERM',
    'SIGUSR1'], exit_code=75)`` are the defaults; ``dict(enabled=False)`` turns it off.
    """
    options = dict(options or {})
    if not options.pop('enabled', True):
        return
    if any(isinstance(h, PreemptionHook) for h in runner.hooks):
        return
    runner.register_hook(PreemptionHook(**options))


# ---- user errors, inputs, pre-flight checks, logging backends ------------------------------------

#: errors that are the user's to fix: printed as one line (plus the fix), exit code 2
USER_ERRORS = (ConfigError, CheckpointNotFoundError)


def run_main(main, argv=None):
    """Run a tool's ``main``; a :data:`USER_ERRORS` error becomes one line on stderr and exit
    code 2 instead of a traceback (``VIDEOAR_TRACEBACK=1`` keeps the traceback)."""
    try:
        return main(argv)
    except USER_ERRORS as err:
        if os.environ.get('VIDEOAR_TRACEBACK'):
            raise
        print(f'[videoar] error: {err}', file=sys.stderr, flush=True)
        raise SystemExit(2) from None


def link_run_inputs(cfg: Config, verbose: bool = True) -> RunInputs | None:
    """Resolve the config's ``inputs`` (:mod:`videoar.engine.runs`) and say what was linked."""
    found = link_inputs(cfg)
    if found is not None and verbose:
        print(f'[videoar] {found.describe()}', flush=True)
    return found


def preflight_model(cfg: Config) -> None:
    """Build the config's model on the meta device (no memory, no weights loaded), so a
    :class:`ConfigError` in it stops the tool before the Runner prints the environment and the
    config. Other errors are left for the Runner to raise where they belong."""
    model_cfg = cfg.get('model')
    if not isinstance(model_cfg, dict):
        return
    model_cfg = copy.deepcopy(
        model_cfg.to_dict() if isinstance(model_cfg, ConfigDict) else model_cfg
    )
    if accepts(model_cfg.get('type'), 'tokenizer_checkpoint'):
        model_cfg['tokenizer_checkpoint'] = None  # the weights are not needed to check shapes
        model_cfg['allow_random_tokenizer'] = True
    scope = cfg.get('default_scope') or 'videoar'
    try:
        with DefaultScope.overwrite_default_scope(scope), torch.device('meta'):
            MODELS.build(model_cfg)
    except ConfigError:
        raise
    except Exception:  # noqa: BLE001  (not a config error: the Runner reports it in context)
        return


#: ``--vis-backend`` choices: (backend type, the module it needs, the pip package)
VIS_BACKENDS = {
    'tensorboard': ('VideoTensorboardVisBackend', 'tensorboard', 'tensorboard'),
    'wandb': ('WandbVisBackend', 'wandb', 'wandb'),
}


def add_vis_backends(cfg: Config, names) -> None:
    """Add logging backends (``tensorboard``, ``wandb``) to the config's visualizer, after
    checking that their package is installed (a missing one is a :class:`ConfigError`)."""
    for name in names or []:
        if name not in VIS_BACKENDS:
            raise ConfigError(f'--vis-backend {name!r}: choose from {sorted(VIS_BACKENDS)}.')
        backend, module, package = VIS_BACKENDS[name]
        if importlib.util.find_spec(module) is None:
            raise ConfigError(
                f'--vis-backend {name} needs the {package!r} package: pip install {package}.'
            )
        visualizer = cfg.setdefault('visualizer', ConfigDict(type='Visualizer', vis_backends=[]))
        backends = list(visualizer.get('vis_backends') or [])
        if not any(b.get('type') == backend for b in backends):
            backends.append(dict(type=backend))
        visualizer.vis_backends = backends
