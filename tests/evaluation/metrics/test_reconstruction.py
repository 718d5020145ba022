import math

import numpy as np
import pytest
import torch

from videoar.evaluation.metrics.reconstruction import (
    PSNR,
    SSIM,
    psnr_per_frame,
    ssim_per_frame,
)
from videoar.registry import METRICS
from videoar.utils.validation import ConfigError


def _run(metric, preds, gts):
    samples = [dict(pred_video=p, gt_video=g) for p, g in zip(preds, gts)]
    metric.process({}, samples[:2])
    metric.process({}, samples[2:])
    return metric.compute_metrics(metric.results)


def test_identical_videos_give_inf_psnr_and_unit_ssim():
    torch.manual_seed(0)
    videos = [torch.rand(3, 2, 16, 16) * 2 - 1 for _ in range(3)]
    assert _run(PSNR(), videos, videos)['psnr'] == math.inf
    assert _run(SSIM(), videos, videos)['ssim'] == pytest.approx(1.0, abs=1e-12)


def test_psnr_of_known_noise_level():
    torch.manual_seed(0)
    gt = torch.rand(4, 3, 3, 8, 8, dtype=torch.float64) * 1.6 - 0.8  # away from clamp
    delta = 0.05  # in [0, 1] units, i.e. 0.1 in [-1, 1] units
    sign = torch.randint(0, 2, gt.shape).double() * 2 - 1
    pred = gt + 2 * delta * sign
    expected = -20 * math.log10(delta)  # mse = delta^2 -> 26.02 dB
    per_frame = psnr_per_frame(pred, gt)
    assert torch.allclose(per_frame, torch.full_like(per_frame, expected), atol=1e-9)
    assert _run(PSNR(), list(pred), list(gt))['psnr'] == pytest.approx(expected, abs=1e-4)  # fp32


def test_psnr_averages_per_frame_not_pooled_mse():
    gt = torch.zeros(1, 3, 2, 4, 4)
    pred = gt.clone()
    pred[:, :, 0] += 0.2  # frame 0: mse 0.01 -> 20 dB
    pred[:, :, 1] += 0.02  # frame 1: mse 1e-4 -> 40 dB
    assert psnr_per_frame(pred, gt)[0].tolist() == pytest.approx([20.0, 40.0])
    # pooled mse would give 10*log10(1/0.00505) = 22.97 dB, the mean of frames is 30 dB
    assert _run(PSNR(), [pred[0]] * 3, [gt[0]] * 3)['psnr'] == pytest.approx(30.0)


def _naive_ssim(x, y, win=11, sigma=1.5):
    """Explicit loop over valid windows of one 2D channel (numpy)."""
    c = np.arange(win) - (win - 1) / 2
    g = np.exp(-(c**2) / (2 * sigma**2))
    g = np.outer(g, g)
    g /= g.sum()
    c1, c2 = 0.01**2, 0.03**2
    vals = []
    for i in range(x.shape[0] - win + 1):
        for j in range(x.shape[1] - win + 1):
            px, py = x[i : i + win, j : j + win], y[i : i + win, j : j + win]
            mx, my = (g * px).sum(), (g * py).sum()
            vx = (g * px * px).sum() - mx * mx
            vy = (g * py * py).sum() - my * my
            cxy = (g * px * py).sum() - mx * my
            vals.append(
                ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
            )
    return float(np.mean(vals))


def test_ssim_matches_naive_reference_rgb_and_luma():
    rng = np.random.RandomState(0)
    gt = rng.uniform(-1, 1, size=(1, 3, 2, 14, 13))
    pred = np.clip(gt + rng.normal(0, 0.3, size=gt.shape), -1, 1)
    got = ssim_per_frame(torch.from_numpy(pred), torch.from_numpy(gt))
    u_p, u_g = (pred + 1) / 2, (gt + 1) / 2
    for f in range(2):
        ref = np.mean([_naive_ssim(u_p[0, ch, f], u_g[0, ch, f]) for ch in range(3)])
        assert float(got[0, f]) == pytest.approx(ref, abs=1e-10)
    got_y = ssim_per_frame(torch.from_numpy(pred), torch.from_numpy(gt), channels='y')
    w = np.array([0.299, 0.587, 0.114])[:, None, None]
    ref_y = _naive_ssim((u_p[0, :, 0] * w).sum(0), (u_g[0, :, 0] * w).sum(0))
    assert float(got_y[0, 0]) == pytest.approx(ref_y, abs=1e-10)
    assert 0.0 < ref_y < 0.9


def test_ssim_of_constant_frames_has_closed_form():
    a, b = 0.25, 0.75  # [0, 1] values
    gt = torch.full((1, 3, 1, 12, 12), 2 * a - 1)
    pred = torch.full((1, 3, 1, 12, 12), 2 * b - 1)
    c1 = 0.01**2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    assert float(ssim_per_frame(pred, gt)) == pytest.approx(expected, abs=1e-12)


def test_registry_build_and_errors():
    metric = METRICS.build(dict(type='SSIM', channels='y'))
    assert metric.channels == 'y'
    with pytest.raises(ConfigError, match='odd'):
        SSIM(window_size=10)
    with pytest.raises(ConfigError, match='channels'):
        SSIM(channels='lab')
    with pytest.raises(KeyError, match='gt_video'):
        PSNR().process({}, [dict(pred_video=torch.zeros(3, 1, 4, 4))])
    with pytest.raises(ValueError, match='at least 11x11'):
        SSIM().process(
            {}, [dict(pred_video=torch.zeros(3, 1, 8, 8), gt_video=torch.zeros(3, 1, 8, 8))]
        )
