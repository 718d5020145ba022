"""Given frames of a continuation or image-to-video request: read, trim and fit to the model.

A video file is read with PyAV (:mod:`videoar.io.video`), an image with Pillow when it is
installed (else PyAV); tensors are taken as they are. Frames are resized on the shorter side
(antialiased bilinear) and center-cropped to the model resolution, and the first
``init_frames = 1 + tau * m`` of them are kept (default: as many as fit while leaving at least one
latent frame to generate in the first window).
"""

from __future__ import annotations

import math
import os

import numpy as np
import torch
import torch.nn.functional as F

from videoar.io.video import VideoReadError, from_uint8, probe_video, read_video
from videoar.utils import ConfigError, check_num_frames

from .errors import GenerationError


def read_image(path: str | os.PathLike) -> torch.Tensor:
    """An image file -> ``(3, 1, H, W)`` float in ``[-1, 1]`` (raises GenerationError)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise GenerationError(f'cannot read init image {path!r}: no such file.')
    try:
        from PIL import Image  # optional: PyAV reads images too

        with Image.open(path) as image:
            frames = np.array(image.convert('RGB'))[None]
    except Exception as err:  # noqa: BLE001 - PIL missing or not an image: try PyAV
        try:
            frames = read_video(path, num_frames=1)
        except Exception as err2:  # noqa: BLE001
            raise GenerationError(
                f'cannot read init image {path!r}: not a readable image ({err}; {err2}).'
            ) from err2
    return from_uint8(np.ascontiguousarray(frames))


def check_init_video_file(path: str | os.PathLike) -> dict:
    """Probe an init video (decoding its first frame); raises GenerationError with the reason."""
    path = os.fspath(path)
    try:
        return probe_video(path, verify=True)
    except VideoReadError as err:
        raise GenerationError(f'cannot read init video {path!r}: {err.reason}.') from err


def read_init_video(path: str | os.PathLike, max_frames: int | None = None) -> torch.Tensor:
    """The first ``max_frames`` (all when None) frames of a video file -> ``(3, F, H, W)``."""
    path = os.fspath(path)
    info = check_init_video_file(path)
    try:
        if max_frames is not None and info['num_frames'] >= max_frames:
            try:
                frames = read_video(path, num_frames=max_frames)
            except VideoReadError:  # the container over-counted: read what there is
                frames = read_video(path)[:max_frames]
        else:
            frames = read_video(path)
    except VideoReadError as err:
        raise GenerationError(f'cannot read init video {path!r}: {err.reason}.') from err
    return from_uint8(frames)


def fit_to_resolution(video: torch.Tensor, resolution: tuple[int, int]) -> torch.Tensor:
    """Resize (shorter side, antialiased bilinear) and center-crop ``(..., 3, F, H0, W0)`` frames
    to ``(..., 3, F, H, W)``; values stay in ``[-1, 1]``."""
    height, width = resolution
    lead = video.shape[:-3]
    frames, h0, w0 = video.shape[-3:]
    if (h0, w0) == (height, width):
        return video
    scale = max(height / h0, width / w0)
    new_h, new_w = (
        max(height, math.ceil(h0 * scale - 1e-6)),
        max(width, math.ceil(w0 * scale - 1e-6)),
    )
    flat = video.reshape(-1, frames, h0, w0).float()  # (N*3, F, H0, W0) -> resize every frame
    flat = flat.reshape(-1, 1, h0, w0)
    resized = F.interpolate(flat, size=(new_h, new_w), mode='bilinear', antialias=True,
                            align_corners=False)  # fmt: skip
    top, left = (new_h - height) // 2, (new_w - width) // 2
    cropped = resized[:, :, top : top + height, left : left + width]
    return cropped.reshape(*lead, frames, height, width).clamp(-1, 1)


def as_init_batch(init, what: str) -> torch.Tensor:
    """A tensor init (``what`` is ``'init_video'`` or ``'init_image'``) -> ``(N|1, 3, F, H, W)``."""
    if not isinstance(init, torch.Tensor):
        init = torch.as_tensor(np.asarray(init))
    if not init.is_floating_point():
        raise GenerationError(f'{what} tensors must be float in [-1, 1], got {init.dtype}.')
    if what == 'init_image' and init.dim() == 3:
        init = init.unsqueeze(1)  # (3, H, W) -> (3, 1, H, W)
    if what == 'init_image' and init.dim() == 4 and init.shape[1] == 3:
        init = init.unsqueeze(2)  # (N, 3, H, W) -> (N, 3, 1, H, W)
    if init.dim() == 4:
        init = init.unsqueeze(0)
    if init.dim() != 5 or init.shape[1] != 3:
        raise GenerationError(
            f'{what} must be (3, F, H, W) or (N, 3, F, H, W) (images: (3, H, W)), got '
            f'{tuple(init.shape)}.'
        )
    return init.float()


def choose_init_frames(
    available: int, temporal_stride: int, max_latent_frames: int, init_frames: int | None
) -> int:
    """Pixel frames ``1 + tau * m`` to take from ``available`` given frames.

    Default: the most that leave at least one latent frame to generate in the first window
    (``1 + m <= max_latent_frames``). Raises GenerationError for an impossible request.
    """
    tau = temporal_stride
    most = 1 + tau * min((available - 1) // tau, max_latent_frames - 1)
    if init_frames is None:
        return most
    try:
        check_num_frames(int(init_frames), tau, 'init_frames')
    except ConfigError as err:
        raise GenerationError(str(err)) from err
    if init_frames > available:
        raise GenerationError(
            f'init_frames={init_frames} but the init video has only {available} frames.'
        )
    if init_frames > most:
        raise GenerationError(
            f'init_frames={init_frames} leaves nothing to generate in the first window of '
            f'{max_latent_frames + 1} latent frames; use at most {most}.'
        )
    return int(init_frames)


def prepare_init_frames(
    init_video,
    init_image,
    init_frames: int | None,
    total: int,
    max_latent_frames: int,
    temporal_stride: int,
    resolution: tuple[int, int],
) -> torch.Tensor:
    """Read, trim and resize the given frames: ``(total, 3, 1 + tau * m, H, W)`` in ``[-1, 1]``.

    ``max_latent_frames`` is the most given latent frames that leave one to generate;
    ``temporal_stride`` is the tokenizer's ``tau`` and ``resolution`` the model's ``(H, W)``.
    """
    tau = int(temporal_stride)
    if max_latent_frames < 1:
        raise GenerationError(
            'given frames leave nothing to generate: the video has one latent frame; ask for '
            f'more frames (num_frames = 1 + {tau}*k with k >= 1).'
        )
    if isinstance(init_video, (str, os.PathLike)):
        init = read_init_video(init_video, max_frames=1 + tau * max_latent_frames).unsqueeze(0)
    elif isinstance(init_image, (str, os.PathLike)):
        init = read_image(init_image).unsqueeze(0)
    else:
        what = 'init_video' if init_video is not None else 'init_image'
        init = as_init_batch(init_video if init_video is not None else init_image, what)
    if init.shape[0] not in (1, total):
        raise GenerationError(
            f'the init tensor holds {init.shape[0]} videos for {total} requested; give one '
            'video (shared) or one per requested video.'
        )
    used = choose_init_frames(init.shape[2], tau, max_latent_frames, init_frames)
    init = fit_to_resolution(init[:, :, :used], resolution)
    return init.expand(total, -1, -1, -1, -1) if init.shape[0] == 1 else init


__all__ = [
    'as_init_batch',
    'check_init_video_file',
    'choose_init_frames',
    'fit_to_resolution',
    'prepare_init_frames',
    'read_image',
    'read_init_video',
]
