"""Videos from a generator through its mmengine ``predict`` contract (``docs/interfaces.md``).

The evaluation loop, the visualisation hook and the curriculum sample through these helpers, so
metrics never depend on how a model makes its videos.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from videoar.models.sampling.sampler import sample_video
from videoar.utils import ConfigError, unwrap


def make_data_samples(
    labels: Sequence[int] | torch.Tensor | None = None,
    captions: Sequence[str] | None = None,
    indices: Sequence[int] | None = None,
) -> dict:
    """Collated conditions as the models read them: ``label (B,)``, ``caption``, ``index (B,)``."""
    size = None
    for value in (labels, captions, indices):
        if value is not None:
            if size is not None and len(value) != size:
                raise ConfigError(
                    f'conditions of different lengths: {len(value)} vs {size} (give one label '
                    'and/or one caption per video).'
                )
            size = len(value)
    if size is None:
        raise ConfigError('give at least one of labels or captions to sample videos.')
    labels_t = (
        torch.as_tensor(labels, dtype=torch.long)
        if labels is not None
        else torch.full((size,), -1, dtype=torch.long)
    )
    return dict(
        label=labels_t,
        caption=list(captions) if captions is not None else [''] * size,
        index=torch.as_tensor(indices if indices is not None else range(size), dtype=torch.long),
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
    data_samples: Mapping,
    num_frames: int | None = None,
    seed: int | None = None,
) -> torch.Tensor:
    """Sample one video per condition with a model in eval mode.

    Uses ``model(None, data_samples, mode='predict')`` (the contract of ``docs/interfaces.md``);
    with ``num_frames`` (a length other than the training clip's) the model's ``sample`` method
    is called with its ``sample_cfg`` instead. The global RNG is forked and seeded with
    ``seed``, so the same seed gives the same videos and training randomness is untouched.

    Args:
        data_samples: collated conditions (:func:`make_data_samples`), ``B`` entries.

    Returns:
        ``(B, 3, F, H, W)`` float32 CPU videos in ``[-1, 1]``.
    """
    model = unwrap(model)
    was_training = model.training
    model.eval()
    try:
        with _fork_rng(seed):
            if num_frames is None:
                outputs = model(None, data_samples, mode='predict')
                videos = torch.stack([_pred_video(o) for o in outputs])
            else:
                if not callable(getattr(model, 'sample', None)):
                    raise ConfigError(
                        f'num_frames={num_frames} needs a model with a sample(...) method; '
                        f'{type(model).__name__} has none (leave num_frames=None to sample '
                        'training-length videos).'
                    )
                kwargs = {k: v for k, v in getattr(model, 'sample_cfg', {}).items() if k != 'seed'}
                generator = None
                if seed is not None:
                    generator = torch.Generator(device='cpu').manual_seed(int(seed))
                batch = len(data_samples['label'])
                out = sample_video(
                    model,
                    data_samples,
                    batch_size=batch,
                    num_frames=num_frames,
                    generator=generator,
                    **kwargs,
                )
                videos = out['video'] if isinstance(out, Mapping) else out
    finally:
        model.train(was_training)
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
