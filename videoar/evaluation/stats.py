"""Streaming float64 mean and covariance of feature vectors (Chan et al. parallel update).

Memory is ``O(D^2)`` whatever the number of samples; two partial statistics (for example
from two distributed ranks) merge exactly into the statistics of their union.
"""

from __future__ import annotations

import json
import os

import numpy as np

from .frechet import _single_threaded_blas


class StreamingGaussianStats:
    """Running count, mean ``(D,)`` and centred second moment ``M2 (D, D)``, all float64.

    ``update(features)`` folds a batch in with Chan's pairwise formula (a batch's own mean and
    centred moment, then a rank-one correction), which stays accurate where the naive
    ``sum(x x^T) - n mu mu^T`` loses digits. ``cov(ddof)`` is ``M2 / (n - ddof)``:
    ``ddof=1`` as TF-GAN and ``np.cov`` (the FVD reference), ``ddof=0`` as StyleGAN-V.
    """

    def __init__(self, dim: int | None = None) -> None:
        self.count = 0
        self.dim = dim
        self.mean = None if dim is None else np.zeros(dim, dtype=np.float64)
        self.m2 = None if dim is None else np.zeros((dim, dim), dtype=np.float64)

    def _init(self, dim: int) -> None:
        self.dim = dim
        self.mean = np.zeros(dim, dtype=np.float64)
        self.m2 = np.zeros((dim, dim), dtype=np.float64)

    def _merge_moments(self, count: int, mean: np.ndarray, m2: np.ndarray) -> None:
        if count == 0:
            return
        if self.mean is None:
            self._init(mean.shape[0])
        if mean.shape[0] != self.dim:
            raise ValueError(
                f'feature dim {mean.shape[0]} does not match the statistics dim {self.dim}.'
            )
        total = self.count + count
        delta = mean - self.mean
        self.mean = self.mean + delta * (count / total)
        self.m2 = self.m2 + m2 + np.outer(delta, delta) * (self.count * count / total)
        self.count = total

    def update(self, features) -> StreamingGaussianStats:
        """Add a batch of feature vectors ``(B, D)`` (numpy or torch, any float dtype)."""
        if hasattr(features, 'detach'):
            features = features.detach().cpu().double().numpy()
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f'features must be (B, D), got shape {x.shape}.')
        if not np.all(np.isfinite(x)):
            raise ValueError('features hold non-finite values (nan or inf).')
        if x.shape[0] == 0:
            return self
        batch_mean = x.mean(axis=0)
        centred = x - batch_mean
        with _single_threaded_blas():
            moment = centred.T @ centred
        self._merge_moments(x.shape[0], batch_mean, moment)
        return self

    def merge(self, other: StreamingGaussianStats) -> StreamingGaussianStats:
        """Fold ``other`` into ``self`` (in place; returns ``self``)."""
        if other.count:
            self._merge_moments(other.count, other.mean, other.m2)
        return self

    @classmethod
    def merged(cls, parts) -> StreamingGaussianStats:
        """The statistics of the union of ``parts`` (e.g. gathered from all ranks)."""
        out = cls()
        for part in parts:
            out.merge(part)
        return out

    def cov(self, ddof: int = 1) -> np.ndarray:
        """Covariance ``(D, D)`` = ``M2 / (count - ddof)``; needs ``count > ddof`` and ``>= 2``."""
        if self.count < 2 or self.count <= ddof:
            raise ValueError(
                f'a covariance needs at least 2 samples (and more than ddof={ddof}); '
                f'these statistics hold {self.count}.'
            )
        return self.m2 / (self.count - ddof)

    # ---- persistence ------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return dict(count=self.count, dim=self.dim, mean=self.mean, m2=self.m2)

    @classmethod
    def from_state_dict(cls, state: dict) -> StreamingGaussianStats:
        out = cls()
        if state['count']:
            out._init(int(state['dim']))
            out.count = int(state['count'])
            out.mean = np.asarray(state['mean'], dtype=np.float64).copy()
            out.m2 = np.asarray(state['m2'], dtype=np.float64).copy()
        return out

    def save(self, path: str, fingerprint: dict | None = None) -> None:
        """Write ``count``, ``mean``, ``m2`` and a JSON ``fingerprint`` to an ``.npz`` file."""
        if self.count == 0:
            raise ValueError('refusing to save empty statistics.')
        os.makedirs(os.path.dirname(os.path.abspath(path)) or '.', exist_ok=True)
        tmp = path + '.tmp.npz'
        np.savez(
            tmp,
            count=np.int64(self.count),
            mean=self.mean,
            m2=self.m2,
            fingerprint=np.array(json.dumps(fingerprint or {}, sort_keys=True)),
        )
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str) -> tuple[StreamingGaussianStats, dict]:
        """Read statistics saved by :meth:`save`; returns ``(stats, fingerprint)``."""
        with np.load(path, allow_pickle=False) as data:
            count = int(data['count'])
            mean = data['mean']
            stats = cls.from_state_dict(
                dict(count=count, dim=mean.shape[0], mean=mean, m2=data['m2'])
            )
            fingerprint = json.loads(str(data['fingerprint']))
        return stats, fingerprint

    def __repr__(self) -> str:
        return f'{type(self).__name__}(count={self.count}, dim={self.dim})'
