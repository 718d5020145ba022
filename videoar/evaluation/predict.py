"""Videos from a generator through its mmengine ``predict`` contract (``docs/interfaces.md``).

The evaluation loop, the visualisation hook and the curriculum sample through these helpers, so
metrics never depend on how a model makes its videos.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from videoar.structures import VideoBatch
from videoar.utils import ConfigError, eval_mode, unwrap


def make_data_samples(
    labels: Sequence[int] | torch.Tensor | None = None,
    captions: Sequence[str] | None = None,
    indices: Sequence[int] | None = None,
) -> VideoBatch:
    """The conditions of ``B`` videos to sample: ``label (B,)`` (``-1`` = none), ``caption``
    (``''`` = none), ``index (B,)`` (default ``0..B-1``), as a :class:`VideoBatch`."""
    sizes = {len(value) for value in (labels, captions, indices) if value is not None}
    if not sizes:
        raise ConfigError('give at least one of labels or captions to sample videos.')
    if len(sizes) > 1:
        raise ConfigError(
            f'conditions of different lengths: {sorted(sizes)} (give one label and/or one '
            'caption per video).'
        )
    return VideoBatch.build(
        label=labels,
        caption=captions,
        index=None if indices is None else list(indices),
    )


def _fork_rng(seed: int | None):
    if seed is None:
        return contextlib.nullcontext()
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []

    @contextlib.contextmanager
    def forked():
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(int(seed))
            yield

    return forked()


@torch.no_grad()
def predict_videos(
    model: nn.Module,
    data_samples,
    num_frames: int | None = None,
    seed: int | None = None,
) -> torch.Tensor:
    """Sample one video per condition with a model in eval mode.

    Uses ``model(None, data_samples, mode='predict')`` (the contract of ``docs/interfaces.md``),
    or ``model.predict(None, data_samples, num_frames=num_frames)`` for a length other than the
    training clip's. The global RNG is forked and seeded with ``seed``, so the same seed gives
    the same videos and training randomness is untouched (a model's own ``sample_cfg`` seed,
    when it has one, takes precedence for its draws).

    Args:
        data_samples: the conditions of ``B`` videos (:func:`make_data_samples`).

    Returns:
        ``(B, 3, F, H, W)`` float32 CPU videos in ``[-1, 1]``.
    """
    model = unwrap(model)
    with _fork_rng(seed), eval_mode(model):
        if num_frames is None:
            outputs = model(None, data_samples, mode='predict')
        else:
            predict = getattr(model, 'predict', None)
            if not callable(predict) or 'num_frames' not in inspect.signature(predict).parameters:
                raise ConfigError(
                    f'num_frames={num_frames} needs a model whose predict(inputs, data_samples, '
                    f'num_frames=None) takes num_frames; {type(model).__name__}.predict does not '
                    '(leave num_frames=None to sample training-length videos).'
                )
            outputs = predict(None, data_samples, num_frames=num_frames)
        videos = torch.stack([_pred_video(o) for o in outputs])
    return videos.detach().to('cpu', torch.float32)


def _pred_video(output) -> torch.Tensor:
    video = (
        output.get('pred_video')
        if isinstance(output, Mapping)
        else getattr(output, 'pred_video', None)
    )
    if video is None:
        raise KeyError(
            "the model's predict mode must return dicts with 'pred_video' (3, F, H, W) in [-1, 1] "
            '(docs/interfaces.md).'
        )
    return video


def model_num_classes(model: nn.Module) -> int | None:
    """Number of classes of a class-conditional model (``conditioner.num_classes``), or None."""
    model = unwrap(model)
    for owner in (getattr(model, 'conditioner', None), model):
        value = getattr(owner, 'num_classes', None)
        if isinstance(value, int) and value > 0:
            return value
    return None


__all__ = ['make_data_samples', 'model_num_classes', 'predict_videos']
