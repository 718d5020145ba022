import warnings

import numpy as np
import pytest
import scipy.linalg
import torch

from videoar.evaluation.frechet import frechet_distance, frechet_distance_from_stats
from videoar.evaluation.stats import StreamingGaussianStats


def _scipy_fd(x, y):
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    covmean = np.real(covmean)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def _features(n, d, seed, shift=0.0, rank=None):
    rng = np.random.RandomState(seed)
    mix = rng.normal(size=(rank or d, d)) / np.sqrt(d)
    return rng.normal(size=(n, rank or d)) @ mix + shift


@pytest.mark.parametrize(
    'n, d, rank',
    [(300, 48, None), (20, 48, None), (300, 48, 10)],  # full rank, N < d, low-rank features
)
def test_frechet_matches_scipy(n, d, rank):
    x = _features(n, d, 0, rank=rank)
    y = _features(n + 7, d, 1, shift=0.3, rank=rank)
    ours = frechet_distance(x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))
    ref = _scipy_fd(x, y)
    assert ours.distance == pytest.approx(ref, rel=1e-6)
    assert ours.mean_term == pytest.approx(((x.mean(0) - y.mean(0)) ** 2).sum(), rel=1e-12)
    assert ours.distance > 1.0


def test_frechet_closed_form_for_diagonal_covariances_and_self_distance():
    rng = np.random.RandomState(0)
    a, b = rng.uniform(0.1, 2, 10), rng.uniform(0.1, 2, 10)
    mu1, mu2 = rng.normal(size=10), rng.normal(size=10)
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert float(frechet_distance(mu1, np.diag(a), mu2, np.diag(b))) == pytest.approx(
        expected, rel=1e-12
    )
    x = _features(10, 48, 3)  # rank-deficient self distance: ~0, never negative
    s = np.cov(x, rowvar=False)
    res = frechet_distance(x.mean(0), s, x.mean(0), s)
    assert res.distance >= 0.0 and abs(res.raw) < 1e-4 * np.trace(s)  # sqrt of rounding


def test_streaming_equals_batch_for_random_chunks():
    x = _features(257, 16, 4, shift=100.0)  # large offset: the naive formula would lose digits
    stats = StreamingGaussianStats()
    rng = np.random.RandomState(0)
    start = 0
    while start < len(x):
        size = int(rng.randint(1, 40))
        stats.update(torch.from_numpy(x[start : start + size]))  # float64 tensor
        start += size
    assert stats.count == 257
    np.testing.assert_allclose(stats.mean, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(stats.cov(1), np.cov(x, rowvar=False), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(stats.cov(0), np.cov(x, rowvar=False, ddof=0), rtol=1e-9, atol=1e-12)


def test_merging_two_halves_equals_whole_and_roundtrip(tmp_path):
    x = _features(101, 12, 5)
    whole = StreamingGaussianStats().update(x)
    a = StreamingGaussianStats().update(x[:30])
    b = StreamingGaussianStats().update(x[30:])
    merged = StreamingGaussianStats.merged([a, StreamingGaussianStats(), b])
    assert merged.count == whole.count
    np.testing.assert_allclose(merged.mean, whole.mean, rtol=1e-12)
    np.testing.assert_allclose(merged.m2, whole.m2, rtol=1e-10)
    path = str(tmp_path / 'stats.npz')
    merged.save(path, fingerprint=dict(extractor='x', num_frames=16))
    loaded, fp = StreamingGaussianStats.load(path)
    assert fp == dict(extractor='x', num_frames=16)
    np.testing.assert_array_equal(loaded.m2, merged.m2)
    assert loaded.count == 101


def test_errors_and_warnings():
    one = StreamingGaussianStats().update(np.ones((1, 4)))
    many = StreamingGaussianStats().update(np.random.RandomState(0).normal(size=(10, 4)))
    with pytest.raises(ValueError, match='at least 2'):
        frechet_distance_from_stats(one, many)
    small = StreamingGaussianStats().update(np.random.RandomState(1).normal(size=(3, 4)))
    with pytest.warns(UserWarning, match='rank-deficient'):
        frechet_distance_from_stats(small, many)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        frechet_distance_from_stats(many, many)
    with pytest.raises(ValueError, match='dim'):
        many.update(np.zeros((2, 5)))
    with pytest.raises(ValueError, match='non-finite'):
        many.update(np.full((2, 4), np.nan))
