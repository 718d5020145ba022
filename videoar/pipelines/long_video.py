"""Videos longer than the trained length: a rolling KV cache, or windows that re-encode.

Two modes (:class:`WindowPlan` ``mode``):

* ``'rolling'`` (default): one sampling run over the whole video with a rolling KV cache of the
  last ``W`` latent frames (:mod:`videoar.models.sampling.rolling`): nothing is re-encoded, every
  frame past the window costs the same, and the latent is decoded in one pass. The window plan
  below is still computed for the report (``overlap`` does not apply; the report says
  ``mode='rolling'``).
* ``'reencode'``: window by window, as described next.

In the re-encoding mode a model trained on ``W`` latent frames samples a long video of ``T`` latent frames in windows of
at most ``W`` latent frames. Window 0 starts from the given frames (continuation / image-to-video,
``T0`` latent frames) or from nothing. Every later window starts from the *re-encoded* last
``overlap`` latent frames of what is already there: the stitched pixels are cut, encoded by the
causal tokenizer, quantized by the model and given to the sampler
(:func:`~videoar.models.sampling.sampler.sample_video`) as ``prefix_latent``; sampling then
continues at the next latent frame with a fresh KV cache (the cache is rebuilt per window: the
prefix is pre-filled in one forward).

:func:`plan_windows` is public (it needs no model); :class:`WindowPlan` and :func:`run_windows`
are the window step of the generation pipeline (:func:`videoar.pipelines.generate`), which is
the way to sample a long video.

Index bookkeeping (``tau`` = temporal stride; global latent frame ``j`` ends at pixel frame
``tau * j``, latent frame 0 is pixel frame 0 alone, latent ``j >= 1`` covers pixel frames
``tau (j - 1) + 1 .. tau j``):

* window ``i`` covers global latent frames ``[s_i, e_i)`` with ``e_i - s_i <= W``;
  ``s_0 = 0``, ``s_i = e_{i-1} - overlap``; the new (sampled) latent frames are ``[e_{i-1}, e_i)``
  (``[T0, e_0)`` for window 0);
* the prefix of window ``i > 0`` is re-encoded from the ``1 + tau (overlap - 1)`` stitched pixel
  frames ``[tau s_i, tau (e_{i-1} - 1)]``: the causal tokenizer encodes the first of them alone
  (as it does any clip's first frame), so local latent frame ``j`` again ends at global pixel
  frame ``tau (s_i + j)``;
* window ``i`` decodes to ``1 + tau (e_i - s_i - 1)`` pixel frames, global frames
  ``[tau s_i, tau (e_i - 1)]``; its first ``1 + tau (overlap - 1)`` frames re-decode the overlap
  and are dropped, the rest (global ``[tau (e_{i-1} - 1) + 1, tau (e_i - 1)]``) is appended.
  The join of window ``i`` is at pixel frame ``tau (e_{i-1} - 1) + 1`` and latent frame
  ``e_{i-1}``.

The stitched video has exactly ``1 + tau (T - 1)`` frames. The stitched latent (window 0's
latents, then each later window's new latents) is returned for analysis; decoding it in one pass
is close to, but not the same as, the stitched pixels (each window was decoded on its own).

The guidance schedule spans the whole video by default (``schedule_span='video'``: window-local
frame ``t`` is global frame ``s_i + t`` of ``T``), or restarts in every window (``'window'``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch

from videoar.models.sampling import BaseCFGSchedule
from videoar.models.sampling.sampler import sample_video
from videoar.utils import ConfigError

SCHEDULE_SPANS = ('video', 'window')
LONG_MODES = ('rolling', 'reencode')


class WindowCFG(BaseCFGSchedule):
    """A schedule seen from inside a window: local frame ``t`` is global frame ``offset + t``.

    ``gamma(t, k, n, K) = base(offset + t, k, total_frames, K)`` (``n``, the window's frame
    count, is ignored: the base schedule sees the whole video's ``total_frames``).
    """

    def __init__(self, base: BaseCFGSchedule, offset: int, total_frames: int) -> None:
        self.base = base
        self.offset = int(offset)
        self.total_frames = int(total_frames)

    def __call__(self, t: int, k: int, num_frames: int, num_scales: int) -> float:
        return float(self.base(self.offset + t, k, self.total_frames, num_scales))


def plan_windows(
    latent_frames: int,
    window: int,
    overlap: int = 1,
    initial_frames: int = 0,
    temporal_stride: int = 4,
) -> list[dict]:
    """The windows that make a video of ``latent_frames`` latent frames (see the module doc).

    Args:
        latent_frames: ``T``, latent frames of the whole video.
        window: ``W``, the most latent frames one window may hold (the trained length).
        overlap: latent frames re-encoded from the previous window (``1 <= overlap < W``).
        initial_frames: ``T0`` latent frames given for window 0 (``0 <= T0 < min(W, T)``).
        temporal_stride: ``tau``.

    Returns:
        One dict per window with global indices: ``index``, ``latent_start``, ``latent_end``
        (exclusive), ``prefix_latent_frames``, ``new_latent_start``, ``pixel_start``,
        ``pixel_end`` (exclusive), ``new_pixel_start``, ``num_frames`` (pixel frames the window
        decodes to) and ``prefix_pixel_range`` (``[start, end)`` of the stitched pixels
        re-encoded as its prefix, ``None`` for window 0).
    """
    tau = int(temporal_stride)
    if latent_frames < 1:
        raise ConfigError(f'a video needs at least one latent frame, got {latent_frames}.')
    if window < 1:
        raise ConfigError(f'the window must hold at least one latent frame, got {window}.')
    if not 0 <= initial_frames < min(window, latent_frames):
        raise ConfigError(
            f'{initial_frames} given latent frames leave nothing to generate: a window holds '
            f'{window} latent frames and the video {latent_frames}; give at most '
            f'{min(window, latent_frames) - 1} latent frames (1 + {tau}*m pixel frames with '
            f'm <= {min(window, latent_frames) - 2}).'
        )
    if latent_frames > window and not 1 <= overlap < window:
        raise ConfigError(
            f'overlap={overlap} latent frames: a long video needs 1 <= overlap < {window} (the '
            'window length), so that every window re-encodes some frames and adds new ones.'
        )

    def pixel(latent_index: int) -> int:  # the last pixel frame of a latent frame
        return tau * latent_index

    windows = []
    start, end = 0, min(window, latent_frames)
    new_start = initial_frames
    while True:
        windows.append(
            dict(
                index=len(windows),
                latent_start=start,
                latent_end=end,
                prefix_latent_frames=new_start - start,
                new_latent_start=new_start,
                pixel_start=pixel(start),
                pixel_end=pixel(end - 1) + 1,
                new_pixel_start=0 if new_start == 0 else pixel(new_start - 1) + 1,
                num_frames=1 + tau * (end - start - 1),
                prefix_pixel_range=None
                if not windows
                else [pixel(start), pixel(new_start - 1) + 1],
            )
        )
        if end >= latent_frames:
            return windows
        start, new_start = end - overlap, end
        end = min(start + window, latent_frames)


def windows_report(
    windows: list[dict], latent_frames: int, window: int, overlap: int, temporal_stride: int
) -> dict:
    """A JSON-able summary: the windows and where they join (pixel and latent frame indices)."""
    return dict(
        num_frames=1 + temporal_stride * (latent_frames - 1),
        latent_frames=latent_frames,
        window_latent_frames=window,
        overlap=overlap if len(windows) > 1 else 0,
        temporal_stride=temporal_stride,
        num_windows=len(windows),
        windows=[dict(w) for w in windows],
        joins=dict(
            pixel=[w['new_pixel_start'] for w in windows[1:]],
            latent=[w['new_latent_start'] for w in windows[1:]],
        ),
    )


@dataclass
class WindowPlan:
    """How one request's videos are sampled: the windows, the guidance, the span of the schedule.

    Attributes:
        windows: :func:`plan_windows` of the video.
        latent_frames: ``T``, latent frames of the whole video.
        window: ``W``, the most latent frames of one window.
        overlap: latent frames re-encoded between windows.
        temporal_stride: ``tau``.
        schedule: the guidance schedule of the whole video.
        schedule_span: ``'video'`` (the schedule spans the whole video) or ``'window'``.
        mode: ``'rolling'`` (a rolling KV cache) or ``'reencode'`` (windows that re-encode their
            prefix); see the module docstring.
    """

    windows: list[dict]
    latent_frames: int
    window: int
    overlap: int
    temporal_stride: int
    schedule: BaseCFGSchedule
    schedule_span: str = 'video'
    mode: str = 'rolling'

    @classmethod
    def make(
        cls,
        latent_frames: int,
        window: int,
        overlap: int,
        initial_frames: int,
        temporal_stride: int,
        schedule: BaseCFGSchedule,
        schedule_span: str = 'video',
        mode: str = 'rolling',
    ) -> WindowPlan:
        """Plan the windows; raises ConfigError for an impossible overlap or given prefix."""
        if schedule_span not in SCHEDULE_SPANS:
            raise ConfigError(
                f'schedule_span must be one of {SCHEDULE_SPANS}, got {schedule_span!r}.'
            )
        if mode not in LONG_MODES:
            raise ConfigError(f'the long-video mode must be one of {LONG_MODES}, got {mode!r}.')
        windows = plan_windows(latent_frames, window, overlap, initial_frames, temporal_stride)
        return cls(windows, latent_frames, window, overlap, temporal_stride, schedule,
                   schedule_span, mode)  # fmt: skip

    @property
    def rolling(self) -> bool:
        """Whether the video is sampled in one run with a rolling cache (longer than a window)."""
        return self.mode == 'rolling' and self.latent_frames > self.window

    def steps_per_video(self, num_scales: int) -> int:
        """Sampling steps (blocks) of one video: new latent frames of every window times ``K``."""
        if self.rolling:
            return (self.latent_frames - self.windows[0]['new_latent_start']) * num_scales
        return sum(w['latent_end'] - w['new_latent_start'] for w in self.windows) * num_scales

    def report(self) -> dict:
        """The JSON-able window report (:func:`windows_report`), with the ``mode``."""
        report = windows_report(self.windows, self.latent_frames, self.window, self.overlap,
                                self.temporal_stride)  # fmt: skip
        report['mode'] = 'rolling' if self.rolling else 'reencode'
        if self.rolling:
            report['overlap'] = 0
        return report

    def window_schedule(self, spec: dict) -> BaseCFGSchedule:
        """The schedule window ``spec`` samples with (see ``schedule_span``)."""
        if self.schedule_span == 'video':
            return WindowCFG(self.schedule, spec['latent_start'], self.latent_frames)
        return self.schedule


@torch.no_grad()
def run_windows(
    model,
    plan: WindowPlan,
    batch_size: int,
    data_samples=None,
    condition=None,
    prefix_latent: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    progress=None,
    keep_windows: bool = False,
    **sample_kwargs,
) -> dict:
    """Sample one batch of videos window by window (the window step of the generation pipeline).

    Args:
        model: a ``VideoAR`` (what :func:`sample_video` takes, with ``encode``).
        plan: the windows and the guidance (:class:`WindowPlan`).
        batch_size: ``B``.
        data_samples / condition: what the model's conditioner reads, or an explicit
            :class:`~videoar.models.conditioners.Condition` (the same for every window).
        prefix_latent: ``(B, d, T0, h, w)`` continuous latents of given first frames.
        generator: random numbers for every window.
        progress: an object with ``update(n)`` (e.g. ``tqdm``), told the sampling steps done
            after every window (steps of one video times ``batch_size``).
        keep_windows: also return each window's own output (``window_outputs``).
        sample_kwargs: ``temperature``, ``top_k``, ``top_p`` for :func:`sample_video`.

    Returns:
        dict with ``video (B, 3, F, H, W)`` in ``[-1, 1]``, ``latent (B, d, T, h, w)`` (stitched,
        see the module doc), ``report`` (:func:`windows_report`), ``num_sampling_steps``
        and, with ``keep_windows``, ``window_outputs`` (list of ``dict(video, latent, labels,
        prefix_latent)`` per window).
    """
    if plan.rolling:
        return _run_rolling(model, plan, batch_size, data_samples, condition, prefix_latent,
                            generator, progress, keep_windows, **sample_kwargs)  # fmt: skip
    latents, outputs, steps, stitched = [], [], 0, None
    for spec in plan.windows:
        prefix = prefix_latent if stitched is None else _window_prefix(model, stitched, spec)
        out = sample_video(model, data_samples, batch_size=batch_size,
                           num_frames=spec['num_frames'], cfg_schedule=plan.window_schedule(spec),
                           generator=generator, condition=condition, prefix_latent=prefix,
                           decode=True, **sample_kwargs)  # fmt: skip
        steps += int(out['num_sampling_steps'])
        if progress is not None:
            progress.update(int(out['num_sampling_steps']) * batch_size)
        if stitched is None:
            stitched = out['video']
            latents.append(out['latent'])
        else:  # drop the re-decoded overlap, append the new frames
            drop = spec['new_pixel_start'] - spec['pixel_start']
            stitched = torch.cat([stitched, out['video'][:, :, drop:]], dim=2)
            latents.append(out['latent'][:, :, spec['prefix_latent_frames'] :])
        if keep_windows:
            outputs.append(dict(video=out['video'], latent=out['latent'], labels=out['labels'],
                                prefix_latent=prefix))  # fmt: skip
    report = plan.report()
    report['num_sampling_steps'] = steps
    result = dict(video=stitched, latent=torch.cat(latents, dim=2), report=report,
                  num_sampling_steps=steps)  # fmt: skip
    if keep_windows:
        result['window_outputs'] = outputs
    return result


def _run_rolling(model, plan, batch_size, data_samples, condition, prefix_latent, generator,
                 progress, keep_windows, **sample_kwargs) -> dict:  # fmt: skip
    """:func:`run_windows` with a rolling KV cache: one sampling run, one decode."""
    out = sample_video(model, data_samples, batch_size=batch_size,
                       num_frames=1 + plan.temporal_stride * (plan.latent_frames - 1),
                       cfg_schedule=plan.schedule, generator=generator, condition=condition,
                       prefix_latent=prefix_latent, decode=True, window=plan.window,
                       **sample_kwargs)  # fmt: skip
    steps = int(out['num_sampling_steps'])
    if progress is not None:
        progress.update(steps * batch_size)
    report = plan.report()
    report['num_sampling_steps'] = steps
    result = dict(video=out['video'], latent=out['latent'], report=report,
                  num_sampling_steps=steps)  # fmt: skip
    if keep_windows:
        result['window_outputs'] = [dict(video=out['video'], latent=out['latent'],
                                         labels=out['labels'], prefix_latent=prefix_latent)]  # fmt: skip
    return result


def _window_prefix(model, stitched: torch.Tensor, spec: dict) -> torch.Tensor:
    """Re-encode the stitched pixels before window ``spec``'s join: its ``prefix_latent``."""
    lo, hi = spec['prefix_pixel_range']
    return model.encode(stitched[:, :, lo:hi])


def describe_schedule(schedule) -> dict | str:
    """A JSON-able description of a CFG schedule object or config."""
    if schedule is None:
        return None
    if isinstance(schedule, Mapping):
        return dict(schedule)
    if isinstance(schedule, WindowCFG):
        return describe_schedule(schedule.base)
    fields = {k: v for k, v in vars(schedule).items() if not k.startswith('_')}
    if all(isinstance(v, (int, float, str, bool, type(None))) for v in fields.values()):
        return dict(type=type(schedule).__name__, **fields)
    return repr(schedule)


__all__ = [
    'LONG_MODES',
    'SCHEDULE_SPANS',
    'WindowCFG',
    'describe_schedule',
    'WindowPlan',
    'plan_windows',
    'run_windows',
    'windows_report',
]
