"""Evaluate a generator: generate videos for balanced or dataset conditions and run metrics.

The same loop serves ``GenerationEvaluationHook``, the curriculum's evaluate stage and
``tools/test.py``.

The protocol (recorded in ``metrics.json``):

* ``num_samples`` videos are generated, conditioned on class labels balanced over the classes
  (``conditions='balanced'``: sample ``i`` gets class ``i mod C``) or on the labels and captions
  of the real clips in order (``conditions='dataset'``).
* Sample ``i`` is paired with real clip ``i`` of ``real_dataloader`` (read in order) as its
  ``gt_video``, for metrics comparing against real videos (Fréchet distances).
* The generated videos go to the configured ``METRICS`` through an mmengine ``Evaluator`` as the
  predict outputs of ``docs/interfaces.md`` (``pred_video``, ``gt_video``, ``label``,
  ``caption``).
* Optional references, so the numbers can be read: ``'real'`` scores real clips
  ``num_samples .. 2*num_samples - 1`` of the loader as if they were generated (labels: their
  own); ``'reconstruction'`` scores the same clips passed through the model's tokenizer
  (``model.reconstruct``: encode, quantize at the model's scale schedule, decode), the ceiling
  the AR model can reach; and ``'shuffled'`` generates with every class label shifted to
  another class (by a seeded offset in ``[1, C-1]``) and captions rolled by one, while the
  metrics still see the original label. Their keys are prefixed ``real/``,
  ``reconstruction/`` and ``shuffled/``.
* Noise is seeded per sample position (``seed``), so the numbers are reproducible and
  the ``shuffled`` pass uses the same noise as the generated one.

With several processes, position ``p`` is generated on rank ``p mod world_size`` and the
evaluator gathers the results (padded to equal counts, truncated to ``num_samples``).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
from mmengine.dist import get_dist_info
from mmengine.evaluator import Evaluator

from videoar.registry import METRICS
from videoar.utils import ConfigError, check_choice, check_positive, unwrap
from videoar.utils.progress import Progress

from .predict import make_data_samples, model_num_classes, predict_videos
from .real_clips import RealClipStream, build_real_dataloader

CONDITIONS = ('balanced', 'dataset')
REFERENCES = ('real', 'reconstruction', 'shuffled')
#: references that read real clips ``num_samples .. 2*num_samples - 1``
REAL_CLIP_REFERENCES = ('real', 'reconstruction')
#: the :func:`evaluate_generation` arguments that a caller fixes once (a hook, a config)
SETTING_KEYS = (
    'num_samples', 'batch_size', 'conditions', 'seed', 'num_classes', 'num_frames', 'references'
)  # fmt: skip


def build_evaluator(metrics) -> Evaluator:
    """An ``Evaluator`` from metric configs (``METRICS``), metric objects or an Evaluator."""
    if isinstance(metrics, Evaluator):
        return metrics
    if isinstance(metrics, Mapping):
        metrics = [metrics]
    built = [METRICS.build(dict(m)) if isinstance(m, Mapping) else m for m in metrics]
    return Evaluator(built)


def check_metric_types(metrics) -> None:
    """Fail at config time on an unknown metric type (the registry error names alternatives)."""
    if isinstance(metrics, Mapping):
        metrics = [metrics]
    if not metrics:
        raise ConfigError('give at least one metric, e.g. metrics=[dict(type=...)].')
    for metric in metrics:
        if isinstance(metric, Mapping):
            if 'type' not in metric:
                raise ConfigError(f'a metric config needs a type, got {dict(metric)!r}.')
            if isinstance(metric['type'], str):
                METRICS.require(metric['type'])  # unknown: the registry's error


# ---------------------------------------------------------------------------------------------
# the evaluation
# ---------------------------------------------------------------------------------------------


@dataclass
class GenerationResult:
    """Output of :func:`evaluate_generation`.

    Attributes:
        metrics: ``{name: value}``; reference passes prefixed ``real/`` and ``shuffled/``.
        videos: the first generated videos of this rank ``(k, 3, F, H, W)`` (for a grid).
        labels: their conditioning labels.
        protocol: the settings, for ``metrics.json``.
        evaluator: the mmengine ``Evaluator`` that computed the metrics.
    """

    metrics: dict
    videos: torch.Tensor | None
    labels: list = field(default_factory=list)
    protocol: dict = field(default_factory=dict)
    evaluator: Evaluator | None = None


def check_generation_settings(
    num_samples: int,
    batch_size: int,
    conditions: str,
    references: Sequence[str] | str | None,
    has_real_clips: bool,
    where: str = '',
) -> tuple[str, ...]:
    """Check the settings of :func:`evaluate_generation` (at config time too); returns the
    references as a tuple.

    Raises:
        ConfigError: a non-positive count, an unknown condition or reference, or settings that
            read real clips (``conditions='dataset'``, the ``'real'`` and ``'reconstruction'``
            references) without them.
    """
    check_positive(num_samples, f'{where}num_samples')
    check_positive(batch_size, f'{where}batch_size')
    check_choice(conditions, CONDITIONS, f'{where}conditions')
    references = tuple([references] if isinstance(references, str) else references or ())
    for ref in references:
        check_choice(ref, REFERENCES, f'{where}references entry')
    readers = [r for r in references if r in REAL_CLIP_REFERENCES]
    if not has_real_clips and (conditions == 'dataset' or readers):
        raise ConfigError(
            f"{where}conditions='dataset' and the {' and '.join(map(repr, REAL_CLIP_REFERENCES))} "
            'references read real clips: give real_dataloader=dict(dataset=..., batch_size=...).'
        )
    return references


def generation_settings(has_real_clips: bool, where: str = '', **settings) -> dict:
    """``settings`` (keys of :data:`SETTING_KEYS`; ``num_samples`` required) completed with the
    defaults of :func:`evaluate_generation` and checked by :func:`check_generation_settings`;
    ``references`` as a tuple."""
    unknown = sorted(set(settings) - set(SETTING_KEYS))
    if unknown or 'num_samples' not in settings:
        raise ConfigError(
            f'{where}takes the evaluate_generation settings {list(SETTING_KEYS)} (num_samples '
            f'required), got unknown {unknown}.'
        )
    params = inspect.signature(evaluate_generation).parameters
    full = {key: settings.get(key, params[key].default) for key in SETTING_KEYS}
    full['references'] = check_generation_settings(
        full['num_samples'], full['batch_size'], full['conditions'], full['references'],
        has_real_clips, where,
    )  # fmt: skip
    return full


@dataclass
class _Run:
    """What every pass of one evaluation shares."""

    model: object
    evaluator: Evaluator
    loader: object
    num_samples: int
    batch_size: int
    conditions: str
    num_classes: int | None
    num_frames: int | None
    seed: int
    rank: int
    world: int

    @property
    def total(self) -> int:
        """Positions generated over all ranks (padded; the evaluator truncates)."""
        return math.ceil(self.num_samples / self.world) * self.world


def _generate(run: _Run, kind: str, positions, mine, labels, captions, start, shift_gen):
    """Generated videos of this rank's ``positions`` (``kind`` 'generated' or 'shuffled')."""
    if kind == 'shuffled':
        num_classes = run.num_classes
        shift = torch.randint(1, max(num_classes, 2), (len(mine),), generator=shift_gen)
        labels = [
            (lab + int(s)) % num_classes if lab >= 0 else lab for lab, s in zip(labels, shift)
        ]
        captions = captions[1:] + captions[:1]
    data_samples = make_data_samples(labels, captions, [positions[j] for j in mine])
    return predict_videos(run.model, data_samples, run.num_frames, run.seed + start + run.rank)


def _run_pass(run: _Run, kind: str, bar, keep: int, shift_gen) -> tuple[dict, bool, list, list]:
    """One pass (``'generated'``, ``'real'`` or ``'shuffled'``) through the evaluator.

    Returns ``(scores, wrapped, kept videos, kept labels)``; ``wrapped``: the real reference
    reused clips (the loader has fewer than ``2 * num_samples``).
    """
    stream = RealClipStream(run.loader) if run.loader is not None else None
    ref_stream = None
    if kind in REAL_CLIP_REFERENCES:
        ref_stream = RealClipStream(run.loader, skip=run.num_samples)
    chunk = run.batch_size * run.world
    kept, kept_labels = [], []
    for start in range(0, run.total, chunk):
        positions = list(range(start, min(start + chunk, run.total)))
        reals = stream.take(len(positions)) if stream is not None else None
        preds = ref_stream.take(len(positions)) if ref_stream is not None else None
        mine = [j for j, p in enumerate(positions) if p % run.world == run.rank]
        if not mine:
            continue
        labels, captions = _conditions(positions, mine, reals, run.conditions, run.num_classes)
        if kind in REAL_CLIP_REFERENCES:
            videos = torch.stack([preds[j][0] for j in mine]).float()
            labels = [preds[j][1] for j in mine]
            captions = [preds[j][2] for j in mine]
            if kind == 'reconstruction':
                videos = _reconstruct(run.model, videos)
        else:
            videos = _generate(run, kind, positions, mine, labels, captions, start, shift_gen)
        outputs = []
        for n, j in enumerate(mine):
            item = dict(
                pred_video=videos[n],
                label=int(labels[n]),
                caption=captions[n],
                index=positions[j] % run.num_samples,
            )
            if reals is not None:
                item['gt_video'] = reals[j][0].float()
            outputs.append(item)
        run.evaluator.process(outputs)
        if kind == 'generated' and len(kept) < keep:
            take = min(keep - len(kept), len(outputs))
            kept.extend(videos[:take])
            kept_labels.extend(labels[:take])
        bar.update(len(mine))
    scores = run.evaluator.evaluate(run.num_samples)
    return scores, bool(ref_stream is not None and ref_stream.wrapped), kept, kept_labels


def _reconstruct(model, videos: torch.Tensor) -> torch.Tensor:
    """``videos (B, 3, F, H, W)`` through the generator's tokenizer, on its device."""
    model = unwrap(model)
    device = next(model.parameters()).device
    return model.reconstruct(videos.to(device)).float().cpu()


def _reference_passes(run: _Run, references, bar, shift_gen) -> tuple[dict, dict]:
    """The reference passes (before the generated one, so the metrics' ``protocol``
    attributes describe the generated pass afterwards): ``(scores, their protocols)``."""
    scores, protocols = {}, {}
    for kind in references:
        result, wrapped, _, _ = _run_pass(run, kind, bar, 0, shift_gen)
        scores[kind] = {f'{kind}/{k}': _to_python(v) for k, v in result.items()}
        protocols[kind] = {
            type(m).__name__: m.protocol
            for m in run.evaluator.metrics
            if getattr(m, 'protocol', None)
        }
        if wrapped:
            scores[kind][f'{kind}/note'] = (
                f'the real loader has fewer than {2 * run.num_samples} clips: the {kind} '
                'reference reuses clips that are also the gt_video of the generated pass'
            )
    return scores, protocols


def _protocol(run: _Run, references, frames, reference_protocols) -> dict:
    """The settings of the evaluation, for ``metrics.json``."""
    loader = run.loader
    protocol = dict(
        num_samples=int(run.num_samples),
        conditions=run.conditions,
        num_classes=run.num_classes,
        seed=int(run.seed),
        num_frames=frames,
        references=list(references),
        real_pairs='sample i is paired with real clip i (loader order) as gt_video'
        if loader is not None
        else None,
        real_dataset=_describe_dataset(loader),
        metrics=[_describe_metric(m) for m in run.evaluator.metrics],
        sample_cfg=dict(getattr(unwrap(run.model), 'sample_cfg', {}) or {}),
        model=type(unwrap(run.model)).__name__,
        world_size=run.world,
    )
    if reference_protocols:
        protocol['reference_protocols'] = reference_protocols
    return protocol


def _prepare(model, metrics, num_samples, batch_size, conditions, real_dataloader, seed,
             num_classes, num_frames, references) -> _Run:  # fmt: skip
    """Check the settings, build the real loader and the evaluator."""
    has_real = real_dataloader is not None
    check_generation_settings(num_samples, batch_size, conditions, references, has_real)
    loader = build_real_dataloader(real_dataloader, batch_size, seed)
    num_classes = num_classes or model_num_classes(model) or _dataset_num_classes(loader)
    if num_classes is None and (conditions == 'balanced' or 'shuffled' in references):
        raise ConfigError(
            "conditions='balanced' (and the 'shuffled' reference) need class labels: give "
            "num_classes, use a class-conditional model, or use conditions='dataset'."
        )
    if 'reconstruction' in references and not callable(getattr(unwrap(model), 'reconstruct', None)):
        raise ConfigError(
            f"the 'reconstruction' reference needs a generator with a tokenizer "
            f'(reconstruct(videos)); {type(unwrap(model)).__name__} has none: drop it from '
            'references.'
        )
    evaluator = build_evaluator(metrics)
    if loader is not None and getattr(loader.dataset, 'metainfo', None):
        evaluator.dataset_meta = loader.dataset.metainfo
    rank, world = get_dist_info()
    return _Run(model, evaluator, loader, num_samples, batch_size, conditions, num_classes,
                num_frames, seed, rank, world)  # fmt: skip


def evaluate_generation(
    model,
    metrics,
    num_samples: int,
    batch_size: int = 16,
    conditions: str = 'balanced',
    real_dataloader=None,
    seed: int = 0,
    num_classes: int | None = None,
    num_frames: int | None = None,
    references: Sequence[str] = (),
    keep_videos: int = 16,
    progress: bool = True,
) -> GenerationResult:
    """Generate ``num_samples`` videos and score them (see the module docstring).

    Args:
        model: the generator (``predict`` mode returns ``pred_video``); put in eval mode here.
        metrics: metric configs, metric objects or an ``Evaluator``.
        real_dataloader: a built DataLoader (or a config) of real clips, read in order.
        num_classes: classes for ``'balanced'`` (default: ``model.conditioner.num_classes``,
            else the number of ``classes`` in the real dataset's ``metainfo``).
        num_frames: frames to generate (default: the model's clip length).
        references: any of ``'real'``, ``'shuffled'``.
        keep_videos: how many generated videos to return for a sample grid.
    """
    references = tuple([references] if isinstance(references, str) else references or ())
    kinds = [r for r in REFERENCES if r in references]  # each once, in a fixed order
    run = _prepare(model, metrics, num_samples, batch_size, conditions, real_dataloader, seed,
                   num_classes, num_frames, references)  # fmt: skip
    per_rank = run.total // run.world
    bar = Progress(
        per_rank * (len(kinds) + 1),
        enabled=progress,
        label=f'generating {num_samples} videos for evaluation'
        + (f' (+ references: {", ".join(references)})' if references else ''),
    )
    shift_gen = torch.Generator().manual_seed(int(seed) + 1)
    by_pass, reference_protocols = _reference_passes(run, kinds, bar, shift_gen)
    scores, _, kept, kept_labels = _run_pass(run, 'generated', bar, keep_videos, shift_gen)
    bar.close()
    by_pass['generated'] = {k: _to_python(v) for k, v in scores.items()}
    results = {
        k: v for kind in ('generated', *REFERENCES) for k, v in by_pass.get(kind, {}).items()
    }
    frames = int(kept[0].shape[1]) if kept else num_frames
    return GenerationResult(
        metrics=results,
        videos=torch.stack(kept) if kept else None,
        labels=kept_labels,
        protocol=_protocol(run, references, frames, reference_protocols),
        evaluator=run.evaluator,
    )


def _dataset_num_classes(loader) -> int | None:
    meta = getattr(getattr(loader, 'dataset', None), 'metainfo', None)
    classes = meta.get('classes') if isinstance(meta, Mapping) else None
    return len(classes) if classes else None


def _conditions(positions, mine, reals, conditions, num_classes):
    if conditions == 'dataset':
        return [reals[j][1] for j in mine], [reals[j][2] for j in mine]
    return [positions[j] % num_classes for j in mine], [''] * len(mine)


def _to_python(value):
    if isinstance(value, torch.Tensor):
        return value.item() if value.numel() == 1 else value.tolist()
    if hasattr(value, 'item') and callable(value.item):
        try:
            return value.item()
        except (ValueError, TypeError):
            pass
    return value


def _describe_dataset(loader) -> dict | None:
    if loader is None:
        return None
    dataset = loader.dataset
    info = dict(type=type(dataset).__name__, length=len(dataset))
    meta = getattr(dataset, 'metainfo', None)
    if isinstance(meta, Mapping):
        info.update({k: v for k, v in meta.items() if isinstance(v, (int, float, str))})
    return info


def _describe_metric(metric) -> dict:
    """Type and result name of a metric (its full protocol goes to ``protocols`` in the file)."""
    info = dict(type=type(metric).__name__)
    if getattr(metric, 'name', None):
        info['name'] = metric.name
    return info


__all__ = [
    'CONDITIONS',
    'REFERENCES',
    'GenerationResult',
    'build_evaluator',
    'check_generation_settings',
    'check_metric_types',
    'evaluate_generation',
]
