"""``VideoVisualizationHook``: sample fixed conditions during training and save video grids."""

from __future__ import annotations

import os.path as osp
from collections.abc import Mapping, Sequence

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from videoar.evaluation.grid_labels import class_text, label_videos
from videoar.evaluation.predict import make_data_samples, model_num_classes, predict_videos
from videoar.registry import HOOKS
from videoar.utils import ConfigError, check_known_keys, check_positive
from videoar.utils.progress import Progress

from ..visualization import log_video, write_video_grid
from .utils import ema_weights

MAX_DEFAULT_CLASSES = 16


def normalize_conditions(conditions) -> dict | None:
    """``dict(label=[...], caption=[...])`` (either or both), or a list of labels or captions."""
    if conditions is None:
        return None
    if isinstance(conditions, Mapping):
        check_known_keys(conditions, ('label', 'caption'), 'conditions')
        out = {k: list(v) for k, v in conditions.items() if v is not None}
    elif isinstance(conditions, Sequence) and not isinstance(conditions, str):
        items = list(conditions)
        if all(isinstance(c, str) for c in items):
            out = dict(caption=items)
        elif all(isinstance(c, int) for c in items):
            out = dict(label=items)
        else:
            raise ConfigError(
                f'conditions must be a list of class labels (int) or of captions (str), got {items!r}.'
            )
    else:
        raise ConfigError(
            'conditions must be dict(label=[...]) and/or dict(caption=[...]), or a list; got '
            f'{conditions!r}.'
        )
    lengths = {len(v) for v in out.values()}
    if not out or 0 in lengths or len(lengths) != 1:
        raise ConfigError(
            f'conditions need one label and/or one caption per video (same lengths), got {out!r}.'
        )
    return out


@HOOKS.register_module()
class VideoVisualizationHook(Hook):
    """Every ``interval`` iterations and after training, sample a fixed set of conditions.

    Writes ``<work_dir>/<out_dir>/iter_<N>.mp4`` and ``.gif`` (a grid, one tile per condition,
    ``videoar.io.video.write_grid``) and logs the grid to the visualizer's backends: those with an
    ``add_video`` method (``VideoLocalVisBackend``, ``VideoTensorboardVisBackend``) get the video,
    the others a row of frames as an image. Sampling runs on rank 0 with the model in eval mode,
    with the EMA weights when mmengine's ``EMAHook`` is enabled, and with a fixed seed (the same
    noise every time, so the grids show training progress).

    Args:
        interval: iterations between two grids.
        conditions: ``dict(label=[...])`` and/or ``dict(caption=[...])`` (one entry per video), or
            a list of labels or captions; default: one video per class (up to 16) of a
            class-conditional model.
        num_frames: frames to sample (default: the model's training clip length).
        seed: sampling seed.
        fps: frame rate of the written files.
        nrow: videos per grid row (default: about square).
        batch_size: videos sampled per forward.
        use_ema: use the EMA weights when an ``EMAHook`` is present.
        out_dir: folder under the work dir.
        name: tag of the logged video.
        labels: write each tile's condition (its prompt, else its class) in a band above it,
            in the grid files and the logged grid, like the other grids
            (``videoar.evaluation.grid_labels``); False: the bare tiles.
    """

    priority = 'LOW'  # after EMAHook's update of the averaged weights

    def __init__(
        self,
        interval: int = 500,
        conditions=None,
        num_frames: int | None = None,
        seed: int = 0,
        fps: float = 8,
        nrow: int | None = None,
        batch_size: int = 16,
        use_ema: bool = True,
        out_dir: str = 'vis',
        name: str = 'samples',
        labels: bool = True,
    ) -> None:
        check_positive(interval, 'VideoVisualizationHook interval')
        check_positive(fps, 'VideoVisualizationHook fps')
        check_positive(batch_size, 'VideoVisualizationHook batch_size')
        if num_frames is not None:
            check_positive(num_frames, 'VideoVisualizationHook num_frames')
        self.interval = int(interval)
        self.conditions = normalize_conditions(conditions)
        self.num_frames = num_frames
        self.seed = int(seed)
        self.fps = fps
        self.nrow = nrow
        self.batch_size = int(batch_size)
        self.use_ema = bool(use_ema)
        self.out_dir = out_dir
        self.name = name
        self.labels = bool(labels)
        self._last_iter: int | None = None
        self.last_files: list[str] = []

    def _conditions_for(self, model) -> dict:
        if self.conditions is not None:
            return self.conditions
        num_classes = model_num_classes(model)
        if num_classes is None:
            raise ConfigError(
                'VideoVisualizationHook: give conditions=dict(label=[...]) or '
                'dict(caption=[...]); the model is not class-conditional, so there is no default.'
            )
        return dict(label=list(range(min(num_classes, MAX_DEFAULT_CLASSES))))

    def tile_labels(self, conditions: dict) -> list[str] | None:
        """The text of each tile (the caption, else the class), or None with ``labels=False``."""
        if not self.labels:
            return None
        if 'caption' in conditions:
            return [str(caption) for caption in conditions['caption']]
        return [class_text(label) for label in conditions['label']]

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.every_n_train_iters(runner, self.interval):
            self.visualize(runner, runner.iter + 1)

    def after_train(self, runner) -> None:
        if self._last_iter != runner.iter:
            self.visualize(runner, runner.iter)

    @torch.no_grad()
    def visualize(self, runner, step: int) -> list[str]:
        """Sample, write the grid files and log them. Returns the written paths (rank 0)."""
        self._last_iter = step
        if not is_main_process():
            return []
        conditions = self._conditions_for(runner.model)
        count = len(next(iter(conditions.values())))
        progress = Progress(count, label=f'sampling {count} videos for the iteration-{step} grid')
        videos = []
        with ema_weights(runner, self.use_ema) as ema:
            for start in range(0, count, self.batch_size):
                stop = min(start + self.batch_size, count)
                data_samples = make_data_samples(
                    labels=conditions['label'][start:stop] if 'label' in conditions else None,
                    captions=conditions['caption'][start:stop] if 'caption' in conditions else None,
                    indices=range(start, stop),
                )
                videos.append(
                    predict_videos(runner.model, data_samples, self.num_frames, self.seed + start)
                )
                progress.update(stop - start)
        progress.close()
        videos = torch.cat(videos)
        labels = self.tile_labels(conditions)
        self.last_files = write_video_grid(
            osp.join(runner.work_dir, self.out_dir, f'iter_{step}'),
            videos, self.nrow, self.fps, labels=labels,
        )  # fmt: skip
        shown = videos if labels is None else label_videos(videos, labels)
        log_video(runner.visualizer, self.name, shown, step, self.fps, self.nrow)
        runner.logger.info(
            f'VideoVisualizationHook: {count} samples{" (EMA weights)" if ema else ""} -> '
            + ', '.join(self.last_files)
        )
        return self.last_files
