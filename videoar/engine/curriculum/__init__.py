"""Run a multi-stage curriculum with one mmengine Runner per stage (the VideoAR recipe:
tokenizer, then AR stages at growing resolution and duration, then an evaluation).

``python tools/train.py configs/videoar_curriculum.py`` calls :func:`run_curriculum` when the
config has ``stages``. A curriculum config::

    work_dir = './work_dirs/videoar_curriculum'
    stages = dict(
        tokenizer=dict(config='configs/tokenizer/....py'),
        stage1=dict(config='configs/videoar_stage1.py', tokenizer_from='tokenizer'),
        stage2=dict(config='configs/videoar_stage2.py', init_from='stage1',
                    tokenizer_from='tokenizer', cfg_options={'train_cfg.max_iters': 300}),
        evaluate=dict(kind='evaluate', from_stage='stage2',
                      evaluation=dict(metrics=[...], num_samples=100,
                                      references=['real', 'reconstruction', 'shuffled'],
                                      real_dataloader=dict(dataset=...)),
                      grid=dict(num_videos=16, fps=8)),
    )
    curriculum = dict(cfg_options={'default_hooks.logger.interval': 10}, auto_resume=True)

``stages`` is an ordered dict keyed by stage name (so a derived config overrides one stage by
name) or a list of dicts with ``name`` (:mod:`.stages`). Stage keys:

* ``kind``: ``'train'`` (default) or ``'evaluate'``; the stage's work directory is
  ``<work_dir>/<name>``.
* ``config``: the stage's config file (relative to the current directory, the curriculum
  config's directory, or the repository root).
* ``cfg_options``: overrides, as ``--cfg-options`` (dotted keys or nested dicts; hooks may be
  addressed by type, ``custom_hooks.EMAHook.momentum``); applied after the shared
  ``curriculum.cfg_options``. String values may use placeholders: ``{work_dir}`` (the
  curriculum's), ``{work_dir:NAME}`` and ``{checkpoint:NAME}`` (stage ``NAME``'s final
  checkpoint).
* ``init_from``: an earlier train stage whose final checkpoint initialises this one through the
  stage config's ``InitFromStageHook`` (added when the config has none); weights are adapted to
  the new resolution/duration (:func:`videoar.utils.state_dict.load_adapted_state_dict`).
* ``tokenizer_from``: an earlier train stage (the tokenizer) whose final checkpoint becomes
  ``model.tokenizer_checkpoint`` (when the model takes that argument, as ``VideoAR``) and the
  ``checkpoint`` of every ``LatentCacheDataset`` (whose ``cache_dir``, when unset, becomes
  ``<work_dir>/latent_cache``) (:mod:`.linking`).
* evaluate stages: ``from_stage`` (default: the last train stage before it), ``evaluation``
  (the arguments of :func:`videoar.evaluation.evaluate_generation`; default: those of the
  ``GenerationEvaluationHook`` in the source stage's config) and ``grid``
  (``num_videos=16, nrow=None, fps=8``) (:mod:`.evaluate`).

Finished stages are skipped, an interrupted stage resumes (:mod:`.runner`); the evaluate stage
writes ``metrics.json``, ``samples.mp4``/``.gif`` and ``report.md`` (:mod:`.report`) into the
curriculum's work directory.
"""

from .evaluate import evaluation_settings, run_evaluate_stage
from .report import render_report
from .runner import Curriculum, preflight_curriculum, run_curriculum
from .stages import Stage, parse_stages, resolve_config_path

__all__ = [
    'Curriculum',
    'Stage',
    'evaluation_settings',
    'parse_stages',
    'preflight_curriculum',
    'render_report',
    'resolve_config_path',
    'run_curriculum',
    'run_evaluate_stage',
]
