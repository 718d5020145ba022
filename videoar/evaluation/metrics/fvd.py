"""Fréchet video distance (and its classifier-feature variants), with the protocol recorded.

``FVD`` extracts features of the generated ``pred_video`` of every predict output with a
configurable feature extractor (``I3D`` for reported numbers, ``MovingDigitsClassifier`` for the
embedded demo, any ``FEATURE_EXTRACTORS`` entry) and folds them into float64 streaming
statistics; each rank keeps its own and they are merged at the end, so memory does not grow with
the number of videos. The real statistics come from one of:

1. ``reference_stats`` (a saved ``.npz`` file; its fingerprint must match the current protocol);
2. ``reference_dataset`` (a dataset config: the first ``num_reference`` clips are extracted once,
   on rank 0, with a progress bar, and saved to ``reference_stats`` when a path is given);
3. otherwise the ``gt_video`` of the same predict outputs.

After :meth:`evaluate`, ``self.protocol`` (a dict) records the extractor identity and weights
hash, the numbers of real and generated clips, frames, stride, resolution, ``ddof``, the source
of the real statistics and the two parts of the distance; ``write_metrics_json`` stores it beside
the number.
"""

from __future__ import annotations

import copy
import logging
import os.path as osp
import warnings
from collections.abc import Mapping, Sequence

import torch
from mmengine.dist import all_gather_object, broadcast_object_list, get_world_size, is_main_process
from mmengine.logging import print_log

from videoar.evaluation.frechet import frechet_distance_from_stats
from videoar.evaluation.reference_stats import (
    ReferenceStatsMismatchError,
    check_fingerprint,
    compute_reference_stats,
    normalise,
    stats_fingerprint,
)
from videoar.evaluation.stats import StreamingGaussianStats
from videoar.registry import DATASETS, FEATURE_EXTRACTORS, METRICS
from videoar.utils.validation import ConfigError, build_checked, check_choice, check_positive

from .base import VideoMetric, stack_videos

__all__ = ['FVD', 'ReferenceStatsMismatchError']

_DEFAULT_NAMES = {'I3D': 'fvd', 'MovingDigitsClassifier': 'fcd'}


def default_device() -> str:
    return 'cuda' if torch.cuda.is_available() else 'cpu'


@METRICS.register_module()
class FVD(VideoMetric):
    """Fréchet distance between feature statistics of generated and real videos.

    Args:
        feature_extractor: a ``FEATURE_EXTRACTORS`` config (default ``dict(type='I3D')``, which
            loads the cached weights; see ``tools/fetch_i3d_weights.py``) or a built module.
        reference_stats: path of a reference statistics file (``.npz``). Loaded (and checked) if
            it exists; written after computing from ``reference_dataset`` or from ``gt_video``.
        reference_dataset: a dataset config whose first ``num_reference`` items are the real
            clips (in index order; independent of the number of processes).
        num_reference: number of real clips (``None``: the whole dataset / all ``gt_video``).
            Checked against a loaded file.
        frame_stride: the frame stride the clips were sampled with (recorded and fingerprinted;
            real and generated clips must share it; not applied here).
        ddof: covariance normalisation: 1 (TF-GAN / original FVD, default) or 0 (StyleGAN-V).
        name: result key (default ``fvd`` for I3D, ``fcd`` for the MovingDigits classifier,
            ``fd_<extractor>`` otherwise).
        pred_key, gt_key: keys of the generated and real videos in the predict outputs.
        device: device of the feature extractor (default CUDA when available).
        reference_batch_size: clips per forward when extracting ``reference_dataset``.
    """

    def __init__(
        self,
        feature_extractor=None,
        reference_stats: str | None = None,
        reference_dataset: dict | None = None,
        num_reference: int | None = None,
        frame_stride: int = 1,
        ddof: int = 1,
        name: str | None = None,
        pred_key: str = 'pred_video',
        gt_key: str = 'gt_video',
        device: str | None = None,
        reference_batch_size: int = 8,
        collect_device: str = 'cpu',
        prefix: str | None = None,
        collect_dir: str | None = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        check_choice(ddof, (0, 1), 'FVD ddof')
        check_positive(frame_stride, 'FVD frame_stride')
        check_positive(reference_batch_size, 'FVD reference_batch_size')
        if num_reference is not None:
            check_positive(num_reference, 'FVD num_reference')
        if reference_dataset is not None and not isinstance(reference_dataset, Mapping):
            raise ConfigError(
                f'FVD reference_dataset must be a dataset config dict, got {type(reference_dataset)}.'
            )
        self.device = torch.device(device or default_device())
        if feature_extractor is None:
            feature_extractor = dict(type='I3D')
        extractor = build_checked(FEATURE_EXTRACTORS, feature_extractor, 'FVD feature_extractor')
        if not callable(getattr(extractor, 'fingerprint', None)):
            raise ConfigError(
                f'FVD feature_extractor {type(extractor).__name__} has no fingerprint() method; '
                'feature extractors must implement forward(video) -> (B, D) and fingerprint().'
            )
        self.extractor = extractor.to(self.device).eval()
        extractor_name = type(extractor).__name__
        self.name = name or _DEFAULT_NAMES.get(extractor_name, f'fd_{extractor_name.lower()}')
        self.reference_stats = osp.expanduser(reference_stats) if reference_stats else None
        self.reference_dataset = (
            copy.deepcopy(dict(reference_dataset)) if reference_dataset else None
        )
        self.num_reference = num_reference
        self.frame_stride = int(frame_stride)
        self.ddof = int(ddof)
        self.pred_key = pred_key
        self.gt_key = gt_key
        self.reference_batch_size = reference_batch_size
        self.protocol: dict | None = None
        self._fixed_reference: tuple[StreamingGaussianStats, dict] | None = None
        self._reset()

    # ---- helpers --------------------------------------------------------------------------------
    def _reset(self) -> None:
        self._gen = StreamingGaussianStats()
        self._real = StreamingGaussianStats()

    @property
    def uses_gt(self) -> bool:
        """Whether the real statistics come from the ``gt_video`` of the predict outputs."""
        if self.reference_dataset is not None:
            return False
        return not (self.reference_stats and osp.isfile(self.reference_stats))

    def extract(self, video: torch.Tensor) -> torch.Tensor:
        """Features ``(B, D)`` float64 on CPU of ``video (B, 3, F, H, W)`` in ``[-1, 1]``."""
        with torch.no_grad():
            return self.extractor(video.to(self.device)).double().cpu()

    def _source_description(self):
        if self.reference_dataset is not None:
            return dict(dataset=self.reference_dataset)
        return dict(predict_outputs=self.gt_key)

    def expected_fingerprint(self, num_samples: int | None) -> dict:
        return stats_fingerprint(
            self.extractor.fingerprint(),
            self.frame_stride,
            self.ddof,
            num_samples,
            self._source_description(),
        )

    def load_reference(self) -> tuple[StreamingGaussianStats, dict] | None:
        """The fixed reference statistics (file or dataset), computed/loaded once; else ``None``."""
        if self._fixed_reference is not None:
            return self._fixed_reference
        path = self.reference_stats
        if path and osp.isfile(path):
            stats, saved = StreamingGaussianStats.load(path)
            check_fingerprint(
                saved,
                self.expected_fingerprint(self.num_reference),
                path,
                check_source=self.reference_dataset is not None,
            )
            self._fixed_reference = (
                stats,
                dict(kind='file', path=path, source=saved.get('source')),
            )
        elif self.reference_dataset is not None:
            dataset = DATASETS.build(copy.deepcopy(self.reference_dataset))
            print_log(
                f'[{self.name}] extracting reference features of {self.num_reference or len(dataset)} '
                'real clips (once)',
                logger='current',
            )
            stats = compute_reference_stats(
                dataset,
                self.extractor,
                num_samples=self.num_reference,
                batch_size=self.reference_batch_size,
                device=self.device,
            )
            if path:
                stats.save(path, self.expected_fingerprint(stats.count))
            self._fixed_reference = (
                stats,
                dict(kind='dataset', path=path, source=normalise(self.reference_dataset)),
            )
        return self._fixed_reference

    # ---- BaseMetric -----------------------------------------------------------------------------
    def process(self, data_batch, data_samples: Sequence) -> None:
        pred = stack_videos(data_samples, self.pred_key, type(self).__name__)
        self._gen.update(self.extract(pred))
        if self.uses_gt:
            gt = stack_videos(data_samples, self.gt_key, f'{type(self).__name__} (reference)')
            self._real.update(self.extract(gt))

    def compute_metrics(self, results: list) -> dict:
        """Not used: :meth:`evaluate` merges streaming statistics instead of result lists."""
        raise NotImplementedError('FVD computes in evaluate() from merged streaming statistics.')

    def _gather(self, stats: StreamingGaussianStats) -> StreamingGaussianStats:
        if get_world_size() <= 1:
            return stats
        parts = all_gather_object(stats.state_dict())
        return StreamingGaussianStats.merged(
            StreamingGaussianStats.from_state_dict(p) for p in parts
        )

    def evaluate(self, size: int) -> dict:
        gen = self._gather(self._gen)
        real = self._gather(self._real) if self.uses_gt else None
        payload = [None]
        if is_main_process():
            payload = [self._compute(gen, real, size)]
        broadcast_object_list(payload)
        metrics, self.protocol = payload[0]
        self._reset()
        if self.prefix:
            metrics = {f'{self.prefix}/{k}': v for k, v in metrics.items()}
        return metrics

    def _compute(self, gen, real, size: int):
        if gen.count != size:
            print_log(
                f'[{self.name}] {gen.count} generated clips were evaluated but the dataset has '
                f'{size} items (a distributed sampler pads with duplicates; use a dataset length '
                'divisible by the number of processes for exact counts).',
                logger='current',
                level=logging.WARNING,
            )
        if real is None:
            real, reference = self.load_reference()
        else:
            if self.num_reference is not None and real.count != self.num_reference:
                raise ValueError(
                    f'{self.name}: num_reference={self.num_reference} but {real.count} gt_video '
                    'clips were evaluated.'
                )
            reference = dict(kind='predict_outputs', key=self.gt_key, path=self.reference_stats)
            if self.reference_stats:  # save for reuse; a later run loads and checks it
                real.save(self.reference_stats, self.expected_fingerprint(real.count))
                reference['saved'] = True
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            result = frechet_distance_from_stats(real, gen, ddof=self.ddof)
        for w in caught:
            print_log(f'[{self.name}] {w.message}', logger='current', level=logging.WARNING)
        fingerprint = normalise(self.extractor.fingerprint())
        protocol = dict(
            metric=self.name,
            value=result.distance,
            extractor=fingerprint,
            num_generated=gen.count,
            num_reference=real.count,
            num_frames=fingerprint.get('num_frames'),
            frame_stride=self.frame_stride,
            resolution=fingerprint.get('resolution'),
            ddof=self.ddof,
            reference=reference,
            distance='Fréchet, float64, symmetric eigh: ||mu_r - mu_g||^2 + '
            'Tr(S_r + S_g - 2 (S_r^1/2 S_g S_r^1/2)^1/2)',
            mean_term=result.mean_term,
            trace_term=result.trace_term,
            raw_distance=result.raw,
            rank_deficient=min(gen.count, real.count) < gen.dim,
        )
        return {self.name: result.distance}, protocol
