"""The checks of a request against the model, all before any sampling: the generation plan.

:func:`plan_generation` is the one place where a :class:`GenerationRequest` meets the model. In
order: the config is read; the request is checked against the conditioner (class or text, class
names and counts) and the guidance schedule is built, both from the config when one is given, so
these errors come before any weights are loaded; the model is built and its checkpoint loaded;
the frame counts, the given frames and the window plan are checked. The result, a
:class:`GenerationPlan`, holds everything the sampling loop needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from videoar.utils import ConfigError, check_num_frames

from .conditions import Conditions, resolve_conditions, truncated_prompts
from .errors import GenerationError
from .inference import load_config, load_model
from .init_frames import prepare_init_frames
from .long_video import WindowPlan
from .request import GenerationRequest, build_cfg_schedule


@dataclass
class GenerationPlan:
    """A request checked against its model: what to sample, with what, by which windows.

    Attributes:
        request: the (validated) request.
        model: the model, in eval mode, on ``device``.
        device: where sampling runs.
        conditions: the condition of every video (:class:`Conditions`).
        windows: the window plan and guidance (:class:`WindowPlan`).
        num_frames: pixel frames per video.
        init: the given frames ``(N, 3, 1 + tau * m, H, W)`` after fitting, or ``None``.
        steps_per_video: sampling steps (blocks) of one video.
        truncated_prompts: prompts the text encoder cuts.
        checkpoint: the checkpoint loaded, if any.
    """

    request: GenerationRequest
    model: nn.Module
    device: torch.device
    conditions: Conditions
    windows: WindowPlan
    num_frames: int
    init: torch.Tensor | None
    steps_per_video: int
    truncated_prompts: list[str]
    checkpoint: str | None = None

    @property
    def num_videos(self) -> int:
        return len(self.conditions)

    @property
    def latent_frames(self) -> int:
        return self.windows.latent_frames

    @property
    def window(self) -> int:
        return self.windows.window


def plan_generation(
    model_or_config,
    request: GenerationRequest,
    checkpoint: str | None = None,
    cfg_options: dict | None = None,
) -> GenerationPlan:
    """Check ``request`` against the model (loading it) and plan the sampling.

    Args:
        model_or_config: a built model, a config path, a ``Config`` or a dict.
        request: what to generate (already validated on its own).
        checkpoint: weights to load (``None``: a model's own, or a config's initial weights).
        cfg_options: overrides merged into a config.

    Raises GenerationError (saying what would be right) for anything that cannot work.
    """
    cfg = load_config(model_or_config, cfg_options)
    is_model = isinstance(model_or_config, nn.Module)
    if is_model:
        conditioner = model_or_config.conditioner
        sample_cfg = getattr(model_or_config, 'sample_cfg', None)
    else:
        conditioner, sample_cfg = cfg.model.get('conditioner'), cfg.model.get('sample_cfg')
    conditions = resolve_conditions(request, conditioner, cfg)
    schedule = build_cfg_schedule(request.cfg_schedule, request.cfg_scale, sample_cfg)

    model = load_model(model_or_config, cfg, checkpoint, request.device)
    if conditions.kind is None and not is_model:  # a plugin conditioner: ask the built object
        conditions = resolve_conditions(request, model.conditioner, cfg)
    device = model.start_token.device if hasattr(model, 'start_token') else torch.device('cpu')
    tau = int(model.tokenizer.temporal_stride)
    num_frames, latent_frames = _frame_counts(model, request.num_frames, request.overlap)
    window = int(model.latent_frames)
    init = None
    if request.has_init:
        init = prepare_init_frames(request.init_video, request.init_image, request.init_frames,
                                   len(conditions), min(window, latent_frames) - 1, tau,
                                   model.resolution)  # fmt: skip
    initial_latent = 0 if init is None else 1 + (init.shape[2] - 1) // tau
    try:  # the window plan checks the overlap and the given frames
        windows = WindowPlan.make(latent_frames, window, int(request.overlap), initial_latent,
                                  tau, schedule, request.schedule_span,
                                  request.long_mode)  # fmt: skip
    except ConfigError as err:
        raise GenerationError(str(err)) from err
    return GenerationPlan(
        request=request,
        model=model,
        device=device,
        conditions=conditions,
        windows=windows,
        num_frames=num_frames,
        init=init,
        steps_per_video=windows.steps_per_video(model.num_scales),
        truncated_prompts=truncated_prompts(model.conditioner, request.prompts),
        checkpoint=checkpoint,
    )


def _frame_counts(model, num_frames: int | None, overlap: int) -> tuple[int, int]:
    """``(pixel frames, latent frames)`` of each video; raises for an impossible count."""
    tau = int(model.tokenizer.temporal_stride)
    num_frames = int(num_frames or model.num_frames)
    try:
        check_num_frames(num_frames, tau, 'num_frames')
        latent_frames = model.latent_frames_of(num_frames)
    except ConfigError as err:
        raise GenerationError(str(err)) from err
    window = int(model.latent_frames)
    if latent_frames > window and overlap >= window:
        raise GenerationError(
            f'overlap={overlap} must be smaller than the window of {window} latent frames '
            'for a long video.'
        )
    return num_frames, latent_frames


__all__ = ['GenerationPlan', 'plan_generation']
