"""VBench dimensions computed in-process.

* ``temporal_flickering``: exact (no model). Per video the mean over adjacent frame pairs of the
  float32 mean absolute difference over all pixels and channels of uint8 frames;
  ``score = (255 - that) / 255``; the dimension is the mean over videos. VBench's standard
  protocol runs it only on *static* videos (:func:`is_static_video`).
* ``dynamic_degree``: VBench's algorithm with a pluggable optical-flow model (RAFT). Frames are
  sub-sampled to about 8 fps, padded to a multiple of 8 (replicate, centred), and per pair the
  mean of the top 5% flow magnitudes is compared with ``6 * min(H, W) / 256``; a video is dynamic
  if at least ``round(4 * n / 16)`` of its ``n`` frames' pairs exceed it. The dimension is the
  fraction of dynamic videos. Parity needs RAFT weights equivalent to ``raft-things``.
* ``subject_consistency`` / ``background_consistency``: VBench's formula with a pluggable image
  encoder: per frame ``i >= 1`` the mean of ``max(0, cos(f_i, f_{i-1}))`` and
  ``max(0, cos(f_i, f_0))`` of L2-normalised features, averaged over all frame pairs of all
  videos. Exact VBench numbers need DINO ViT-B/16 (subject) and CLIP ViT-B/32 (background) with
  their preprocessing; any timm model with local weights serves for monitoring.

Frames are uint8 ``(F, H, W, 3)`` RGB (``videoar.io.video.to_uint8`` of a ``[-1, 1]``
video); flow models take float RGB ``(1, 3, H, W)`` in ``[0, 255]``. Nothing is downloaded.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file
from torchvision.models.optical_flow import raft_large

from videoar.utils.validation import ConfigError, check_choice


# ---- temporal flickering ------------------------------------------------------------------------
def temporal_flickering_score(frames: np.ndarray) -> float:
    """VBench temporal flickering of one video, uint8 ``(F, H, W, C)`` with ``F >= 2``."""
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4:
        raise ValueError(
            f'temporal flickering needs uint8 (F, H, W, C) frames, got {frames.dtype} {frames.shape}.'
        )
    if len(frames) < 2:
        raise ValueError('temporal flickering needs at least 2 frames.')
    pair_mae = [
        np.mean(np.abs(frames[i].astype(np.float32) - frames[i + 1].astype(np.float32)))
        for i in range(len(frames) - 1)
    ]  # float32 means, as VBench (cv2.absdiff of float32 frames)
    return (255.0 - np.mean(np.array(pair_mae)).item()) / 255.0


def read_frames_cv2(path: str, rgb: bool = False) -> np.ndarray:
    """Decode a video file with OpenCV, as VBench does: uint8 ``(F, H, W, 3)`` (BGR by default)."""
    capture = cv2.VideoCapture(path)
    frames = []
    while capture.isOpened():
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if rgb else frame)
    capture.release()
    if not frames:
        raise ValueError(f'no frames could be decoded from {path!r}.')
    return np.stack(frames)


def temporal_flickering(videos: Iterable[np.ndarray]) -> tuple[float, list[float]]:
    """Mean over videos of :func:`temporal_flickering_score`; also the per-video scores."""
    per_video = [temporal_flickering_score(v) for v in videos]
    if not per_video:
        raise ValueError('temporal flickering: no videos.')
    return float(np.mean(per_video)), per_video


# ---- optical flow -------------------------------------------------------------------------------
def raft_padding(height: int, width: int) -> list[int]:
    """RAFT's ``InputPadder`` ('sintel' mode): ``[left, right, top, bottom]`` to a multiple of 8."""
    pad_h = (((height // 8) + 1) * 8 - height) % 8
    pad_w = (((width // 8) + 1) * 8 - width) % 8
    return [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2]


class TorchvisionRAFT(nn.Module):
    """Optical flow with torchvision's ``raft_large(weights=None)`` and a local weights file.

    Args:
        weights: a ``.pth`` state dict for ``torchvision.models.optical_flow.raft_large`` (for
            example torchvision's ``Raft_Large_Weights.C_T_V2``/``C_T_V1`` file downloaded by the
            user; ``C_T`` = trained on FlyingChairs + FlyingThings like VBench's ``raft-things``).
            Loaded with ``weights_only=True``. Never downloaded.
        num_flow_updates: refinement iterations (VBench: 20).

    ``forward(image1, image2)``: float RGB ``(B, 3, H, W)`` in ``[0, 255]``, ``H, W`` multiples
    of 8 -> flow ``(B, 2, H, W)`` in pixels. torchvision's RAFT needs at least 128 px: smaller
    frames are upsampled by an integer factor ``s`` (bilinear) and the flow is resized back and
    divided by ``s`` (VBench's own RAFT runs on them directly; small videos are outside VBench's
    protocol anyway).
    """

    def __init__(self, weights: str, num_flow_updates: int = 20, device: str | None = None) -> None:
        super().__init__()
        if not weights or not os.path.isfile(weights):
            raise FileNotFoundError(
                f'RAFT weights {weights!r} not found: give a local raft_large .pth file '
                '(videoar never downloads weights).'
            )
        self.net = raft_large(weights=None, progress=False)
        state = torch.load(weights, map_location='cpu', weights_only=True)
        state = {k.removeprefix('module.'): v for k, v in state.items()}
        self.net.load_state_dict(state)
        self.num_flow_updates = num_flow_updates
        self.eval().requires_grad_(False)
        if device is not None:
            self.to(device)

    @torch.no_grad()
    def forward(self, image1: torch.Tensor, image2: torch.Tensor) -> torch.Tensor:
        image1 = image1.float() / 127.5 - 1.0  # RAFT's own 2 * (x / 255) - 1
        image2 = image2.float() / 127.5 - 1.0
        height, width = image1.shape[-2:]
        scale = max(1, math.ceil(128 / min(height, width)))
        if scale > 1:
            size = (height * scale, width * scale)
            image1 = F.interpolate(image1, size=size, mode='bilinear', align_corners=False)
            image2 = F.interpolate(image2, size=size, mode='bilinear', align_corners=False)
        flow = self.net(image1, image2, num_flow_updates=self.num_flow_updates)[-1]
        if scale > 1:
            flow = (
                F.interpolate(flow, size=(height, width), mode='bilinear', align_corners=False)
                / scale
            )
        return flow


def _frames_to_tensors(frames: np.ndarray, device) -> list[torch.Tensor]:
    video = torch.from_numpy(np.ascontiguousarray(frames)).to(device)
    return [f.permute(2, 0, 1)[None].float() for f in video]


def _top_flow_mean(flow: torch.Tensor, fraction: float) -> float:
    """Mean of the top ``fraction`` of flow magnitudes of ``flow (1, 2, H, W)`` (nan if empty)."""
    magnitude = flow[0].double().pow(2).sum(0).sqrt().flatten()
    count = int(magnitude.numel() * fraction)
    if count == 0:
        return math.nan
    return float(torch.topk(magnitude, count).values.mean())


def _pair_scores(
    frames: np.ndarray, pairs: Sequence[tuple[int, int]], flow_model, fraction: float, device
):
    tensors = _frames_to_tensors(frames, device)
    pad = raft_padding(frames.shape[1], frames.shape[2])
    scores = []
    with torch.no_grad():
        for i, j in pairs:
            a, b = (F.pad(tensors[k], pad, mode='replicate') for k in (i, j))
            scores.append(_top_flow_mean(flow_model(a, b), fraction))
    return scores


def dynamic_degree_video(
    frames: np.ndarray, flow_model, fps: float = 8.0, device: str | torch.device = 'cpu'
) -> bool:
    """Whether one video (uint8 RGB ``(F, H, W, 3)`` at ``fps``) is dynamic, as VBench decides."""
    interval = max(1, round(fps / 8))
    frames = np.asarray(frames)[::interval]
    height, width = frames.shape[1:3]
    threshold = 6.0 * (min(height, width) / 256.0)
    count_num = round(4 * (len(frames) / 16.0))
    pairs = [(i, i + 1) for i in range(len(frames) - 1)]
    count = 0
    for score in _pair_scores(frames, pairs, flow_model, 0.05, device):
        if score > threshold:
            count += 1
        if count >= count_num:
            return True
    return False


def dynamic_degree(videos: Iterable[np.ndarray], flow_model, fps: float = 8.0, device='cpu'):
    """Fraction of dynamic videos; also the per-video decisions."""
    per_video = [dynamic_degree_video(v, flow_model, fps, device) for v in videos]
    if not per_video:
        raise ValueError('dynamic degree: no videos.')
    return float(np.mean(per_video)), per_video


def is_static_video(frames: np.ndarray, flow_model, device='cpu') -> bool:
    """VBench's static filter (``vbench static_filter``) for the temporal flickering protocol.

    Flow on every adjacent pair plus (first, last) and (last, first); per pair the mean of the top
    2% magnitudes; threshold ``3 * min(H, W) / 256``; ``count_num = round(2 * n / 16)``. Static if
    at most ``count_num`` adjacent pairs exceed the threshold and both wrap-around pairs stay below
    ``threshold * count_num * 2``.
    """
    frames = np.asarray(frames)
    n = len(frames)
    threshold = 3.0 * (min(frames.shape[1:3]) / 256.0)
    count_num = round(2 * (n / 16.0))
    pairs = [(i, i + 1) for i in range(n - 1)] + [(0, n - 1), (n - 1, 0)]
    scores = _pair_scores(frames, pairs, flow_model, 0.02, device)
    count = 0
    for score in scores[:-2]:
        if score > threshold:
            count += 1
        if count > count_num:
            return False
    return all(not score > threshold * count_num * 2 for score in scores[-2:])


# ---- subject / background consistency ------------------------------------------------------------
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CLIP_MEAN, CLIP_STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)


def consistency_sums(features: torch.Tensor) -> tuple[float, int]:
    """``(sum over frames i >= 1 of (max(0, cos_prev) + max(0, cos_first)) / 2, F - 1)``.

    Args:
        features: ``(F, D)`` per-frame features of one video (normalised here).
    """
    feats = F.normalize(features.double(), dim=-1)
    if len(feats) < 2:
        raise ValueError('consistency needs at least 2 frames.')
    prev = (feats[1:] * feats[:-1]).sum(-1).clamp(min=0)
    first = (feats[1:] * feats[:1]).sum(-1).clamp(min=0)
    return float(((prev + first) / 2).sum()), len(feats) - 1


class TimmImageEncoder(nn.Module):
    """Per-frame image features from any timm model with local weights.

    Args:
        model_name: a timm model name, e.g. ``'vit_base_patch16_224.dino'`` (VBench's subject
            encoder is DINO ViT-B/16) or ``'vit_base_patch32_clip_224.openai'``.
        weights: a local state-dict file (``.pth``/``.pt`` read with ``weights_only=True``, or
            ``.safetensors``); ``None`` is refused unless ``random_init=True`` (tests only).
        preprocess: ``'dino'`` (resize the short side to ``img_size``, bilinear, no crop,
            ImageNet mean/std; VBench's ``dino_transform``) or ``'clip'`` (bicubic short-side
            resize + centre crop, CLIP mean/std; VBench's ``clip_transform``).
        img_size: 224 in VBench.
    """

    def __init__(
        self,
        model_name: str,
        weights: str | None = None,
        preprocess: str = 'dino',
        img_size: int = 224,
        random_init: bool = False,
        model_kwargs: dict | None = None,
    ) -> None:
        super().__init__()
        import timm  # deferred: 0.4 s of import time, needed only by this VBench backend

        check_choice(preprocess, ('dino', 'clip'), 'TimmImageEncoder preprocess')
        kwargs = dict(pretrained=False, num_classes=0, **(model_kwargs or {}))
        if preprocess == 'dino' and 'vit' in model_name:
            kwargs.setdefault('dynamic_img_size', True)  # non-square short-side-224 input
        self.net = timm.create_model(model_name, **kwargs)
        if not random_init:
            if not weights or not os.path.isfile(weights):
                raise ConfigError(
                    f'TimmImageEncoder({model_name!r}) needs a local weights file; got {weights!r}.'
                )
            if weights.endswith('.safetensors'):
                state = load_file(weights)
            else:
                state = torch.load(weights, map_location='cpu', weights_only=True)
            state = state.get('state_dict', state) if isinstance(state, dict) else state
            missing, unexpected = self.net.load_state_dict(state, strict=False)
            if missing:
                raise ValueError(f'{weights}: weights for {model_name} miss keys {missing[:5]}...')
        self.preprocess_mode = preprocess
        self.img_size = img_size
        mean, std = (IMAGENET_MEAN, IMAGENET_STD) if preprocess == 'dino' else (CLIP_MEAN, CLIP_STD)
        self.register_buffer('mean', torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer('std', torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        self.eval().requires_grad_(False)

    def preprocess(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8 ``(F, H, W, 3)`` -> normalised float ``(F, 3, h, w)``."""
        x = frames.permute(0, 3, 1, 2).float()
        h, w = x.shape[-2:]
        short = min(h, w)
        size = (round(h * self.img_size / short), round(w * self.img_size / short))
        size = (max(size[0], self.img_size), max(size[1], self.img_size))
        mode = 'bilinear' if self.preprocess_mode == 'dino' else 'bicubic'
        x = F.interpolate(x, size=size, mode=mode, align_corners=False, antialias=False)
        if self.preprocess_mode == 'clip':
            top = (x.shape[-2] - self.img_size) // 2
            left = (x.shape[-1] - self.img_size) // 2
            x = x[..., top : top + self.img_size, left : left + self.img_size]
        return (x / 255.0 - self.mean) / self.std

    @torch.no_grad()
    def forward(self, frames) -> torch.Tensor:
        """Per-frame features ``(F, D)`` of uint8 frames ``(F, H, W, 3)``."""
        frames = torch.as_tensor(np.asarray(frames)).to(self.mean.device)
        return self.net(self.preprocess(frames)).float()


def consistency(videos: Iterable[np.ndarray], encoder) -> tuple[float, list[float]]:
    """VBench subject/background consistency: pair-weighted mean over all videos."""
    total, count, per_video = 0.0, 0, []
    for frames in videos:
        video_sum, pairs = consistency_sums(encoder(frames))
        total += video_sum
        count += pairs
        per_video.append(video_sum / pairs)
    if count == 0:
        raise ValueError('consistency: no frame pairs.')
    return total / count, per_video
