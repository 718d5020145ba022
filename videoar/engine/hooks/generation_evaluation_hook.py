"""``GenerationEvaluationHook``: run :func:`videoar.evaluation.evaluate_generation` during and
after training, log the numbers and write ``metrics.json`` (the protocol is described there)."""

from __future__ import annotations

import os.path as osp

import torch
from mmengine.dist import is_main_process
from mmengine.evaluator import Evaluator
from mmengine.hooks import Hook

from videoar.evaluation.generation import (
    GenerationResult,
    build_evaluator,
    check_metric_types,
    evaluate_generation,
    generation_settings,
)
from videoar.evaluation.real_clips import build_real_dataloader
from videoar.evaluation.report import write_metrics_json
from videoar.registry import HOOKS
from videoar.utils import ConfigError

from ..config_options import find_hooks
from .utils import ema_weights

#: GenerationEvaluationHook arguments that are not evaluate_generation arguments
HOOK_ONLY_KEYS = ('type', 'interval', 'use_ema', 'evaluate_at_end', 'out_file', 'prefix')


def evaluation_settings_of(cfg) -> dict | None:
    """The :func:`evaluate_generation` arguments of a config's ``GenerationEvaluationHook``
    (its first one), or ``None`` when the config has none. The curriculum's evaluate stage and
    ``tools/test.py`` score a generator checkpoint with these, as the hook does after training.
    """
    hooks = cfg.get('custom_hooks') or []
    found = find_hooks(hooks, 'GenerationEvaluationHook')
    if not found:
        return None
    hook = hooks[found[0]]
    hook = hook.to_dict() if hasattr(hook, 'to_dict') else dict(hook)
    return {k: v for k, v in hook.items() if k not in HOOK_ONLY_KEYS}


@HOOKS.register_module()
class GenerationEvaluationHook(Hook):
    """Generate videos and run metrics every ``interval`` iterations and after training.

    Results are logged (``<prefix>/<metric>`` scalars in the visualizer backends) and written to
    ``<work_dir>/<out_file>`` with the protocol. EMA weights are used when mmengine's ``EMAHook``
    is enabled; a progress bar shows the generation.

    Args:
        metrics: metric configs (``METRICS``), e.g. ``[dict(type='ClassAccuracy', ...)]``.
        interval: iterations between evaluations (``0``: only after training).
        num_samples: videos to generate (default 64).
        real_dataloader: dataloader config of real clips (read in order; the default sampler
            does not shuffle); needed for ``conditions='dataset'``, the ``'real'`` reference, and
            metrics that compare with real videos.
        use_ema: use the EMA weights when an ``EMAHook`` is present.
        evaluate_at_end: evaluate after training (unless the last interval just did).
        out_file: file under the work dir.
        prefix: prefix of the logged scalar names.
        **settings: the other settings of :func:`evaluate_generation` (``batch_size``,
            ``conditions``, ``seed``, ``num_classes``, ``num_frames``, ``references``), with its
            defaults.
    """

    priority = 'LOW'

    def __init__(
        self,
        metrics,
        interval: int = 0,
        num_samples: int = 64,
        real_dataloader=None,
        use_ema: bool = True,
        evaluate_at_end: bool = True,
        out_file: str = 'metrics.json',
        prefix: str = 'gen',
        **settings,
    ) -> None:
        check_metric_types(metrics)
        if interval < 0:
            raise ConfigError(f'GenerationEvaluationHook interval must be >= 0, got {interval}.')
        self.settings = generation_settings(
            real_dataloader is not None,
            'GenerationEvaluationHook ',
            num_samples=num_samples,
            **settings,
        )
        self.metrics = metrics
        self.interval = int(interval)
        self.real_dataloader = real_dataloader
        self.use_ema = bool(use_ema)
        self.evaluate_at_end = bool(evaluate_at_end)
        self.out_file = out_file
        self.prefix = prefix
        self._evaluator: Evaluator | None = None
        self._loader = None
        self._last_iter: int | None = None
        self.last_result: GenerationResult | None = None

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.interval and self.every_n_train_iters(runner, self.interval):
            self.evaluate(runner, runner.iter + 1)

    def after_train(self, runner) -> None:
        if self.evaluate_at_end and self._last_iter != runner.iter:
            self.evaluate(runner, runner.iter)

    @torch.no_grad()
    def evaluate(self, runner, step: int) -> GenerationResult:
        self._last_iter = step
        if self._evaluator is None:
            self._evaluator = build_evaluator(self.metrics)
            self._loader = build_real_dataloader(
                self.real_dataloader, self.settings['batch_size'], seed=self.settings['seed']
            )
        with ema_weights(runner, self.use_ema) as ema:
            result = evaluate_generation(
                runner.model,
                self._evaluator,
                real_dataloader=self._loader,
                keep_videos=0,
                **self.settings,
            )
        result.protocol.update(ema=ema, iteration=int(step))
        self.last_result = result
        self._log(runner, result, step, ema)
        return result

    def _log(self, runner, result: GenerationResult, step: int, ema: bool) -> None:
        """Log the numbers (text, message hub, visualizer) and write ``metrics.json``."""
        numbers = {k: v for k, v in result.metrics.items() if isinstance(v, (int, float))}
        text = ', '.join(f'{k}: {v:.4g}' for k, v in numbers.items())
        runner.logger.info(f'GenerationEvaluationHook (iter {step}, EMA={ema}): {text}')
        scalars = {f'{self.prefix}/{k}': v for k, v in numbers.items()}
        for key, value in scalars.items():
            runner.message_hub.update_scalar(key, value)
        if not is_main_process():
            return
        if scalars and runner.visualizer is not None:
            runner.visualizer.add_scalars(scalars, step=step)
        path = osp.join(runner.work_dir, self.out_file)
        write_metrics_json(
            path, result.metrics, self._evaluator, extra=dict(protocol=result.protocol)
        )
        runner.logger.info(f'GenerationEvaluationHook: wrote {path}')
