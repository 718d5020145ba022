"""The sequence forward of :class:`~videoar.models.generators.VideoAR`: embeddings, attention
masks and the transformer over a range of positions, shared by training and the sampler.

Embedding of a video token of block ``(t, k)``: ``word_embed(norm(input)) + s_k (+ additive
PE)``; the tokens of block ``(0, 0)`` get the start token ``pooled condition + start vector`` (the
SOS, VAR's convention) instead of an input. With ``cond_mode='prefix'`` the condition tokens lead
the sequence; with ``'adaln'`` there is no prefix and the pooled condition modulates the blocks.

A full forward (training, teacher forcing) and the sampler's cached forwards of one block each
call :meth:`SequenceForward.forward_blocks`, so both see the same embeddings, masks and positions.
"""

from __future__ import annotations

import torch

from videoar.models.conditioners import Condition
from videoar.models.contracts import check_embedding, check_mask, check_rotary
from videoar.models.sequence import LayoutCache, SequenceLayout
from videoar.models.transformers import KVCache


class SequenceForward:
    """Mixin of :class:`VideoAR` (an ``nn.Module``) for the sequence forward.

    Reads the model's ``word_embed``, ``word_embed_norm``, ``scale_embed``, ``start_token``,
    ``pos_encoding``, ``masking``, ``transformer``, ``head``, ``dim``, ``cond_mode`` and
    ``scale_embed_every_block``.
    """

    # ---- embedding -------------------------------------------------------------------------
    def scale_table(self, layout: SequenceLayout, start: int, end: int, device) -> torch.Tensor:
        """``(end - start, C)``: ``s_k`` of each video position in ``[start, end)`` (0 on the
        prefix)."""
        scales = layout.scale_index[start:end].to(device)
        return self.scale_embed(scales.clamp(min=0)) * (scales >= 0).unsqueeze(-1)

    def additive_pe(self, layout: SequenceLayout, start: int, end: int) -> torch.Tensor | None:
        """``(end - start, C)`` additive positional embedding, or ``None``."""
        if self.pos_encoding is None:
            return None
        length = (layout.total_len if end is None else end) - start
        return check_embedding(
            self.pos_encoding, self.pos_encoding.embedding(layout, start, end), length, self.dim
        )

    def rotary(self, layout: SequenceLayout, start: int, end: int):
        """``(cos, sin)`` each ``(end - start, head_dim)``, or ``None``."""
        if self.pos_encoding is None:
            return None
        length = (layout.total_len if end is None else end) - start
        head_dim = self.transformer.head_dim
        return check_rotary(
            self.pos_encoding, self.pos_encoding.rotary(layout, start, end), length, head_dim
        )

    def embed_prefix(self, cond: Condition, layout: SequenceLayout) -> torch.Tensor:
        """The prefix tokens ``(B, P, C)`` (empty when ``P = 0``)."""
        prefix = cond.prefix[:, : layout.prefix_len]
        if layout.prefix_len == 0:
            return prefix.new_zeros(cond.batch_size, 0, self.dim)
        if prefix.shape[1] != layout.prefix_len:
            raise ValueError(
                f'the conditioner gave {prefix.shape[1]} prefix tokens, the layout has '
                f'{layout.prefix_len}.'
            )
        pe = self.additive_pe(layout, 0, layout.prefix_len)
        return prefix if pe is None else prefix + pe.to(prefix)

    def embed_video(
        self, inputs: torch.Tensor, cond: Condition, layout: SequenceLayout, start: int
    ) -> torch.Tensor:
        """Embed video inputs ``(B, n, d)`` at sequence positions ``[start, start + n)``.

        ``start >= P``. Tokens of block (0, 0) get the SOS (pooled condition + start vector).
        """
        end = start + inputs.shape[1]
        x = self.word_embed(self.word_embed_norm(inputs.to(self.word_embed.weight.dtype)))
        sos_end = layout.block_slice(0, 0).stop
        if start < sos_end:
            is_sos = (torch.arange(start, end, device=x.device) < sos_end).to(x.dtype)
            sos = cond.pooled + self.start_token  # (B, C)
            x = x + is_sos[None, :, None] * sos[:, None, :]
        if not self.scale_embed_every_block:
            x = x + self.scale_table(layout, start, end, x.device)
        pe = self.additive_pe(layout, start, end)
        return x if pe is None else x + pe.to(x)

    def block_bias(self, layout: SequenceLayout, start: int, end: int, device):
        """``(1, end - start, C)`` scale embedding added before every transformer block (with
        ``scale_embed_every_block``), else ``None``."""
        if not self.scale_embed_every_block:
            return None
        return self.scale_table(layout, start, end, device).unsqueeze(0)

    # ---- attention masks -------------------------------------------------------------------
    def attention_mask(
        self,
        layout: SequenceLayout,
        cond: Condition,
        start: int = 0,
        end: int | None = None,
    ) -> torch.Tensor | None:
        """``(B|1, end - start, end)`` bool mask of the queries at ``[start, end)``, or ``None``
        when every query may attend to every key (the transformer then passes no mask).

        The masking strategy's mask (random in training, cached in eval) AND the prefix key
        padding of ``cond``, OR the diagonal (a token always sees itself). Deterministic masks
        (the masking's static mask, nothing padded) are built once per ``(layout, start, end)``.
        """
        end = layout.total_len if end is None else end
        device = cond.pooled.device
        mask = self.masking(layout, cond.batch_size, self.training, None, device)
        check_mask(self.masking, mask, cond.batch_size, layout.total_len)
        key_valid = _key_valid(cond, layout, end)
        static = getattr(self.masking, 'static_mask', None)
        if key_valid is None and static is not None and mask is static(layout, device):
            cache = self.__dict__.setdefault('_attention_masks', LayoutCache(max_entries=256))
            key = (layout, start, end, str(device))
            return cache.get(key, lambda: _trivial_to_none(_with_diagonal(mask, None, start, end)))
        return _with_diagonal(mask, key_valid, start, end)

    # ---- the transformer -------------------------------------------------------------------
    def transformer_cond(self, cond: Condition) -> torch.Tensor | None:
        """The AdaLN condition ``(B, C)`` (``cond_mode='adaln'``), else ``None``."""
        return cond.pooled if self.cond_mode == 'adaln' else None

    def forward_blocks(
        self,
        x: torch.Tensor,
        cond: Condition,
        layout: SequenceLayout,
        start: int = 0,
        mask: torch.Tensor | str | None = 'auto',
        cache: KVCache | None = None,
    ) -> torch.Tensor:
        """Embedded tokens ``x (B, n, C)`` at positions ``[start, start + n)`` -> hidden states.

        Without a ``cache`` the positions must start at 0; with one, the ``start`` earlier
        positions are in the cache and ``x``'s keys/values are appended. ``mask``: the
        :meth:`attention_mask` of these queries (built here when ``'auto'``; ``None``
        = full attention).
        """
        end = start + x.shape[1]
        if isinstance(mask, str) and mask == 'auto':
            mask = self.attention_mask(layout, cond, start, end)
        return self.transformer(
            x,
            attn_mask=mask,
            rotary=self.rotary(layout, start, end),
            cond=self.transformer_cond(cond),
            cache=cache,
            block_bias=self.block_bias(layout, start, end, x.device),
        )

    def logits_from_inputs(
        self, inputs: torch.Tensor, cond: Condition, layout: SequenceLayout
    ) -> torch.Tensor:
        """One forward over ``[prefix | video]``; ``inputs (B, Lv, d)`` -> logits ``(B, Lv, n)``.

        ``n = quantizer.logits_per_token``. Uses the training mask in training mode.
        """
        x = torch.cat(
            [
                self.embed_prefix(cond, layout),
                self.embed_video(inputs, cond, layout, layout.prefix_len),
            ],
            dim=1,
        )
        hidden = self.forward_blocks(x, cond, layout)
        return self.head(hidden[:, layout.prefix_len :])


def _with_diagonal(
    mask: torch.Tensor, key_valid: torch.Tensor | None, start: int, end: int
) -> torch.Tensor:
    """Rows ``[start, end)`` and keys ``[0, end)`` of ``mask (B|1, L, L)``, AND ``key_valid
    (B, end)``, OR the diagonal."""
    mask = mask[:, start:end, :end]
    if key_valid is not None:
        mask = mask & key_valid[:, None, :]
    rows = torch.arange(end - start, device=mask.device)
    diag = torch.zeros(end - start, end, dtype=torch.bool, device=mask.device)
    diag[rows, rows + start] = True
    return mask | diag


def _trivial_to_none(mask: torch.Tensor) -> torch.Tensor | None:
    """``None`` for an all-True mask (attention to every key needs no mask)."""
    return None if bool(mask.all()) else mask


def _key_valid(cond: Condition, layout: SequenceLayout, end: int) -> torch.Tensor | None:
    """``(B, end)`` bool: False on padded prefix keys; ``None`` when nothing is padded."""
    if layout.prefix_len == 0 or bool(cond.prefix_mask.all()):
        return None
    video = torch.ones(
        cond.batch_size, end - layout.prefix_len, dtype=torch.bool, device=cond.pooled.device
    )
    return torch.cat([cond.prefix_mask[:, : layout.prefix_len].bool(), video], dim=1)[:, :end]


__all__ = ['SequenceForward']
