"""Text conditioning: a small byte-level encoder trained with the model, and a frozen local T5.

Both produce the sequence prefix of VideoAR: ``prefix (B, P, C)`` text tokens padded to
``P = max_length``, ``prefix_mask (B, P)`` (True = a real token; the model turns it into key
padding so no video token attends to padding, and a padded query still sees itself, so no
attention row is empty), and ``pooled (B, C)`` (the masked mean of the tokens, projected; the SOS
of block (0, 0) and the AdaLN condition).

Positions (``padding_side``): under ``MultiScaleTemporalRoPE`` prefix slot ``i`` sits at
``(i, i, i)`` and video positions start at ``P``. With ``padding_side='left'`` (default) a caption
of ``L`` tokens fills the slots ``P - L .. P - 1``, so the distance from its ``j``-th token to the
video token of frame ``t``, cell ``(h, w)`` is ``(t + L - j, h + L - j, w + L - j)``: the paper's
positions (text ``j`` at ``(j, j, j)``, video at ``(t + |Psi|, h + |Psi|, w + |Psi|)``), since
RoPE only sees distances. ``'right'`` (the layout before this option) puts every caption at
``0 .. L - 1`` and its video ``P - L`` positions further away. The encoders themselves are
unaffected: the byte encoder numbers its learned positions from the first real token, T5 uses
relative positions.

Condition dropout (``drop_prob``) replaces a caption by the learned null condition: a learned
null prefix ``(P, C)`` (every token real) and a learned null pooled vector. CFG uses the same.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from videoar.models.transformers import RMSNorm
from videoar.models.transformers.layers import SwiGLU
from videoar.registry import CONDITIONERS
from videoar.structures import VideoBatch
from videoar.utils import ConfigError, check_choice, check_positive

from .base import BaseConditioner, Condition
from .text_tokenizer import PADDING_SIDES, ByteTokenizer

TEXT_EXTRA_HINT = 'pip install -e ".[text]"'


def masked_mean(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``tokens (B, P, C)`` over the real positions of ``mask (B, P)`` -> ``(B, C)``."""
    weights = mask.to(tokens.dtype).unsqueeze(-1)
    return (tokens * weights).sum(1) / weights.sum(1).clamp(min=1.0)


def captions_of(batch: VideoBatch, key: str) -> list[str]:
    """The captions of a batch (field ``key``); a missing field gives empty captions (no text)."""
    captions = batch.get(key)
    if captions is None:
        return [''] * len(batch)
    captions = list(captions)
    for caption in captions:
        if not isinstance(caption, str):
            raise TypeError(
                f"data_samples['{key}'] must hold strings, got {type(caption).__name__}."
            )
    return captions


class TextConditionerBase(BaseConditioner):
    """Shared parts of the text conditioners: the caption field and the learned null condition.

    Subclasses implement :meth:`encode_texts` ``(texts) -> Condition`` on the module's device.

    Attributes:
        condition_kind: ``'text'`` (the generation API uses it to accept prompts, not classes).
        prefix_len: ``P`` text tokens (``max_length``).
        padding_side: ``'left'`` (the paper's text-to-video distances) or ``'right'``.
    """

    condition_kind = 'text'

    def __init__(
        self,
        embed_dim: int,
        max_length: int,
        drop_prob: float = 0.1,
        caption_key: str = 'caption',
        init_std: float = 0.02,
        padding_side: str = 'left',
    ) -> None:
        super().__init__(embed_dim, drop_prob)
        check_choice(padding_side, PADDING_SIDES, f'{type(self).__name__}.padding_side')
        self.padding_side = padding_side
        if int(max_length) != max_length or max_length < 2:
            raise ConfigError(
                f'{type(self).__name__}.max_length must be an int >= 2, got {max_length!r}.'
            )
        self.max_length = int(max_length)
        self.prefix_len = self.max_length
        self.caption_key = caption_key
        self.null_prefix = nn.Parameter(torch.randn(self.max_length, self.embed_dim) * init_std)
        self.null_pooled = nn.Parameter(torch.randn(self.embed_dim) * init_std)

    def encode_texts(self, texts: Sequence[str]) -> Condition:
        raise NotImplementedError

    def encode(self, batch: VideoBatch, device) -> Condition:
        """Captions of ``batch.get(caption_key)`` -> :class:`Condition` on ``device``.

        A batch without the field, and empty (or blank) captions (``''`` = no caption, see
        docs/interfaces.md), get the null condition, as unlabelled samples do for classes.
        """
        batch_size = len(batch)
        texts = captions_of(batch, self.caption_key)
        has_text = torch.tensor([bool(t.strip()) for t in texts], device=device)
        if not bool(has_text.any()):
            return self.null(batch_size, device)
        cond = self.encode_texts(texts)
        cond = Condition(
            cond.prefix.to(device), cond.prefix_mask.to(device), cond.pooled.to(device)
        )
        if bool(has_text.all()):
            return cond
        return cond.where(has_text, self.null(batch_size, device))

    def null(self, batch_size: int, device) -> Condition:
        prefix = self.null_prefix.unsqueeze(0).expand(batch_size, -1, -1).to(device)
        mask = torch.ones(batch_size, self.max_length, dtype=torch.bool, device=device)
        pooled = self.null_pooled.unsqueeze(0).expand(batch_size, -1).to(device)
        return Condition(prefix=prefix, prefix_mask=mask, pooled=pooled)

    def is_truncated(self, text: str) -> bool:
        """True when ``text`` does not fit in ``max_length`` tokens."""
        raise NotImplementedError


class _EncoderBlock(nn.Module):
    """A pre-norm bidirectional block: RMSNorm, SDPA self-attention with key padding, SwiGLU."""

    def __init__(self, width: int, num_heads: int, mlp_ratio: float) -> None:
        super().__init__()

        self.num_heads = num_heads
        self.head_dim = width // num_heads
        self.norm1 = RMSNorm(width)
        self.qkv = nn.Linear(width, 3 * width, bias=False)
        self.proj = nn.Linear(width, width, bias=False)
        self.norm2 = RMSNorm(width)
        self.mlp = SwiGLU(width, int(round(width * mlp_ratio)))

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        """``x (B, P, W)``, ``key_mask (B, P)`` bool (True = real) -> ``(B, P, W)``."""
        batch, length, width = x.shape
        qkv = self.qkv(self.norm1(x)).view(batch, length, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # (B, H, P, Dh)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask[:, None, None, :])
        x = x + self.proj(out.transpose(1, 2).reshape(batch, length, width))
        return x + self.mlp(self.norm2(x))


@CONDITIONERS.register_module()
class CharTextConditioner(TextConditionerBase):
    """A small byte-level text encoder trained with the model (for the embedded captions).

    UTF-8 bytes (:class:`ByteTokenizer`, ``[bos] bytes [eos]`` padded) -> token embedding +
    learned positions (numbered from the first real token, so both padding sides encode a
    caption alike) -> ``depth`` bidirectional pre-norm blocks (SDPA with the padding as key
    mask; bos is always real, so no attention row is empty) -> RMSNorm -> ``Linear(width, C)``.
    Padded positions of the prefix are zeroed. ``pooled`` is ``Linear`` of the masked mean.

    Args:
        embed_dim: width ``C`` of the AR model (given by the model).
        max_length: ``P`` tokens per caption including bos and eos (longer captions are cut).
        width: encoder width (default ``C``); must be divisible by ``num_heads``.
        depth: encoder blocks.
        num_heads: attention heads of the encoder.
        mlp_ratio: SwiGLU hidden size / width.
        drop_prob: condition-dropout probability in training (CFG).
        caption_key: the ``data_samples`` field holding the captions.
        init_std: std of the normal init of embeddings and the null condition.
        padding_side: ``'left'`` (default, the paper's positions) or ``'right'`` (see the module
            docstring).

    Shapes: ``encode`` -> ``prefix (B, P, C)``, ``prefix_mask (B, P)``, ``pooled (B, C)``.
    """

    def __init__(
        self,
        embed_dim: int,
        max_length: int = 32,
        width: int | None = None,
        depth: int = 2,
        num_heads: int = 4,
        mlp_ratio: float = 2.0,
        drop_prob: float = 0.1,
        caption_key: str = 'caption',
        init_std: float = 0.02,
        padding_side: str = 'left',
    ) -> None:
        super().__init__(embed_dim, max_length, drop_prob, caption_key, init_std, padding_side)
        width = int(width or embed_dim)
        check_positive(depth, 'CharTextConditioner.depth')
        check_positive(mlp_ratio, 'CharTextConditioner.mlp_ratio')
        if width % num_heads:
            raise ConfigError(
                f'CharTextConditioner: width={width} must be divisible by num_heads={num_heads}.'
            )
        self.tokenizer = ByteTokenizer(self.max_length, self.padding_side)
        self.width = width
        self.token_embed = nn.Embedding(ByteTokenizer.vocab_size, width)
        self.pos_embed = nn.Parameter(torch.zeros(self.max_length, width))
        self.blocks = nn.ModuleList(
            _EncoderBlock(width, num_heads, mlp_ratio) for _ in range(int(depth))
        )
        self.norm = RMSNorm(width)
        self.proj = nn.Linear(width, self.embed_dim)
        self.pooled_proj = nn.Linear(width, self.embed_dim)
        self._init(init_std)

    def _init(self, std: float) -> None:
        nn.init.normal_(self.token_embed.weight, std=std)
        nn.init.normal_(self.pos_embed, std=std)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=std)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def is_truncated(self, text: str) -> bool:
        return self.tokenizer.is_truncated(text)

    def encode_tokens(self, ids: torch.Tensor, mask: torch.Tensor) -> Condition:
        """``ids (B, P)`` long, ``mask (B, P)`` bool -> :class:`Condition`."""
        # positions from the first real token: padding never shifts a caption's encoding
        order = (mask.long().cumsum(dim=1) - 1).clamp(min=0)
        x = self.token_embed(ids) + self.pos_embed[order]
        for block in self.blocks:
            x = block(x, mask)
        x = self.norm(x)
        prefix = self.proj(x) * mask.unsqueeze(-1).to(x.dtype)
        pooled = self.pooled_proj(masked_mean(x, mask))
        return Condition(prefix=prefix, prefix_mask=mask, pooled=pooled)

    def encode_texts(self, texts: Sequence[str]) -> Condition:
        ids, mask = self.tokenizer(texts)
        device = self.pos_embed.device
        return self.encode_tokens(ids.to(device), mask.to(device))


@CONDITIONERS.register_module()
class T5TextConditioner(TextConditionerBase):
    """A frozen Hugging Face T5 encoder from a local directory, projected to the model width.

    ``transformers`` is an optional extra (``pip install -e ".[text]"``); nothing is downloaded
    (``local_files_only=True``). The directory holds a T5 (or T5-like) encoder checkpoint and its
    tokenizer files, as written by ``save_pretrained``. The encoder is frozen and is *not* part
    of this module's ``state_dict`` (the checkpoint of the AR model keeps only the trainable
    projection and the null condition; the path is part of the config). Encoded captions are
    cached (``cache_size`` texts, LRU), because the encoder never changes.

    Features: ``last_hidden_state (B, P, D)`` -> ``RMSNorm`` -> ``Linear(D, C)`` (prefix, padding
    zeroed); ``pooled = Linear(D, C)(masked mean)``.

    Args:
        embed_dim: width ``C`` (given by the model).
        pretrained_path: local directory of the T5 checkpoint and tokenizer.
        max_length: ``P`` tokens per caption (padded / truncated by the T5 tokenizer).
        drop_prob: condition-dropout probability in training.
        caption_key: the ``data_samples`` field holding the captions.
        cache_size: captions whose encoder features are kept (0 disables the cache).
        init_std: std of the normal init of the null condition.
        padding_side: ``'left'`` (default, the paper's positions) or ``'right'`` (see the module
            docstring); set on the T5 tokenizer.
    """

    def __init__(
        self,
        embed_dim: int,
        pretrained_path: str,
        max_length: int = 64,
        drop_prob: float = 0.1,
        caption_key: str = 'caption',
        cache_size: int = 4096,
        init_std: float = 0.02,
        padding_side: str = 'left',
    ) -> None:
        super().__init__(embed_dim, max_length, drop_prob, caption_key, init_std, padding_side)
        try:
            import transformers
        except ImportError as err:
            raise ConfigError(
                'T5TextConditioner needs the optional package `transformers`, which is not '
                f'installed ({err}); install the text extra: {TEXT_EXTRA_HINT}.'
            ) from err
        path = os.path.expanduser(os.fspath(pretrained_path))
        if not os.path.isdir(path):
            raise ConfigError(
                f'T5TextConditioner.pretrained_path={pretrained_path!r} is not a directory. Give '
                'a local directory holding a T5 encoder and its tokenizer (written with '
                'save_pretrained); nothing is downloaded.'
            )
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
            encoder = transformers.T5EncoderModel.from_pretrained(path, local_files_only=True)
        except (OSError, ValueError) as err:
            raise ConfigError(
                f'T5TextConditioner: cannot load a T5 encoder and tokenizer from {path!r}: {err}'
            ) from err
        tokenizer.padding_side = self.padding_side
        encoder.eval()
        for param in encoder.parameters():
            param.requires_grad_(False)
        self.pretrained_path = path
        # kept outside the module tree: not trained, not saved in the AR model's checkpoint
        self._frozen = dict(tokenizer=tokenizer, encoder=encoder)
        feature_dim = int(encoder.config.d_model)
        self.feature_dim = feature_dim
        self.norm = RMSNorm(feature_dim)
        self.proj = nn.Linear(feature_dim, self.embed_dim)
        self.pooled_proj = nn.Linear(feature_dim, self.embed_dim)
        for layer in (self.proj, self.pooled_proj):
            nn.init.trunc_normal_(layer.weight, std=init_std)
            nn.init.zeros_(layer.bias)
        self.cache_size = int(cache_size)
        self._cache: OrderedDict[str, tuple[torch.Tensor, torch.Tensor]] = OrderedDict()

    @property
    def encoder(self):
        return self._frozen['encoder']

    @property
    def text_tokenizer(self):
        return self._frozen['tokenizer']

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        self.encoder._apply(fn, *args, **kwargs)  # follow .to(device) / .float() / ...
        return self

    def train(self, mode: bool = True):
        super().train(mode)
        self.encoder.eval()  # frozen: no dropout
        return self

    def is_truncated(self, text: str) -> bool:
        ids = self.text_tokenizer(text, add_special_tokens=True)['input_ids']
        return len(ids) > self.max_length

    @torch.no_grad()
    def text_features(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Frozen encoder features ``(B, P, D)`` float32 and ``mask (B, P)`` bool (cached)."""
        device = self.proj.weight.device
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            batch = self.text_tokenizer(
                list(missing),
                padding='max_length',
                truncation=True,
                max_length=self.max_length,
                return_tensors='pt',
            )
            ids = batch['input_ids'].to(device)
            mask = batch['attention_mask'].to(device).bool()
            # an empty text still has one real position (the slot next to the video when left)
            mask[:, -1 if self.padding_side == 'left' else 0] = True
            hidden = self.encoder(input_ids=ids, attention_mask=mask.long()).last_hidden_state
            for i, text in enumerate(missing):
                self._cache[text] = (hidden[i].float().cpu(), mask[i].cpu())
        features = torch.stack([self._cache[t][0] for t in texts]).to(device)
        mask = torch.stack([self._cache[t][1] for t in texts]).to(device)
        for text in texts:
            self._cache.move_to_end(text)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return features, mask

    def encode_texts(self, texts: Sequence[str]) -> Condition:
        features, mask = self.text_features(texts)
        features = self.norm(features.to(self.proj.weight.dtype))
        prefix = self.proj(features) * mask.unsqueeze(-1).to(features.dtype)
        pooled = self.pooled_proj(masked_mean(features, mask))
        return Condition(prefix=prefix, prefix_mask=mask, pooled=pooled)


__all__ = [
    'CharTextConditioner',
    'T5TextConditioner',
    'TextConditionerBase',
    'captions_of',
    'masked_mean',
]
