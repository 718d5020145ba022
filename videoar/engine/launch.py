"""Shared set-up for the command-line tools: arguments, config loading, overrides and
pre-flight checks."""

from __future__ import annotations

import argparse
import difflib
import os
import os.path as osp
import re

import torch
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.runner import Runner

from videoar import registry as registry_module
from videoar.registry import RUNNERS, Registry, UnknownComponentError
from videoar.utils import ConfigError

from .checkpointing import prepare_resume
from .compat import ddp_wrapper_cfg_for_cpu, setup_cpu_distributed
from .config_options import merge_options
from .hooks.preemption_hook import PreemptionHook

#: Top-level keys that mmengine's Runner (or videoar's tools) read.
RUNNER_KEYS = {
    'model', 'work_dir', 'experiment_name', 'train_dataloader', 'val_dataloader',
    'test_dataloader', 'train_cfg', 'val_cfg', 'test_cfg', 'auto_scale_lr', 'optim_wrapper',
    'param_scheduler', 'val_evaluator', 'test_evaluator', 'default_hooks', 'custom_hooks',
    'data_preprocessor', 'load_from', 'resume', 'launcher', 'env_cfg', 'log_processor',
    'log_level', 'visualizer', 'default_scope', 'randomness', 'model_wrapper_cfg', 'runner_type',
    'strategy', 'compile', 'find_unused_parameters', 'activation_checkpointing', 'custom_imports',
    'stages', 'curriculum', 'init_from_stage', 'preemption',
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
