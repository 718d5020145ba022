"""The ``VBench`` metric: native VBench dimensions on generated videos, optional delegation of the
others to the ``vbench`` package, and the exact Total / Quality / Semantic aggregation.

Result keys are ``vbench_<dimension>`` (raw scores in ``[0, 1]``; multiply by 100 for the
published tables) and, when all 16 dimensions are present, ``vbench_total``,
``vbench_quality`` and ``vbench_semantic``; otherwise ``vbench_partial_quality`` /
``vbench_partial_semantic`` (never a "total" of a partial set; ``allow_partial=False`` raises).
"""

from __future__ import annotations

import os.path as osp
from collections.abc import Sequence

import numpy as np
import torch
from mmengine.dist import get_rank, get_world_size

from videoar.evaluation.vbench import native
from videoar.evaluation.vbench.export import export_for_vbench
from videoar.evaluation.vbench.runner import run_vbench
from videoar.evaluation.vbench.scoring import ALL_DIMENSIONS, aggregate_vbench
from videoar.io.video import to_uint8
from videoar.registry import METRICS
from videoar.utils.validation import ConfigError, check_known_keys, check_positive

from .base import VideoMetric, get_video, sample_get

NATIVE_DIMENSIONS = (
    'temporal_flickering',
    'dynamic_degree',
    'subject_consistency',
    'background_consistency',
)
_DELEGATE_KEYS = (
    'python',
    'dimensions',
    'work_dir',
    'mode',
    'cache_dir',
    'device',
    'timeout',
    'full_info',
)


def _to_frames(video: torch.Tensor) -> np.ndarray:
    return to_uint8(video)


@METRICS.register_module()
class VBench(VideoMetric):
    """VBench dimensions of the generated ``pred_video`` (their ``caption`` is the prompt).

    Args:
        dimensions: native dimensions to compute, from ``temporal_flickering`` (exact, no model),
            ``dynamic_degree`` (needs ``flow_model``), ``subject_consistency`` (needs
            ``subject_encoder``), ``background_consistency`` (needs ``background_encoder``).
        fps: frame rate of the generated videos (dynamic degree sub-samples to ~8 fps).
        flow_model: ``dict(weights='raft_large.pth', num_flow_updates=20)`` for
            :class:`~videoar.evaluation.vbench.native.TorchvisionRAFT` (local weights only).
        subject_encoder, background_encoder: ``dict(model_name=..., weights=..., preprocess=...)``
            for :class:`~videoar.evaluation.vbench.native.TimmImageEncoder`.
        static_filter: compute temporal flickering only on videos that VBench's static filter
            keeps (the standard protocol; needs ``flow_model``).
        delegate: run more dimensions with the ``vbench`` package in its own virtualenv:
            ``dict(python='~/vbench-venv/bin/python', dimensions=[...], work_dir=...,
            mode='custom_input', cache_dir=None, device='cuda', timeout=None)``. The generated
            videos are exported to ``work_dir/videos`` as ``{caption}-{i}.mp4``.
        allow_partial: with fewer than 16 dimensions report ``vbench_partial_*`` (default); if
            False raise :class:`~videoar.evaluation.vbench.scoring.IncompleteVBenchError`.
        pred_key, caption_key: keys of the video and its prompt in the predict outputs.
        device: device of the flow model and encoders (default CUDA when available).
        **base_args: ``collect_device``, ``prefix``, ``collect_dir`` of mmengine's ``BaseMetric``.
    """

    def __init__(
        self,
        dimensions: Sequence[str] = ('temporal_flickering',),
        fps: float = 8.0,
        flow_model: dict | None = None,
        subject_encoder: dict | None = None,
        background_encoder: dict | None = None,
        static_filter: bool = False,
        delegate: dict | None = None,
        allow_partial: bool = True,
        pred_key: str = 'pred_video',
        caption_key: str = 'caption',
        device: str | None = None,
        **base_args,
    ) -> None:
        super().__init__(**base_args)
        dimensions = list(dimensions)
        unknown = [d for d in dimensions if d not in NATIVE_DIMENSIONS]
        if unknown:
            raise ConfigError(
                f'VBench: {unknown} are not native dimensions (native: {list(NATIVE_DIMENSIONS)}); '
                'list the others in delegate=dict(dimensions=[...], python=...).'
            )
        check_positive(fps, 'VBench fps')
        self.device = torch.device(device or ('cuda' if torch.cuda.is_available() else 'cpu'))
        needs_flow = 'dynamic_degree' in dimensions or static_filter
        if needs_flow and flow_model is None:
            raise ConfigError(
                'VBench dynamic_degree and static_filter need flow_model=dict(weights=PATH) '
                '(a local torchvision raft_large .pth).'
            )
        self.flow_model = (
            native.TorchvisionRAFT(**flow_model).to(self.device) if needs_flow else None
        )
        self.encoders = {}
        for dim, cfg in (
            ('subject_consistency', subject_encoder),
            ('background_consistency', background_encoder),
        ):
            if dim in dimensions:
                if cfg is None:
                    raise ConfigError(
                        f'VBench {dim} needs {dim.split("_")[0]}_encoder=dict(model_name=..., '
                        'weights=LOCAL_PATH, preprocess=...).'
                    )
                self.encoders[dim] = native.TimmImageEncoder(**cfg).to(self.device)
        if delegate is not None:
            check_known_keys(delegate, _DELEGATE_KEYS, 'VBench delegate')
            for key in ('python', 'dimensions', 'work_dir'):
                if key not in delegate:
                    raise ConfigError(
                        f'VBench delegate needs {key!r}; got keys {sorted(delegate)}.'
                    )
            overlap = set(delegate['dimensions']) & set(dimensions)
            bad = [d for d in delegate['dimensions'] if d not in ALL_DIMENSIONS]
            if overlap or bad:
                raise ConfigError(
                    f'VBench delegate dimensions must be VBench dimensions not computed natively; '
                    f'overlap {sorted(overlap)}, unknown {bad}.'
                )
        self.dimensions = dimensions
        self.fps = float(fps)
        self.static_filter = static_filter
        self.delegate = dict(delegate) if delegate else None
        self.allow_partial = allow_partial
        self.pred_key = pred_key
        self.caption_key = caption_key
        self.name = 'vbench'
        self.protocol: dict | None = None
        self._exported = 0

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample in data_samples:
            video = get_video(sample, self.pred_key, 'VBench')
            frames = _to_frames(video)  # (F, H, W, 3) uint8, as the mp4 would hold
            record = {}
            if 'temporal_flickering' in self.dimensions:
                static = True
                if self.static_filter:
                    static = native.is_static_video(frames, self.flow_model, self.device)
                record['flicker'] = native.temporal_flickering_score(frames) if static else None
            if 'dynamic_degree' in self.dimensions:
                record['dynamic'] = bool(
                    native.dynamic_degree_video(frames, self.flow_model, self.fps, self.device)
                )
            for dim, encoder in self.encoders.items():
                record[dim] = native.consistency_sums(encoder(frames))
            if self.delegate is not None:
                caption = sample_get(sample, self.caption_key)
                if not caption:
                    raise KeyError(
                        f'VBench delegation needs the prompt in {self.caption_key!r} of every '
                        'predict output.'
                    )
                index = self._exported * get_world_size() + get_rank()  # unique across ranks
                export_for_vbench(
                    [frames], [str(caption)], self._video_dir(), fps=self.fps, indices=[index]
                )
                self._exported += 1
            self.results.append(record)

    def _video_dir(self) -> str:
        return osp.join(osp.expanduser(self.delegate['work_dir']), 'videos')

    def compute_metrics(self, results: list) -> dict:
        scores = {}
        if 'temporal_flickering' in self.dimensions:
            values = [r['flicker'] for r in results if r['flicker'] is not None]
            if not values:
                raise ValueError('VBench temporal_flickering: no (static) videos to score.')
            scores['temporal_flickering'] = float(np.mean(values))
        if 'dynamic_degree' in self.dimensions:
            scores['dynamic_degree'] = float(np.mean([r['dynamic'] for r in results]))
        for dim in self.encoders:
            total = sum(r[dim][0] for r in results)
            count = sum(r[dim][1] for r in results)
            scores[dim] = total / count
        delegated = {}
        if self.delegate is not None:
            d = self.delegate
            work_dir = osp.expanduser(d['work_dir'])
            delegated = run_vbench(
                self._video_dir(),
                list(d['dimensions']),
                osp.join(work_dir, 'results'),
                python=d['python'],
                mode=d.get('mode', 'custom_input'),
                cache_dir=d.get('cache_dir'),
                device=d.get('device', 'cuda'),
                timeout=d.get('timeout'),
                full_info=d.get('full_info'),
                prompt_file=osp.join(self._video_dir(), 'prompts.json'),
            )
            scores.update(delegated)
        aggregate = aggregate_vbench(scores, allow_partial=self.allow_partial)
        metrics = {f'vbench_{k}': v for k, v in scores.items()}
        for key in ('total', 'quality', 'semantic', 'partial_quality', 'partial_semantic'):
            if aggregate.get(key) is not None:
                metrics[f'vbench_{key}'] = aggregate[key]
        self.protocol = dict(
            metric='vbench',
            num_videos=len(results),
            num_static_videos=(
                sum(r.get('flicker') is not None for r in results) if self.static_filter else None
            ),
            fps=self.fps,
            native_dimensions=list(self.dimensions),
            delegated_dimensions=sorted(delegated),
            complete=aggregate['complete'],
            missing=aggregate.get('missing', []),
            scale='raw scores in [0, 1] (x100 for the published tables)',
            frames='uint8 via to_uint8 of the [-1, 1] videos (no mp4 round trip for native dims)',
            temporal_flickering='exact VBench formula'
            + (' on static-filtered videos' if self.static_filter else ' on all videos'),
            flow_model=None
            if self.flow_model is None
            else 'torchvision raft_large (local weights)',
            encoders={
                k: v.net.default_cfg.get('architecture', type(v.net).__name__)
                for k, v in self.encoders.items()
            },
            delegate=self.delegate,
        )
        self._exported = 0
        return metrics
