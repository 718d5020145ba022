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
  own), and ``'shuffled'`` generates with every class label shifted to another class (by a
  seeded offset in ``[1, C-1]``) and captions rolled by one, while the metrics still see the
  original label. Their keys are prefixed ``real/`` and ``shuffled/``.
* Noise is seeded per sample position (``seed``), so the numbers are reproducible and
  the ``shuffled`` pass uses the same noise as the generated one.

With several processes, position ``p`` is generated on rank ``p mod world_size`` and the
evaluator gathers the results (padded to equal counts, truncated to ``num_samples``).
"""

from __future__ import annotations

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
REFERENCES = ('real', 'shuffled')


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
                METRICS.get(metric['type'])


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
    check_positive(num_samples, 'num_samples')
    check_positive(batch_size, 'batch_size')
    check_choice(conditions, CONDITIONS, 'conditions')
    references = tuple(references or ())
    for ref in references:
        check_choice(ref, REFERENCES, 'references entry')
    loader = build_real_dataloader(real_dataloader, batch_size, seed)
    if loader is None and (conditions == 'dataset' or 'real' in references):
        raise ConfigError(
            "conditions='dataset' and the 'real' reference read real clips: give real_dataloader."
        )
    num_classes = num_classes or model_num_classes(model) or _dataset_num_classes(loader)
    if num_classes is None and (conditions == 'balanced' or 'shuffled' in references):
        raise ConfigError(
            "conditions='balanced' (and the 'shuffled' reference) need class labels: give "
            "num_classes, use a class-conditional model, or use conditions='dataset'."
        )
    evaluator = build_evaluator(metrics)
    if loader is not None and getattr(loader.dataset, 'metainfo', None):
        evaluator.dataset_meta = loader.dataset.metainfo

    rank, world = get_dist_info()
    per_rank = math.ceil(num_samples / world)
    total = per_rank * world  # padded; the evaluator truncates to num_samples
    chunk = batch_size * world
    kept: list[torch.Tensor] = []
    kept_labels: list[int] = []
    by_pass: dict[str, dict] = {}
    # references first: the metrics' ``protocol`` attributes then describe the generated pass
    passes = [r for r in REFERENCES if r in references] + ['generated']
    reference_protocols: dict = {}
    bar = Progress(
        per_rank * len(passes),
        enabled=progress,
        label=f'generating {num_samples} videos for evaluation'
        + (f' (+ references: {", ".join(references)})' if references else ''),
    )
    shift_gen = torch.Generator().manual_seed(int(seed) + 1)
    for kind in passes:
        stream = RealClipStream(loader) if loader is not None else None
        ref_stream = RealClipStream(loader, skip=num_samples) if kind == 'real' else None
        for start in range(0, total, chunk):
            positions = list(range(start, min(start + chunk, total)))
            reals = stream.take(len(positions)) if stream is not None else None
            preds = ref_stream.take(len(positions)) if ref_stream is not None else None
            mine = [j for j, p in enumerate(positions) if p % world == rank]
            if not mine:
                continue
            labels, captions = _conditions(positions, mine, reals, conditions, num_classes)
            if kind == 'real':
                videos = torch.stack([preds[j][0] for j in mine]).float()
                labels = [preds[j][1] for j in mine]
                captions = [preds[j][2] for j in mine]
            else:
                gen_labels, gen_captions = labels, captions
                if kind == 'shuffled':
                    shift = torch.randint(1, max(num_classes, 2), (len(mine),), generator=shift_gen)
                    gen_labels = [
                        (lab + int(s)) % num_classes if lab >= 0 else lab
                        for lab, s in zip(labels, shift)
                    ]
                    gen_captions = captions[1:] + captions[:1]
                data_samples = make_data_samples(
                    gen_labels, gen_captions, [positions[j] for j in mine]
                )
                videos = predict_videos(model, data_samples, num_frames, seed + start + rank)
            outputs = []
            for n, j in enumerate(mine):
                item = dict(
                    pred_video=videos[n],
                    label=int(labels[n]),
                    caption=captions[n],
                    index=positions[j] % num_samples,
                )
                if reals is not None:
                    item['gt_video'] = reals[j][0].float()
                outputs.append(item)
            evaluator.process(outputs)
            if kind == 'generated' and len(kept) < keep_videos:
                take = min(keep_videos - len(kept), len(outputs))
                kept.extend(videos[:take])
                kept_labels.extend(labels[:take])
            bar.update(len(mine))
        scores = evaluator.evaluate(num_samples)
        prefix = '' if kind == 'generated' else f'{kind}/'
        by_pass[kind] = {f'{prefix}{k}': _to_python(v) for k, v in scores.items()}
        if kind != 'generated':
            reference_protocols[kind] = {
                type(m).__name__: m.protocol
                for m in evaluator.metrics
                if getattr(m, 'protocol', None)
            }
        if kind == 'real' and ref_stream.wrapped:
            by_pass[kind]['real/note'] = (
                f'the real loader has fewer than {2 * num_samples} clips: the real reference '
                'reuses clips that are also the gt_video of the generated pass'
            )
    bar.close()
    results = {
        k: v for kind in ('generated', *REFERENCES) for k, v in by_pass.get(kind, {}).items()
    }
    frames = int(kept[0].shape[1]) if kept else num_frames
    protocol = dict(
        num_samples=int(num_samples),
        conditions=conditions,
        num_classes=num_classes,
        seed=int(seed),
        num_frames=frames,
        references=list(references),
        real_pairs='sample i is paired with real clip i (loader order) as gt_video'
        if loader is not None
        else None,
        real_dataset=_describe_dataset(loader),
        metrics=[_describe_metric(m) for m in evaluator.metrics],
        sample_cfg=dict(getattr(unwrap(model), 'sample_cfg', {}) or {}),
        model=type(unwrap(model)).__name__,
        world_size=world,
    )
    if reference_protocols:
        protocol['reference_protocols'] = reference_protocols
    return GenerationResult(
        metrics=results,
        videos=torch.stack(kept) if kept else None,
        labels=kept_labels,
        protocol=protocol,
        evaluator=evaluator,
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
    'check_metric_types',
    'evaluate_generation',
]
