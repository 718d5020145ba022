"""VideoAR: next-frame x next-scale autoregressive video generation (arXiv 2601.05966).

The model wires the swappable parts (DESIGN.md, "the spine")::

    video (B,3,F,H,W) --tokenizer.encode (frozen)--> latent (B,d,T',h,w)
      --corrector (+ quantizer, frozen)--> FramePyramid: inputs (B,Lv,d), labels (B,Lv,...)
      --embed--> [prefix (P) | video tokens (Lv)] (B, L, C)
      --masking (AND prefix key padding), pos_encoding--> transformer --> head --> logits
      --> bitwise CE (BSQ) or CE (VQ) over the video tokens

Embedding of a video token of block (t, k): ``word_embed(norm(input)) + s_k (+ additive PE)``;
the tokens of block (0, 0) get the start token ``pooled condition + start vector`` (the SOS,
VAR's convention) instead of an input. With ``cond_mode='prefix'`` the condition tokens lead the
sequence; with ``'adaln'`` there is no prefix and the pooled condition modulates the blocks.

Sampling walks the blocks ``(t, k)`` in order with a :class:`KVCache` that persists across
scales and frames; CFG runs the conditional and the null condition in one batched forward. The
number of sampling steps is ``T' * K``.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import nn

from videoar.io.checkpoint import resolve_checkpoint
from videoar.models.conditioners import Condition, batch_size_of
from videoar.models.sampling import BaseCFGSchedule, ConstantCFG
from videoar.models.sampling.sampler import sample_video
from videoar.models.sequence import (
    FramePyramid,
    SequenceLayout,
    block_input,
    build_teacher_forcing,
    flatten_tokens,
    get_layout,
    unflatten_labels,
)
from videoar.models.tokenizers.checkpoint import load_tokenizer_checkpoint
from videoar.models.transformers import RMSNorm
from videoar.registry import (
    CFG_SCHEDULES,
    CONDITIONERS,
    CORRECTORS,
    MASKINGS,
    MODELS,
    POS_ENCODINGS,
    QUANTIZERS,
    TOKENIZERS,
)
from videoar.utils import ConfigError, build_checked, check_known_keys, check_num_frames

SAMPLE_CFG_KEYS = ('cfg_scale', 'cfg_schedule', 'temperature', 'top_k', 'top_p', 'seed')


def _freeze(module: nn.Module) -> nn.Module:
    module.eval()
    for param in module.parameters():
        param.requires_grad_(False)
    return module


@MODELS.register_module()
class VideoAR(BaseModel):
    """The VideoAR generator (an mmengine ``BaseModel``).

    Args:
        tokenizer: config of a ``TOKENIZERS`` video tokenizer (frozen).
        quantizer: config of a ``QUANTIZERS`` multi-scale quantizer (frozen).
        transformer: config of the transformer (``MODELS``, e.g. ``ARTransformer``); its
            ``dim`` is the width ``C`` of everything else.
        conditioner: config of a ``CONDITIONERS`` conditioner (built with ``embed_dim=C``).
        corrector: config of a ``CORRECTORS`` corrector (training-time label corruption).
        masking: config of a ``MASKINGS`` attention mask.
        pos_encoding: config of a ``POS_ENCODINGS`` encoding (built with ``dim``, ``head_dim``,
            ``scale_sizes``, ``max_frames``, ``max_prefix_len``), or ``None``.
        num_frames: pixel frames ``F = 1 + T`` of a training clip (the default for sampling).
        resolution: ``(H, W)`` of a training clip.
        tokenizer_checkpoint: a ``VideoTokenizer`` checkpoint to load the tokenizer and
            quantizer from (``load_tokenizer_checkpoint``): a file, the tokenizer run's work
            directory (its final checkpoint), or ``dict(work_dir=..., command=...)`` (the error
            for a missing run names ``command``); ``None`` keeps their init.
        max_frames: latent frames the positional tables cover (default: those of ``num_frames``).
        word_embed_norm: RMS-normalise the ``d``-dim inputs before the word embedding (Infinity's
            ``norm0_ve``).
        scale_embed_every_block: add ``s_k`` before every block instead of only before the first
            (Infinity adds it only before the first block, the default).
        reweight_loss_by_scale: weight each token of scale ``k`` by ``sqrt(area_K / area_k)``,
            normalised to sum to one per sample (Infinity's ``reweight_loss_by_scale``).
        sample_cfg: defaults for ``predict``: ``cfg_scale`` (float) or ``cfg_schedule`` (config
            of a ``CFG_SCHEDULES`` entry), ``temperature``, ``top_k``, ``top_p``, ``seed``.
        init_std: std of the normal init of the embeddings and the start vector.
        data_preprocessor, init_cfg: as in mmengine.
    """

    def __init__(
        self,
        tokenizer: dict,
        quantizer: dict,
        transformer: dict,
        conditioner: dict,
        corrector: dict | None = None,
        masking: dict | None = None,
        pos_encoding: dict | None = None,
        num_frames: int = 17,
        resolution: tuple[int, int] | int = (32, 32),
        tokenizer_checkpoint: str | dict | None = None,
        max_frames: int | None = None,
        word_embed_norm: bool = False,
        scale_embed_every_block: bool = False,
        reweight_loss_by_scale: bool = False,
        sample_cfg: dict | None = None,
        init_std: float = 0.02,
        data_preprocessor: dict | None = None,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        corrector = corrector or dict(type='NoCorrection')
        masking = masking or dict(type='BlockCausalMask')

        # ---- frozen tokenizer + quantizer ----------------------------------------------------
        self.tokenizer = build_checked(TOKENIZERS, tokenizer, 'VideoAR.tokenizer')
        self.quantizer = build_checked(QUANTIZERS, quantizer, 'VideoAR.quantizer')
        if tokenizer_checkpoint:
            tokenizer_checkpoint = resolve_checkpoint(
                tokenizer_checkpoint, 'VideoAR.tokenizer_checkpoint'
            )

            load_tokenizer_checkpoint(tokenizer_checkpoint, self.tokenizer, self.quantizer)
        _freeze(self.tokenizer)
        _freeze(self.quantizer)
        self.tokenizer_checkpoint = tokenizer_checkpoint
        if self.quantizer.embed_dim != self.tokenizer.latent_dim:
            raise ConfigError(
                f'VideoAR: the quantizer embed_dim={self.quantizer.embed_dim} must equal the '
                f'tokenizer latent_dim={self.tokenizer.latent_dim}.'
            )

        # ---- shapes, validated at build time ----------------------------------------------
        if isinstance(resolution, int):
            resolution = (resolution, resolution)
        self.resolution = (int(resolution[0]), int(resolution[1]))
        check_num_frames(num_frames, self.tokenizer.temporal_stride, 'VideoAR.num_frames')
        latent_frames, latent_h, latent_w = self.tokenizer.latent_shape(
            num_frames, *self.resolution
        )
        self.quantizer.check_latent_size((latent_h, latent_w))
        self.num_frames = int(num_frames)
        self.latent_frames = int(latent_frames)
        self.latent_size = (int(latent_h), int(latent_w))
        self.max_frames = int(max_frames or latent_frames)
        if self.max_frames < self.latent_frames:
            raise ConfigError(
                f'VideoAR.max_frames={self.max_frames} is smaller than the {self.latent_frames} '
                f'latent frames of num_frames={num_frames}; use max_frames >= {self.latent_frames}.'
            )
        self.scale_sizes = [tuple(s) for s in self.quantizer.scale_sizes]
        self.num_scales = len(self.scale_sizes)
        self.latent_dim = self.quantizer.embed_dim

        # ---- transformer and the parts that need its width ----------------------------------
        self.transformer = build_checked(MODELS, transformer, 'VideoAR.transformer')
        for attr in ('dim', 'head_dim', 'depth', 'num_heads', 'cond_mode'):
            if not hasattr(self.transformer, attr):
                raise ConfigError(f'VideoAR.transformer must expose `{attr}` (as ARTransformer).')
        dim = self.transformer.dim
        self.dim = dim
        self.cond_mode = self.transformer.cond_mode
        self.conditioner = build_checked(
            CONDITIONERS, conditioner, 'VideoAR.conditioner', embed_dim=dim
        )
        self.prefix_len = self.conditioner.prefix_len if self.cond_mode == 'prefix' else 0
        self.corrector = build_checked(CORRECTORS, corrector, 'VideoAR.corrector')
        self.masking = build_checked(MASKINGS, masking, 'VideoAR.masking')
        self.pos_encoding = build_checked(
            POS_ENCODINGS,
            pos_encoding,
            'VideoAR.pos_encoding',
            dim=dim,
            head_dim=self.transformer.head_dim,
            scale_sizes=self.scale_sizes,
            max_frames=self.max_frames,
            max_prefix_len=self.prefix_len,
        )

        # ---- embeddings and head -----------------------------------------------------------
        self.word_embed_norm = RMSNorm(self.latent_dim) if word_embed_norm else nn.Identity()
        self.word_embed = nn.Linear(self.latent_dim, dim, bias=False)
        self.scale_embed = nn.Embedding(self.num_scales, dim)
        self.start_token = nn.Parameter(torch.zeros(dim))
        self.head = nn.Linear(dim, self.quantizer.logits_per_token)
        self.scale_embed_every_block = bool(scale_embed_every_block)
        self.reweight_loss_by_scale = bool(reweight_loss_by_scale)
        self.init_std = float(init_std)
        self.label_kind = self.quantizer.label_kind
        self.sample_cfg = self._check_sample_cfg(sample_cfg or {})
        self._reset_embeddings()

    # ---- init / modes ------------------------------------------------------------------------
    def _reset_embeddings(self) -> None:
        """Explicit local init of the model-level parameters (the transformer inits itself)."""
        nn.init.normal_(self.word_embed.weight, std=self.init_std)
        nn.init.normal_(self.scale_embed.weight, std=self.init_std)
        nn.init.normal_(self.start_token, std=self.init_std)
        nn.init.zeros_(self.head.weight)  # logits start at 0: loss = log(2) per bit (DiT)
        nn.init.zeros_(self.head.bias)

    def init_weights(self) -> None:
        """Weights are initialised at construction; the tokenizer keeps its loaded weights.

        (mmengine's Runner calls this before training; the default would re-initialise every
        child module with an ``init_weights``, including the frozen, loaded tokenizer.)
        """
        self._is_init = True

    def train(self, mode: bool = True) -> VideoAR:
        """Switch modes; the tokenizer and quantizer always stay in eval mode."""
        super().train(mode)
        self.tokenizer.eval()
        self.quantizer.eval()
        return self

    @staticmethod
    def _check_sample_cfg(sample_cfg: Mapping) -> dict:
        check_known_keys(sample_cfg, SAMPLE_CFG_KEYS, 'VideoAR.sample_cfg')
        return dict(sample_cfg)

    # ---- sizes -------------------------------------------------------------------------------
    def latent_frames_of(self, num_frames: int) -> int:
        """Latent frames ``T'`` of ``num_frames`` pixel frames (ConfigError if impossible)."""
        check_num_frames(num_frames, self.tokenizer.temporal_stride)
        return int(self.tokenizer.latent_shape(num_frames, *self.resolution)[0])

    def layout(self, latent_frames: int) -> SequenceLayout:
        """The (cached) sequence layout of ``latent_frames`` frames after the prefix."""
        if latent_frames > self.max_frames:
            raise ConfigError(
                f'{latent_frames} latent frames exceed max_frames={self.max_frames} of this '
                f'model; generate longer videos by windows or build with a larger max_frames.'
            )
        return get_layout(latent_frames, self.scale_sizes, self.prefix_len)

    def num_sampling_steps_for(self, num_frames: int | None = None) -> int:
        """Sampling steps (transformer forwards over blocks) = latent frames x scales."""
        frames = self.latent_frames_of(num_frames or self.num_frames)
        return frames * self.num_scales

    @property
    def num_sampling_steps(self) -> int:
        """Sampling steps of a default-length video: ``T' * K``."""
        return self.latent_frames * self.num_scales

    # ---- tokenizer -----------------------------------------------------------------------
    @torch.no_grad()
    def encode(self, video: torch.Tensor) -> torch.Tensor:
        """``(B, 3, F, H, W)`` in [-1, 1] -> continuous latent ``(B, d, T', h, w)``."""
        return self.tokenizer.encode(video).float()

    @torch.no_grad()
    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """Quantized latent ``(B, d, T', h, w)`` -> video ``(B, 3, F, H, W)`` in [-1, 1]."""
        return self.tokenizer.decode(latent).float().clamp(-1, 1)

    # ---- embedding -------------------------------------------------------------------------
    def _scale_table(self, layout: SequenceLayout, start: int, end: int, device) -> torch.Tensor:
        """``(end - start, C)``: ``s_k`` of each video position in ``[start, end)``."""
        scales = layout.scale_index[start:end].to(device)
        return self.scale_embed(scales.clamp(min=0)) * (scales >= 0).unsqueeze(-1)

    def _additive_pe(self, layout: SequenceLayout, start: int, end: int):
        if self.pos_encoding is None:
            return None
        return self.pos_encoding.embedding(layout, start, end)

    def _rotary(self, layout: SequenceLayout, start: int, end: int):
        if self.pos_encoding is None:
            return None
        return self.pos_encoding.rotary(layout, start, end)

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
        pe = self._additive_pe(layout, 0, layout.prefix_len)
        return prefix if pe is None else prefix + pe.to(prefix)

    def embed_video(
        self,
        inputs: torch.Tensor,
        cond: Condition,
        layout: SequenceLayout,
        start: int,
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
            x = x + self._scale_table(layout, start, end, x.device)
        pe = self._additive_pe(layout, start, end)
        return x if pe is None else x + pe.to(x)

    def _block_bias(self, layout: SequenceLayout, start: int, end: int, device):
        if not self.scale_embed_every_block:
            return None
        return self._scale_table(layout, start, end, device).unsqueeze(0)

    # ---- attention masks -------------------------------------------------------------------
    def _structural_mask(self, layout: SequenceLayout, batch_size: int, device) -> torch.Tensor:
        """``(B|1, L, L)`` bool from the masking strategy (random in training, cached in eval)."""
        return self.masking(layout, batch_size, self.training, None, device)

    @staticmethod
    def _finish_mask(
        mask: torch.Tensor, key_valid: torch.Tensor | None, query_start: int
    ) -> torch.Tensor:
        """AND the key padding ``(B, Lk)`` and OR the diagonal (a token always sees itself).

        ``mask`` is ``(B|1, Lq, Lk)`` for queries at sequence positions ``query_start + i``.
        """
        if key_valid is not None:
            mask = mask & key_valid[:, None, :]
        num_q, num_k = mask.shape[-2:]
        rows = torch.arange(num_q, device=mask.device)
        diag = torch.zeros(num_q, num_k, dtype=torch.bool, device=mask.device)
        diag[rows, rows + query_start] = True
        return mask | diag

    @staticmethod
    def _key_valid(cond: Condition, layout: SequenceLayout, end: int) -> torch.Tensor | None:
        """``(B, end)`` bool: False on padded prefix keys; ``None`` when nothing is padded."""
        if layout.prefix_len == 0 or bool(cond.prefix_mask.all()):
            return None
        video = torch.ones(
            cond.batch_size, end - layout.prefix_len, dtype=torch.bool, device=cond.pooled.device
        )
        return torch.cat([cond.prefix_mask[:, : layout.prefix_len].bool(), video], dim=1)[:, :end]

    # ---- full-sequence forward (training, teacher forcing) ----------------------------------
    def _transformer_cond(self, cond: Condition) -> torch.Tensor | None:
        return cond.pooled if self.cond_mode == 'adaln' else None

    def logits_from_inputs(
        self, inputs: torch.Tensor, cond: Condition, layout: SequenceLayout
    ) -> torch.Tensor:
        """One forward over ``[prefix | video]``; ``inputs (B, Lv, d)`` -> logits ``(B, Lv, n)``.

        ``n = quantizer.logits_per_token``. Uses the training mask in training mode.
        """
        batch = inputs.shape[0]
        device = inputs.device
        x = torch.cat(
            [
                self.embed_prefix(cond, layout),
                self.embed_video(inputs, cond, layout, layout.prefix_len),
            ],
            dim=1,
        )
        mask = self._structural_mask(layout, batch, device)
        mask = self._finish_mask(mask, self._key_valid(cond, layout, layout.total_len), 0)
        hidden = self.transformer(
            x,
            attn_mask=mask,
            rotary=self._rotary(layout, 0, layout.total_len),
            cond=self._transformer_cond(cond),
            block_bias=self._block_bias(layout, 0, layout.total_len, device),
        )
        return self.head(hidden[:, layout.prefix_len :])

    def forward_logits(
        self,
        latent: torch.Tensor | None = None,
        condition: Condition | None = None,
        labels: torch.Tensor | None = None,
        data_samples=None,
    ) -> torch.Tensor:
        """Teacher-forced logits of a whole video, without corruption.

        Give either a continuous ``latent (B, d, T', h, w)`` (quantized by the quantizer) or the
        ``labels (B, Lv, *label_shape)`` of every block (e.g. the labels a sampling run drew; the
        inputs are then built from the labels exactly as the sampler builds them). The condition
        is ``condition`` or the conditioner's eval output for ``data_samples``.

        Returns:
            ``(B, Lv, logits_per_token)``.
        """
        if (latent is None) == (labels is None):
            raise ValueError('forward_logits needs exactly one of latent= or labels=.')
        if latent is not None:
            inputs = build_teacher_forcing(latent.float(), self.quantizer).inputs
            batch = latent.shape[0]
            latent_frames = latent.shape[2]
        else:
            batch = labels.shape[0]
            latent_frames = labels.shape[1] // get_layout(1, self.scale_sizes, 0).video_len
            inputs, _ = self.inputs_from_labels(labels, latent_frames)
        if condition is None:
            was_training = self.conditioner.training
            self.conditioner.eval()
            condition = self.conditioner(data_samples, batch, inputs.device)
            self.conditioner.train(was_training)
        return self.logits_from_inputs(inputs, condition, self.layout(latent_frames))

    @torch.no_grad()
    def inputs_from_labels(
        self, labels: torch.Tensor, latent_frames: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forcing inputs of given labels, built as the sampler builds them.

        Args:
            labels: ``(B, T' * tokens_per_frame, *label_shape)`` in block order.
            latent_frames: ``T'``.

        Returns:
            ``inputs (B, Lv, d)`` (block (0, 0) zeros) and the per-frame latents
            ``(B, d, T', h, w)`` (sum over each frame's scales).
        """
        layout = get_layout(latent_frames, self.scale_sizes, 0)
        batch = labels.shape[0]
        per_frame = labels.reshape(batch, latent_frames, layout.tokens_per_frame, *labels.shape[2:])
        cum = None
        inputs = [None] * self.num_scales
        for k, size in enumerate(self.scale_sizes):
            lo, hi = layout.scale_offsets[k], layout.scale_offsets[k + 1]
            labels_k = unflatten_labels(per_frame[:, :, lo:hi].flatten(0, 1), size)
            if k > 0:
                inputs[k] = block_input(self.quantizer, k, cum, None)
            codes = self.quantizer.labels_to_codes(labels_k, k)
            contrib = self.quantizer.codes_to_residual(codes, k).float()
            cum = contrib if cum is None else cum + contrib
        sums = cum.unflatten(0, (batch, latent_frames))  # (B, T', d, h, w)
        prev = torch.cat([torch.zeros_like(sums[:, :1]), sums[:, :-1]], dim=1).flatten(0, 1)
        inputs[0] = block_input(self.quantizer, 0, None, prev)
        tokens = [flatten_tokens(x).unflatten(0, (batch, latent_frames)) for x in inputs]
        video_inputs = torch.cat(tokens, dim=2).flatten(1, 2)  # (B, Lv, d)
        first = layout.tokens_per_scale[0]
        video_inputs[:, :first] = 0  # block (0, 0): the model's start token
        return video_inputs, sums.permute(0, 2, 1, 3, 4).contiguous()

    # ---- loss ------------------------------------------------------------------------------
    def _token_losses(
        self, logits: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-token loss ``(B, Lv)`` (mean over bits), bit/token accuracy (``(B, Lv)`` each)."""
        logits = logits.float()
        if self.label_kind == 'bits':
            bit_logits = logits.unflatten(-1, (-1, 2))  # (B, Lv, d, 2)
            ce = F.cross_entropy(bit_logits.flatten(0, 2), labels.flatten(), reduction='none')
            ce = ce.view(labels.shape)  # (B, Lv, d)
            correct = bit_logits.argmax(-1) == labels
            return ce.mean(-1), correct.float().mean(-1), correct.all(-1).float()
        ce = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), reduction='none')
        correct = (logits.argmax(-1) == labels).float()
        return ce.view(labels.shape), correct, correct

    def _scale_weights(self, layout: SequenceLayout, device) -> torch.Tensor:
        """``(Lv,)`` per-token weights summing to one."""
        video_scales = layout.scale_index[layout.prefix_len :].to(device)
        if not self.reweight_loss_by_scale:
            return torch.full(video_scales.shape, 1.0 / video_scales.numel(), device=device)
        areas = torch.tensor([h * w for h, w in self.scale_sizes], dtype=torch.float32)
        per_scale = torch.sqrt(areas[-1] / areas).to(device)
        weights = per_scale[video_scales]
        return weights / weights.sum()

    def _latent_of(self, inputs: torch.Tensor | None, data_samples) -> torch.Tensor:
        if isinstance(data_samples, Mapping) and data_samples.get('latent') is not None:
            latent = data_samples['latent']
            if not isinstance(latent, torch.Tensor):
                latent = torch.stack(list(latent))
            return latent.float()
        if inputs is None:
            raise ValueError(
                'VideoAR needs a video batch (B, 3, F, H, W) or data_samples["latent"].'
            )
        return self.encode(inputs)

    def loss(self, inputs: torch.Tensor | None, data_samples=None) -> dict[str, torch.Tensor]:
        """Training loss of a batch of videos (or cached latents).

        Returns ``loss`` (bitwise CE / CE) plus logging scalars ``acc_bit``, ``acc_token`` and
        the realised flip rates ``flip_rate/t{t}`` of the corrector.
        """
        latent = self._latent_of(inputs, data_samples)
        batch, _, latent_frames = latent.shape[:3]
        layout = self.layout(latent_frames)
        pyramid: FramePyramid = self.corrector(latent, self.quantizer)
        cond = self.conditioner(data_samples, batch, latent.device)
        logits = self.logits_from_inputs(pyramid.inputs, cond, layout)
        token_loss, bit_acc, token_acc = self._token_losses(logits, pyramid.labels)
        weights = self._scale_weights(layout, latent.device)
        out = {'loss': (token_loss * weights).sum(-1).mean()}
        out['acc_bit' if self.label_kind == 'bits' else 'acc_token'] = bit_acc.mean().detach()
        if self.label_kind == 'bits':
            out['acc_token'] = token_acc.mean().detach()
        out.update(pyramid.flip_rate_log())
        return out

    # ---- sampling --------------------------------------------------------------------------
    def _cfg_schedule(self, cfg_scale, cfg_schedule) -> BaseCFGSchedule:
        if cfg_schedule is not None:
            if isinstance(cfg_schedule, Mapping):
                return build_checked(CFG_SCHEDULES, cfg_schedule, 'cfg_schedule')
            return cfg_schedule
        return ConstantCFG(1.0 if cfg_scale is None else float(cfg_scale))

    def _labels_to_latent_sum(self, labels_k: torch.Tensor, k: int) -> torch.Tensor:
        codes = self.quantizer.labels_to_codes(labels_k, k)
        return self.quantizer.codes_to_residual(codes, k).float()

    @contextmanager
    def _eval_mode(self):
        """Run in eval mode (no condition dropout, no corruption), then restore the mode."""
        was_training = self.training
        self.eval()
        try:
            yield
        finally:
            self.train(was_training)

    # ---- mmengine entry point ----------------------------------------------------------------
    def predict(self, inputs: torch.Tensor | None, data_samples=None) -> list[dict]:
        """Sample one video per batch element, conditioned on its metadata.

        Returns B dicts with ``pred_video (3, F, H, W)``, ``gt_video`` (when ``inputs`` is a
        video batch), ``label``, ``caption``, ``latent (d, T', h, w)``, ``labels (Lv, ...)`` and
        ``num_sampling_steps``.
        """
        cfg = dict(self.sample_cfg)
        has_video = isinstance(inputs, torch.Tensor) and inputs.dim() == 5
        batch = inputs.shape[0] if has_video else batch_size_of(data_samples)
        num_frames = inputs.shape[2] if has_video else self.num_frames
        generator = None
        seed = cfg.pop('seed', None)
        if seed is not None:
            indices = _field(data_samples, 'index', batch)
            offset = int(indices[0]) if indices is not None else 0
            generator = torch.Generator(device='cpu').manual_seed(int(seed) + offset)
        result = sample_video(
            self, data_samples, batch_size=batch, num_frames=num_frames, generator=generator, **cfg
        )
        labels = _field(data_samples, 'label', batch)
        captions = _field(data_samples, 'caption', batch)
        outputs = []
        for i in range(batch):
            item = dict(
                pred_video=result['video'][i],
                latent=result['latent'][i],
                labels=result['labels'][i],
                label=int(labels[i]) if labels is not None else -1,
                caption=captions[i] if captions is not None else '',
                num_sampling_steps=result['num_sampling_steps'],
            )
            if has_video:
                item['gt_video'] = inputs[i]
            outputs.append(item)
        return outputs

    def forward(self, inputs=None, data_samples=None, mode: str = 'tensor'):
        """mmengine entry: ``'loss'`` -> loss dict, ``'predict'`` -> list of B dicts,
        ``'tensor'`` -> teacher-forced logits ``(B, Lv, logits_per_token)`` (no corruption)."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            latent = self._latent_of(inputs, data_samples)
            return self.forward_logits(latent=latent, data_samples=data_samples)
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}.")


def _field(data_samples, key: str, batch: int):
    from videoar.models.conditioners import get_field

    value = get_field(data_samples, key, batch)
    if isinstance(value, torch.Tensor):
        return value.tolist()
    return value


__all__ = ['VideoAR']
