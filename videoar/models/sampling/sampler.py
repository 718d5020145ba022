"""The sampler: KV-cache prefill and the (frame, scale) block loop, with CFG, of a VideoAR model.

The model (:class:`videoar.models.generators.VideoAR`) embeds, masks and scores a sequence; this
module walks the blocks ``(t, k)`` in order with an explicit :class:`KVCache` that persists across
scales and frames, applies the guidance schedule, draws labels and turns them back into latents.
``VideoAR.predict`` (mmengine's test/val contract) and the generation pipeline
(:mod:`videoar.pipelines`) both call :func:`sample_video`.
"""

from __future__ import annotations

import torch

from videoar.models.conditioners import Condition, batch_size_of
from videoar.models.sequence import (
    block_input,
    build_teacher_forcing,
    flatten_tokens,
    unflatten_labels,
)
from videoar.models.transformers import KVCache

from .cfg_schedules import BaseCFGSchedule
from .samplers import LabelSampler


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
) -> dict:
    """Generate videos with ``model`` (a :class:`VideoAR`) block by block with a KV cache.

    Args:
        data_samples: batch metadata the conditioner reads (e.g. ``{'label': tensor(B)}``);
            ``None`` = unconditional (the null condition).
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

    Returns:
        dict with ``video (B, 3, F, H, W)`` (or None), ``latent (B, d, T', h, w)``,
        ``labels (B, Lv, *label_shape)``, ``num_sampling_steps`` (blocks sampled here),
        ``num_frames``, ``cfg_table`` and optionally ``logits``.
    """
    device = model.start_token.device
    with model._eval_mode():
        num_frames = int(num_frames or model.num_frames)
        latent_frames = model.latent_frames_of(num_frames)
        layout = model.layout(latent_frames)
        if generator is None and seed is not None:
            generator = torch.Generator(device='cpu').manual_seed(int(seed))
        sampler = LabelSampler(model.label_kind, temperature, top_k, top_p)
        schedule = model._cfg_schedule(cfg_scale, cfg_schedule)
        cfg_table = schedule.table(latent_frames, model.num_scales)
        use_cfg = not schedule.is_trivial(latent_frames, model.num_scales)

        # ---- conditions (cond and null stacked for batched CFG) ---------------------------
        if prefix_latent is not None and prefix_labels is None:
            prefix_labels = build_teacher_forcing(prefix_latent.float(), model.quantizer).labels
        if batch_size is None:
            if condition is not None:
                batch_size = condition.batch_size
            elif prefix_labels is not None:
                batch_size = prefix_labels.shape[0]
            else:
                batch_size = batch_size_of(data_samples)
        if condition is None:
            condition = model.conditioner(data_samples, batch_size, device)
        if use_cfg:
            condition = Condition.cat([condition, model.conditioner.null(batch_size, device)])
        rows = condition.batch_size
        transformer_cond = model._transformer_cond(condition)

        cache = KVCache(
            model.transformer.depth,
            rows,
            model.transformer.num_heads,
            layout.total_len,
            model.transformer.head_dim,
            device=device,
            dtype=model.start_token.dtype,
        )
        full_mask = model._structural_mask(layout, rows, device)
        key_valid = model._key_valid(condition, layout, layout.total_len)

        def run(x: torch.Tensor, start: int, end: int) -> torch.Tensor:
            mask = full_mask[:, start:end, :end]
            valid = None if key_valid is None else key_valid[:, :end]
            mask = model._finish_mask(mask, valid, start)
            return model.transformer(
                x,
                attn_mask=mask,
                rotary=model._rotary(layout, start, end),
                cond=transformer_cond,
                cache=cache,
                block_bias=model._block_bias(layout, start, end, device),
            )

        # ---- prefill: the prefix and any given frames ----------------------------------------
        if layout.prefix_len:
            run(model.embed_prefix(condition, layout), 0, layout.prefix_len)
        first_frame = 0
        frame_latents: list[torch.Tensor] = []
        sampled_labels: list[torch.Tensor] = []
        prev_sum = None
        if prefix_labels is not None:
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
            inputs, sums = model.inputs_from_labels(prefix_labels, first_frame)
            inputs = inputs.repeat(rows // batch_size, 1, 1)
            start = layout.prefix_len
            run(
                model.embed_video(inputs, condition, layout, start),
                start,
                start + inputs.shape[1],
            )
            frame_latents = list(sums.unbind(2))
            sampled_labels.append(prefix_labels)
            prev_sum = frame_latents[-1]

        # ---- block by block ------------------------------------------------------------------
        block_logits = []
        for t in range(first_frame, latent_frames):
            running_sum = None
            for k, size in enumerate(model.scale_sizes):
                sl = layout.block_slice(t, k)
                inp = block_input(model.quantizer, k, running_sum, prev_sum)
                if inp is None:  # block (0, 0): the start token
                    tokens = torch.zeros(
                        batch_size, sl.stop - sl.start, model.latent_dim, device=device
                    )
                else:
                    tokens = flatten_tokens(inp)
                tokens = tokens.repeat(rows // batch_size, 1, 1)
                hidden = run(
                    model.embed_video(tokens, condition, layout, sl.start), sl.start, sl.stop
                )
                logits = model.head(hidden).float()
                if use_cfg:
                    cond_logits, null_logits = logits.chunk(2)
                    logits = null_logits + cfg_table[t][k] * (cond_logits - null_logits)
                if return_logits:
                    block_logits.append(logits)
                if model.label_kind == 'bits':
                    labels_k = sampler(logits.unflatten(-1, (-1, 2)), generator)  # (B, n, d)
                else:
                    labels_k = sampler(logits, generator)  # (B, n)
                sampled_labels.append(labels_k)
                contrib = model._labels_to_latent_sum(unflatten_labels(labels_k, size), k)
                running_sum = contrib if running_sum is None else running_sum + contrib
            frame_latents.append(running_sum)
            prev_sum = running_sum

        latent = torch.stack(frame_latents, dim=2)  # (B, d, T', h, w)
        out = dict(
            video=model.decode(latent) if decode else None,
            latent=latent,
            labels=torch.cat(sampled_labels, dim=1),
            num_sampling_steps=(latent_frames - first_frame) * model.num_scales,
            num_frames=num_frames,
            cfg_table=cfg_table,
        )
        if return_logits:
            out['logits'] = torch.cat(block_logits, dim=1) if block_logits else None
        return out


__all__ = ['sample_video']
