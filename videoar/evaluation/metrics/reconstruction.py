"""Reconstruction metrics: PSNR and SSIM, per frame on ``[0, 1]`` values, averaged.

Both read ``pred_video`` and ``gt_video`` ``(3, F, H, W)`` in ``[-1, 1]`` from the predict outputs,
map them to ``[0, 1]`` with ``(x + 1) / 2`` and clamp to ``[0, 1]`` (a decoder may overshoot).
A score is computed for every frame, averaged over the frames of a video, then over videos
(equal to the mean over all frames when all videos have the same length).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from videoar.registry import METRICS
from videoar.utils.validation import ConfigError, check_choice, check_positive

from .base import VideoMetric, stack_videos

#: ITU-R BT.601 luma weights, used by ``SSIM(channels='y')``.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)


def to_unit_range(video: torch.Tensor) -> torch.Tensor:
    """``[-1, 1] -> [0, 1]``, clamped; float64 for exact statistics."""
    return ((video.double() + 1.0) / 2.0).clamp_(0.0, 1.0)


def psnr_per_frame(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """PSNR in dB of every frame of videos in ``[-1, 1]``.

    Args:
        pred, target: ``(B, 3, F, H, W)`` in ``[-1, 1]``.

    Returns:
        float64 ``(B, F)``; ``inf`` for identical frames.
    """
    if pred.shape != target.shape:
        raise ValueError(
            f'PSNR: shapes differ, pred {tuple(pred.shape)} vs gt {tuple(target.shape)}.'
        )
    mse = (to_unit_range(pred) - to_unit_range(target)).pow(2).mean(dim=(1, 3, 4))  # (B, F)
    return 10.0 * torch.log10(1.0 / mse)  # data range 1; mse 0 -> inf


def gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Normalised 2D Gaussian window ``(size, size)`` in float64."""
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2.0
    g = torch.exp(-(coords**2) / (2.0 * sigma**2))
    g = g / g.sum()
    return g[:, None] * g[None, :]


def ssim_per_frame(
    pred: torch.Tensor,
    target: torch.Tensor,
    window_size: int = 11,
    sigma: float = 1.5,
    channels: str = 'rgb',
    k1: float = 0.01,
    k2: float = 0.03,
) -> torch.Tensor:
    """SSIM (Wang et al. 2004) of every frame of videos in ``[-1, 1]``.

    Gaussian-weighted local statistics (``window_size`` x ``window_size``, ``sigma``), population
    (co)variances, data range 1, ``C1 = (k1)^2``, ``C2 = (k2)^2``; the SSIM map is taken over the
    *valid* window positions only (no padding) and averaged. This equals
    ``skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=1)``. ``channels='rgb'`` averages the SSIM of the three
    channels; ``channels='y'`` computes it on BT.601 luma.

    Args:
        pred, target: ``(B, 3, F, H, W)`` in ``[-1, 1]``, with ``H, W >= window_size``.

    Returns:
        float64 ``(B, F)``.
    """
    if pred.shape != target.shape:
        raise ValueError(
            f'SSIM: shapes differ, pred {tuple(pred.shape)} vs gt {tuple(target.shape)}.'
        )
    b, c, f, h, w = pred.shape
    if min(h, w) < window_size:
        raise ValueError(
            f'SSIM needs frames of at least {window_size}x{window_size} pixels (the window size); '
            f'got {h}x{w}. Use a smaller window_size (odd, <= {min(h, w)}).'
        )
    x = to_unit_range(pred).permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w)
    y = to_unit_range(target).permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w)
    if channels == 'y':
        luma = torch.tensor(LUMA_WEIGHTS, dtype=torch.float64).view(1, 3, 1, 1)
        x = (x * luma).sum(1, keepdim=True)
        y = (y * luma).sum(1, keepdim=True)
    n_ch = x.shape[1]
    window = gaussian_window(window_size, sigma).expand(n_ch, 1, window_size, window_size)

    def filt(img: torch.Tensor) -> torch.Tensor:
        return F.conv2d(img, window, groups=n_ch)

    mu_x, mu_y = filt(x), filt(y)
    var_x = filt(x * x) - mu_x * mu_x
    var_y = filt(y * y) - mu_y * mu_y
    cov_xy = filt(x * y) - mu_x * mu_y
    c1, c2 = k1**2, k2**2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)) / (
        (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
    )
    return ssim_map.mean(dim=(1, 2, 3)).view(b, f)


class _FrameAveragedMetric(VideoMetric):
    """Stores one frame-averaged score per video; the result is the mean over videos.

    Args:
        pred_key, gt_key: keys of the compared videos in the predict outputs.
        **base_args: ``collect_device``, ``prefix``, ``collect_dir`` of mmengine's ``BaseMetric``.
    """

    key = ''

    def __init__(
        self,
        pred_key: str = 'pred_video',
        gt_key: str = 'gt_video',
        **base_args,
    ) -> None:
        super().__init__(**base_args)
        self.pred_key = pred_key
        self.gt_key = gt_key
        self.name = self.key
        self.protocol: dict | None = None

    def describe(self) -> dict:
        """The protocol fields specific to this metric."""
        return {}

    def per_frame(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def process(self, data_batch, data_samples: Sequence) -> None:
        name = type(self).__name__
        pred = stack_videos(data_samples, self.pred_key, name)
        gt = stack_videos(data_samples, self.gt_key, name)
        scores = self.per_frame(pred, gt).mean(dim=1)  # (B,)
        self.results.extend(float(s) for s in scores)

    def compute_metrics(self, results: list) -> dict:
        if not results:
            raise RuntimeError(f'{type(self).__name__}: no videos were evaluated.')
        value = float(sum(results) / len(results))
        self.protocol = dict(
            metric=self.key,
            value=value,
            num_videos=len(results),
            values='(x + 1) / 2 clamped to [0, 1], data range 1',
            averaging='per frame, mean over frames, then mean over videos',
            pred_key=self.pred_key,
            gt_key=self.gt_key,
            **self.describe(),
        )
        return {self.key: value}


@METRICS.register_module()
class PSNR(_FrameAveragedMetric):
    """Peak signal-to-noise ratio (dB) between ``pred_video`` and ``gt_video``, key ``psnr``.

    Per frame on ``[0, 1]`` values (data range 1), averaged over frames and videos. Identical
    videos give ``inf``.
    """

    key = 'psnr'

    def per_frame(self, pred, gt):
        return psnr_per_frame(pred, gt)

    def describe(self) -> dict:
        return dict(formula='10 log10(1 / MSE) per frame; inf for identical frames')


@METRICS.register_module()
class SSIM(_FrameAveragedMetric):
    """Structural similarity between ``pred_video`` and ``gt_video``, key ``ssim``.

    Gaussian window ``window_size=11``, ``sigma=1.5``, ``K1=0.01``, ``K2=0.03``, data range 1,
    valid window positions only; ``channels='rgb'`` (default: mean over R, G, B) or ``'y'``
    (BT.601 luma). See :func:`ssim_per_frame`. Other keyword arguments as
    :class:`_FrameAveragedMetric`.
    """

    key = 'ssim'

    def __init__(
        self,
        window_size: int = 11,
        sigma: float = 1.5,
        channels: str = 'rgb',
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        check_positive(window_size, 'SSIM window_size')
        if window_size % 2 != 1:
            raise ConfigError(
                f'SSIM window_size must be odd, got {window_size}; use {window_size + 1}.'
            )
        check_positive(sigma, 'SSIM sigma')
        check_choice(channels, ('rgb', 'y'), 'SSIM channels')
        self.window_size = window_size
        self.sigma = sigma
        self.channels = channels

    def per_frame(self, pred, gt):
        return ssim_per_frame(pred, gt, self.window_size, self.sigma, self.channels)

    def describe(self) -> dict:
        return dict(
            window=f'gaussian {self.window_size}x{self.window_size}, sigma {self.sigma}, valid',
            constants='K1=0.01, K2=0.03',
            channels='mean of R, G, B' if self.channels == 'rgb' else 'BT.601 luma',
        )


def psnr_from_mse(mse: float) -> float:
    """PSNR (dB) of a mean squared error on ``[0, 1]`` values."""
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)
