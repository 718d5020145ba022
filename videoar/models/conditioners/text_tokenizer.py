"""A byte-level text tokenizer: UTF-8 bytes plus pad / bos / eos ids (no vocabulary file).

Every string is encoded as ``[bos] + utf8 bytes + [eos]`` and padded with ``pad`` to
``max_length``, on the left (default; the caption then ends right before the video, see
:mod:`videoar.models.conditioners.text`) or on the right; ids of bytes are ``byte + num_special`` (``num_special = 3``), so the vocabulary
has ``256 + 3`` entries. Text that does not fit is truncated at the byte level (the eos is kept).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from videoar.utils import ConfigError, check_choice

PADDING_SIDES = ('left', 'right')


class ByteTokenizer:
    """UTF-8 byte tokenizer with special ids ``pad=0``, ``bos=1``, ``eos=2``.

    Args:
        max_length: tokens per text including bos and eos (>= 2).
        padding_side: ``'left'`` (pads first) or ``'right'`` (pads last).
    """

    pad_id = 0
    bos_id = 1
    eos_id = 2
    num_special = 3
    vocab_size = 256 + num_special

    def __init__(self, max_length: int = 32, padding_side: str = 'left') -> None:
        if int(max_length) != max_length or max_length < 2:
            raise ConfigError(
                f'ByteTokenizer.max_length must be an int >= 2 (bos + eos), got {max_length!r}.'
            )
        check_choice(padding_side, PADDING_SIDES, 'ByteTokenizer padding_side')
        self.max_length = int(max_length)
        self.padding_side = padding_side

    def encode_one(self, text: str) -> tuple[list[int], bool]:
        """Ids of one text (without padding) and whether it was truncated."""
        if not isinstance(text, str):
            raise TypeError(f'texts must be str, got {type(text).__name__}.')
        body = [b + self.num_special for b in text.encode('utf-8')]
        room = self.max_length - 2
        return [self.bos_id] + body[:room] + [self.eos_id], len(body) > room

    def __call__(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode a batch: ``ids (B, max_length)`` long and ``mask (B, max_length)`` bool."""
        ids = torch.full((len(texts), self.max_length), self.pad_id, dtype=torch.long)
        for row, text in enumerate(texts):
            tokens, _ = self.encode_one(text)
            if self.padding_side == 'left':
                ids[row, self.max_length - len(tokens) :] = torch.tensor(tokens, dtype=torch.long)
            else:
                ids[row, : len(tokens)] = torch.tensor(tokens, dtype=torch.long)
        return ids, ids != self.pad_id

    def is_truncated(self, text: str) -> bool:
        """True when ``text`` needs more than ``max_length - 2`` bytes."""
        return self.encode_one(text)[1]

    def decode(self, ids: torch.Tensor | Sequence[int]) -> str:
        """Ids of one text -> the string (special ids dropped; invalid UTF-8 replaced)."""
        values = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        data = bytes(v - self.num_special for v in values if v >= self.num_special)
        return data.decode('utf-8', errors='replace')

    def __repr__(self) -> str:
        return (
            f'ByteTokenizer(max_length={self.max_length}, vocab_size={self.vocab_size}, '
            f'padding_side={self.padding_side!r})'
        )


__all__ = ['PADDING_SIDES', 'ByteTokenizer']
