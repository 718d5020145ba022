"""Visualizer backends that can log videos (mmengine's backends have no ``add_video``).

Use them in place of mmengine's in a config::

    visualizer = dict(type='Visualizer', vis_backends=[
        dict(type='VideoLocalVisBackend'), dict(type='VideoTensorboardVisBackend')])

``add_video(name, video, step, fps)`` takes one video as uint8 ``(F, H, W, 3)`` or float
``(3, F, H, W)`` in ``[-1, 1]`` (e.g. a grid from ``videoar.io.video.make_grid``).

* ``VideoLocalVisBackend`` writes ``<save_dir>/vis_video/<name>_<step>.gif`` (PyAV).
* ``VideoTensorboardVisBackend`` logs an animated GIF image summary, the format TensorBoard's
  own ``add_video`` produces, but encoded with PyAV, so ``moviepy`` is not needed. If that fails,
  the frames are logged as one image (a row of frames) with a one-line warning.
"""

from __future__ import annotations

import os
import os.path as osp
import tempfile
import warnings

import numpy as np
import torch
from mmengine.visualization import LocalVisBackend, TensorboardVisBackend
from mmengine.visualization.vis_backend import force_init_env

from videoar.evaluation.grid_labels import label_videos
from videoar.io.frames import as_uint8_frames
from videoar.io.video import make_grid, write_video
from videoar.registry import VISBACKENDS


def frame_strip(frames: np.ndarray, max_frames: int = 8, padding: int = 2) -> np.ndarray:
    """uint8 ``(F, H, W, 3)`` -> one image ``(H, n*W + (n-1)*padding, 3)`` of ``n <= max_frames``
    frames spread evenly over the video."""
    count = len(frames)
    picks = np.unique(np.linspace(0, count - 1, num=min(count, max_frames)).round().astype(int))
    height, width = frames.shape[1:3]
    strip = np.zeros((height, len(picks) * (width + padding) - padding, 3), np.uint8)
    for n, i in enumerate(picks):
        left = n * (width + padding)
        strip[:, left : left + width] = frames[i]
    return strip


def encode_gif(frames: np.ndarray, fps: float) -> bytes:
    """uint8 ``(F, H, W, 3)`` -> bytes of an animated GIF (PyAV)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'video.gif')
        write_video(path, frames, fps=fps)
        with open(path, 'rb') as f:
            return f.read()


@VISBACKENDS.register_module()
class VideoLocalVisBackend(LocalVisBackend):
    """``LocalVisBackend`` + ``add_video``: GIFs in ``<save_dir>/vis_video``."""

    def __init__(self, save_dir: str, video_save_dir: str = 'vis_video', **kwargs) -> None:
        super().__init__(save_dir, **kwargs)
        self._video_save_dir = video_save_dir

    @force_init_env
    def add_video(self, name: str, video, step: int = 0, fps: float = 8, **kwargs) -> str:
        folder = osp.join(self._save_dir, self._video_save_dir)
        os.makedirs(folder, exist_ok=True)
        return write_video(osp.join(folder, f'{name}_{step}.gif'), as_uint8_frames(video), fps=fps)


@VISBACKENDS.register_module()
class VideoTensorboardVisBackend(TensorboardVisBackend):
    """``TensorboardVisBackend`` + ``add_video`` (an animated GIF summary; no moviepy)."""

    _warned = False

    @force_init_env
    def add_video(self, name: str, video, step: int = 0, fps: float = 8, **kwargs) -> None:
        frames = as_uint8_frames(video)
        try:
            from tensorboard.compat.proto.summary_pb2 import Summary  # optional dependency

            image = Summary.Image(
                height=int(frames.shape[1]),
                width=int(frames.shape[2]),
                colorspace=3,
                encoded_image_string=encode_gif(frames, fps),
            )
            summary = Summary(value=[Summary.Value(tag=name, image=image)])
            self._tensorboard._get_file_writer().add_summary(summary, step)
        except Exception as err:  # pragma: no cover - depends on the tensorboard build
            if not VideoTensorboardVisBackend._warned:
                warnings.warn(
                    f'TensorBoard video logging failed ({type(err).__name__}: {err}); logging '
                    'the frames as an image instead.',
                    stacklevel=2,
                )
                VideoTensorboardVisBackend._warned = True
            self.add_image(name, frame_strip(frames), step)


def write_video_grid(
    stem: str, videos: torch.Tensor, nrow: int | None, fps: float, labels=None
) -> list[str]:
    """Write ``<stem>.mp4`` and ``<stem>.gif`` grids of ``videos (N, 3, F, H, W)``; ``labels``
    (one string per video, or None) are written in a band above each tile (grid files only)."""
    grid = make_grid(videos if labels is None else label_videos(videos, labels), nrow=nrow)
    return [write_video(f'{stem}{ext}', grid, fps=fps) for ext in ('.mp4', '.gif')]


def log_video(
    visualizer, name: str, videos: torch.Tensor, step: int, fps: float, nrow=None
) -> None:
    """Log a grid of ``videos`` to every backend of an mmengine ``Visualizer``: the video to
    backends with ``add_video``, a row of frames as an image to the others."""
    if visualizer is None:
        return
    grid = make_grid(videos, nrow=nrow)
    for backend in getattr(visualizer, '_vis_backends', {}).values():
        if callable(getattr(backend, 'add_video', None)):
            backend.add_video(name, grid, step=step, fps=fps)
        else:
            backend.add_image(name, frame_strip(grid), step=step)


__all__ = [
    'VideoLocalVisBackend',
    'VideoTensorboardVisBackend',
    'encode_gif',
    'frame_strip',
    'log_video',
    'write_video_grid',
]
