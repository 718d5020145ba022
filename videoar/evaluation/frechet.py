"""The Fréchet distance between two Gaussians, in float64, by the symmetric eigen method.

``FD = ||mu1 - mu2||^2 + Tr(S1) + Tr(S2) - 2 Tr sqrt(S1 S2)``. The product ``S1 S2`` is not
symmetric, so ``scipy.linalg.sqrtm`` of it is slow, may return complex parts for rank-deficient
covariances, and its ``disp`` argument is removed in SciPy 1.18. Instead (as TF-GAN's
``trace_sqrt_product``): with ``A = S1^(1/2)`` (symmetric, from ``eigh``),
``Tr sqrt(S1 S2) = Tr sqrt(A S2 A)`` and ``A S2 A`` is symmetric positive semi-definite, so its
eigenvalues are real and non-negative (up to rounding, which is clipped at 0).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits


def _single_threaded_blas():
    """Run the small (D <= ~2000) eigendecompositions on one BLAS thread.

    Measured here: ``eigh`` of a 400x400 matrix takes 0.02 s on one OpenBLAS thread but 3.7 s
    on two when the cores are busy (OpenBLAS threads spin-wait). One thread is never much slower
    at these sizes.
    """
    return threadpool_limits(limits=1, user_api='blas')


@dataclass(frozen=True)
class FrechetResult:
    """The distance and its parts (all float64).

    ``distance`` is ``raw`` clamped at 0 (rounding can make ``FD(X, X)`` slightly negative for
    rank-deficient covariances).
    """

    distance: float
    raw: float
    mean_term: float
    trace_term: float

    def __float__(self) -> float:
        return self.distance


def _as_float64(x, name: str) -> np.ndarray:
    if hasattr(x, 'detach'):  # torch tensor
        x = x.detach().cpu().double().numpy()
    arr = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f'{name} holds non-finite values (nan or inf).')
    return arr


def sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite ``(D, D)`` matrix (float64).

    Negative eigenvalues from rounding are clipped to 0.
    """
    sym = (matrix + matrix.T) / 2.0
    eigvals, eigvecs = np.linalg.eigh(sym)
    root = np.sqrt(np.clip(eigvals, 0.0, None))
    return (eigvecs * root) @ eigvecs.T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """``Tr sqrt(sigma1 @ sigma2)`` for symmetric PSD ``(D, D)`` matrices, in float64."""
    a = sqrt_psd(sigma1)
    m = a @ sigma2 @ a
    m = (m + m.T) / 2.0
    eigvals = np.linalg.eigvalsh(m)
    return float(np.sqrt(np.clip(eigvals, 0.0, None)).sum())


def frechet_distance(mu1, sigma1, mu2, sigma2) -> FrechetResult:
    """Fréchet distance between ``N(mu1, sigma1)`` and ``N(mu2, sigma2)``.

    Args:
        mu1, mu2: means ``(D,)``.
        sigma1, sigma2: covariances ``(D, D)`` (symmetric PSD; symmetrised here).

    Returns:
        :class:`FrechetResult` (``float(result)`` is the distance).
    """
    mu1, mu2 = _as_float64(mu1, 'mu1'), _as_float64(mu2, 'mu2')
    s1, s2 = _as_float64(sigma1, 'sigma1'), _as_float64(sigma2, 'sigma2')
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,) or s1.shape != (d, d) or s2.shape != (d, d):
        raise ValueError(
            'frechet_distance: expected means (D,) and covariances (D, D) of the same D; got '
            f'{mu1.shape}, {s1.shape}, {mu2.shape}, {s2.shape}.'
        )
    s1 = (s1 + s1.T) / 2.0
    s2 = (s2 + s2.T) / 2.0
    diff = mu1 - mu2
    mean_term = float(diff @ diff)
    with _single_threaded_blas():
        trace_term = float(np.trace(s1) + np.trace(s2) - 2.0 * trace_sqrt_product(s1, s2))
    raw = mean_term + trace_term
    return FrechetResult(max(raw, 0.0), raw, mean_term, trace_term)


def frechet_distance_from_stats(stats_a, stats_b, ddof: int = 1) -> FrechetResult:
    """Fréchet distance between two :class:`~videoar.evaluation.stats.StreamingGaussianStats`.

    Raises ``ValueError`` when a set has fewer than 2 samples; warns when a set has fewer
    samples than feature dimensions (its covariance is rank-deficient and the distance biased).
    """
    for name, stats in (('first', stats_a), ('second', stats_b)):
        if stats.count < 2:
            raise ValueError(
                f'Fréchet distance needs at least 2 feature vectors per set (a covariance); the '
                f'{name} set has {stats.count}. Evaluate more videos.'
            )
        if stats.count < stats.dim:
            warnings.warn(
                f'the {name} feature set has {stats.count} samples < feature dim {stats.dim}: '
                'its covariance is rank-deficient and the Fréchet distance strongly biased; '
                'compare only numbers computed with the same sample count.',
                stacklevel=2,
            )
    if stats_a.dim != stats_b.dim:
        raise ValueError(f'feature dims differ: {stats_a.dim} vs {stats_b.dim}.')
    return frechet_distance(stats_a.mean, stats_a.cov(ddof), stats_b.mean, stats_b.cov(ddof))
