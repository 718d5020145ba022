"""The sampler: KV-cache prefill and the (frame, scale) block loop, with CFG, of a VideoAR model.

The model (:class:`videoar.models.generators.VideoAR`) embeds, masks and scores a sequence; this
module walks the blocks ``(t, k)`` in order with an explicit :class:`KVCache` that persists across
scales and frames, applies the guidance schedule, draws labels and adds them to the frame's
:class:`~videoar.models.sequence.ResidualPyramid` (the same walk teacher forcing follows). The
conditional and the null condition run in one batched forward; the number of sampling steps is
``T' * K``. ``VideoAR.predict`` (mmengine's test/val contract) and the generation pipeline
(:mod:`videoar.pipelines`) both call :func:`sample_video`.

It uses the model's public surface only: ``conditioner``, ``quantizer``, ``transformer``,
``layout``, ``latent_frames_of``, ``embed_prefix``, ``embed_video``, ``attention_mask``,
``forward_blocks``, ``head``, ``decode`` and the size attributes.
"""

from __future__ import annotations

import torch

from videoar.models.conditioners import Condition
from videoar.models.sequence import (
    ResidualPyramid,
    SequenceLayout,
    build_teacher_forcing,
    flatten_tokens,
    inputs_from_labels,
    unflatten_labels,
)
from videoar.models.transformers import KVCache
from videoar.structures import VideoBatch
from videoar.utils import eval_mode

from .cfg_schedules import BaseCFGSchedule, resolve_cfg_schedule
from .rolling import RollingWindow
from .samplers import LabelSampler


class BlockRunner:
    """Cached forwards of consecutive positions of one sampling run.

    Holds the layout, the (CFG-stacked) condition and the :class:`KVCache`; every call embeds
    inputs at the next positions, runs the transformer over them with the cache and returns the
    hidden states. Inputs are given for the ``batch_size`` videos and repeated for the null rows.

    Args:
        model: a ``VideoAR``.
        layout: the sequence layout of the whole video.
        condition: ``(rows, ...)`` condition, ``rows = batch_size`` or ``2 * batch_size`` (CFG:
            conditional rows then null rows).
        batch_size: ``B``.
    """

    def __init__(self, model, layout: SequenceLayout, condition: Condition, batch_size: int):
        self.model = model
        self.layout = layout
        self.condition = condition
        self.batch_size = batch_size
        self.rows = condition.batch_size
        transformer = model.transformer
        self.cache = KVCache(
            transformer.depth,
            self.rows,
            transformer.num_heads,
            layout.total_len,
            transformer.head_dim,
            device=model.start_token.device,
            dtype=model.start_token.dtype,
        )

    def _forward(self, x: torch.Tensor, start: int) -> torch.Tensor:
        return self.model.forward_blocks(x, self.condition, self.layout, start, cache=self.cache)

    def prefill_prefix(self) -> None:
        """Run the condition prefix (nothing when ``P = 0``)."""
        if self.layout.prefix_len:
            self._forward(self.model.embed_prefix(self.condition, self.layout), 0)

    def run_inputs(self, inputs: torch.Tensor, start: int) -> torch.Tensor:
        """Video inputs ``(B, n, d)`` at positions ``[start, start + n)`` -> hidden
        ``(rows, n, C)``."""
        inputs = inputs.repeat(self.rows // self.batch_size, 1, 1)
        return self._forward(
            self.model.embed_video(inputs, self.condition, self.layout, start), start
        )

    def block_logits(
        self, inputs: torch.Tensor, t: int, k: int, cfg_scale: float | None
    ) -> torch.Tensor:
        """Guided fp32 logits ``(B, n_k, logits_per_token)`` of block ``(t, k)``;
        ``cfg_scale`` is ``None`` without a null pass."""
        hidden = self.run_inputs(inputs, self.layout.block_slice(t, k).start)
        logits = self.model.head(hidden).float()
        if cfg_scale is None:
            return logits
        cond_logits, null_logits = logits.chunk(2)
        return null_logits + cfg_scale * (cond_logits - null_logits)


def _batch_size(batch_size, condition, prefix_labels, data_samples) -> int:
    if batch_size is not None:
        return int(batch_size)
    if condition is not None:
        return condition.batch_size
    if prefix_labels is not None:
        return prefix_labels.shape[0]
    return len(VideoBatch.of(data_samples))


def _condition(model, data_samples, batch_size, condition, use_cfg, device) -> Condition:
    """The condition of the ``B`` videos, with the null condition stacked below for CFG."""
    if condition is None:
        batch = VideoBatch.of(data_samples, batch_size)
        condition = model.conditioner(batch, batch_size, device)
    if use_cfg:
        condition = Condition.cat([condition, model.conditioner.null(batch_size, device)])
    return condition


def _prefill(
    runner: BlockRunner, prefix_labels: torch.Tensor | None, latent_frames: int
) -> tuple[int, list[torch.Tensor], ResidualPyramid]:
    """Fill the cache with the condition prefix and the given first frames' labels
    ``(B, T0 * tokens_per_frame, ...)`` (if any).

    Returns ``T0``, the given frames' final sums (``T0`` tensors ``(B, d, h, w)``) and the
    residual pyramid that continues after them.
    """
    model, layout, batch_size = runner.model, runner.layout, runner.batch_size
    device = model.start_token.device
    runner.prefill_prefix()
    if prefix_labels is None:
        return 0, [], ResidualPyramid(model.quantizer, batch_size, device)
    prefix_labels = prefix_labels.to(device)
    tpf = layout.tokens_per_frame
    if prefix_labels.shape[1] % tpf or prefix_labels.shape[0] != batch_size:
        raise ValueError(
            f'prefix_labels must be (B={batch_size}, T0 * {tpf}, ...), got '
            f'{tuple(prefix_labels.shape)}.'
        )
    first_frame = prefix_labels.shape[1] // tpf
    if first_frame > latent_frames:
        raise ValueError(f'{first_frame} given frames exceed the {latent_frames} to make.')
    if first_frame > layout.num_frames:
        raise ValueError(
            f'{first_frame} given frames do not fit the rolling window of '
            f'{layout.num_frames} latent frames; give at most {layout.num_frames}.'
        )
    inputs, sums = inputs_from_labels(model.quantizer, prefix_labels, first_frame)
    runner.run_inputs(inputs, layout.prefix_len)
    frame_latents = list(sums.unbind(2))
    prev_sum = frame_latents[-1] if frame_latents else None
    pyramid = ResidualPyramid(model.quantizer, batch_size, device, prev_sum)
    return first_frame, frame_latents, pyramid


def _sample_frames(
    runner: BlockRunner,
    pyramid: ResidualPyramid,
    frames: range,
    label_sampler: LabelSampler,
    cfg_table: list[list[float]] | None,
    generator: torch.Generator | None,
    keep_logits: list | None,
    rolling: RollingWindow | None = None,
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The block loop: for every frame of ``frames`` and every scale, the pyramid's input ->
    guided logits -> drawn labels -> added to the pyramid.

    With ``rolling``, frame ``t`` runs at its local frame of the window, and the cache rolls
    before every frame that finds the window full.

    Returns the drawn labels of every block ``(B, n_k, *label_shape)`` and the frames' final
    sums ``(B, d, h, w)``; appends each block's logits to ``keep_logits`` when given.
    """
    model = runner.model
    labels, sums = [], []
    for t in frames:
        local = t
        if rolling is not None:
            local = rolling.local_frame(t)
            if runner.cache.length == runner.layout.total_len:
                rolling.roll(runner.cache)
        for k, size in enumerate(model.scale_sizes):
            tokens = flatten_tokens(pyramid.scale_input(k))
            scale = None if cfg_table is None else cfg_table[t][k]
            logits = runner.block_logits(tokens, local, k, scale)
            if keep_logits is not None:
                keep_logits.append(logits)
            if model.label_kind == 'bits':
                labels_k = label_sampler(logits.unflatten(-1, (-1, 2)), generator)  # (B, n, d)
            else:
                labels_k = label_sampler(logits, generator)  # (B, n)
            labels.append(labels_k)
            pyramid.add_labels(unflatten_labels(labels_k, size), k)
        sums.append(pyramid.end_frame())
    return labels, sums


@torch.no_grad()
def sample_video(
    model,
    data_samples=None,
    batch_size: int | None = None,
    num_frames: int | None = None,
    cfg_scale: float | None = None,
    cfg_schedule: BaseCFGSchedule | dict | None = None,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    generator: torch.Generator | None = None,
    seed: int | None = None,
    condition: Condition | None = None,
    prefix_latent: torch.Tensor | None = None,
    prefix_labels: torch.Tensor | None = None,
    decode: bool = True,
    return_logits: bool = False,
    window: int | None = None,
) -> dict:
    """Generate videos with ``model`` (a :class:`VideoAR`) block by block with a KV cache.

    Args:
        data_samples: batch metadata the conditioner reads: a :class:`VideoBatch` (or a form
            ``VideoBatch.of`` accepts, e.g. ``{'label': tensor(B)}``); ``None`` = unconditional
            (the null condition).
        batch_size: ``B`` (default: from ``data_samples`` / ``condition`` / prefix).
        num_frames: pixel frames ``F`` (default: the training clip's).
        cfg_scale: constant guidance scale ``gamma`` (1 = none), or
        cfg_schedule: a ``CFG_SCHEDULES`` object or config giving ``gamma(t, k)``.
        temperature, top_k, top_p: per bit / per token sampling settings.
        generator: a ``torch.Generator`` (or ``seed`` to create one): same seed, same video.
        condition: an explicit :class:`Condition` instead of ``data_samples``.
        prefix_latent: ``(B, d, T0, h, w)`` continuous latents of given first frames
            (quantized here); sampling continues at frame ``T0``.
        prefix_labels: ``(B, T0 * tokens_per_frame, *label_shape)`` labels of given first
            frames (alternative to ``prefix_latent``).
        decode: decode the latent to pixels with the tokenizer.
        return_logits: also return the guided logits of every sampled block
            ``(B, Lv_sampled, logits_per_token)`` (for tests and analysis).
        window: keep only the last ``window`` latent frames in a rolling KV cache
            (:mod:`~videoar.models.sampling.rolling`); used when the video has more latent
            frames than that (``None``: the whole video is cached).

    Returns:
        dict with ``video (B, 3, F, H, W)`` (or None), ``latent (B, d, T', h, w)``,
        ``labels (B, Lv, *label_shape)``, ``num_sampling_steps`` (blocks sampled here),
        ``num_frames``, ``cfg_table`` and optionally ``logits``.
    """
    device = model.start_token.device
    with eval_mode(model):
        num_frames = int(num_frames or model.num_frames)
        latent_frames = model.latent_frames_of(num_frames)
        rolling = None
        if window is not None and latent_frames > int(window):
            rolling = RollingWindow(model, window)  # the video may exceed the model's max_frames
        layout = model.layout(latent_frames) if rolling is None else rolling.layout
        if generator is None and seed is not None:
            generator = torch.Generator(device='cpu').manual_seed(int(seed))
        schedule = resolve_cfg_schedule(cfg_scale, cfg_schedule)
        cfg_table = schedule.table(latent_frames, model.num_scales)
        use_cfg = not schedule.is_trivial(latent_frames, model.num_scales)
        if prefix_latent is not None and prefix_labels is None:
            prefix_labels = build_teacher_forcing(prefix_latent.float(), model.quantizer).labels
        batch_size = _batch_size(batch_size, condition, prefix_labels, data_samples)
        condition = _condition(model, data_samples, batch_size, condition, use_cfg, device)

        runner = BlockRunner(model, layout, condition, batch_size)
        first_frame, frame_latents, pyramid = _prefill(runner, prefix_labels, latent_frames)
        labels = [] if prefix_labels is None else [prefix_labels.to(device)]
        keep_logits = [] if return_logits else None
        drawn, sums = _sample_frames(
            runner,
            pyramid,
            range(first_frame, latent_frames),
            LabelSampler(model.label_kind, temperature, top_k, top_p),
            cfg_table if use_cfg else None,
            generator,
            keep_logits,
            rolling,
        )
        latent = torch.stack(frame_latents + sums, dim=2)  # (B, d, T', h, w)
        out = dict(
            video=model.decode(latent) if decode else None,
            latent=latent,
            labels=torch.cat(labels + drawn, dim=1),
            num_sampling_steps=(latent_frames - first_frame) * model.num_scales,
            num_frames=num_frames,
            cfg_table=cfg_table,
        )
        if return_logits:
            out['logits'] = torch.cat(keep_logits, dim=1) if keep_logits else None
        return out


__all__ = ['BlockRunner', 'sample_video']
