"""VideoAR: next-frame x next-scale autoregressive video generation (arXiv 2601.05966).

The model (an mmengine ``BaseModel``) wires the swappable parts::

    video (B,3,F,H,W) --tokenizer.encode (frozen)--> latent (B,d,T',h,w)
      --corrector (+ quantizer, frozen)--> FramePyramid: inputs (B,Lv,d), labels (B,Lv,...)
      --embed--> [prefix (P) | video tokens (Lv)] (B, L, C)
      --masking (AND prefix key padding), pos_encoding--> transformer --> head --> logits
      --> bitwise CE (BSQ) or CE (VQ) over the video tokens

The parts live in their own modules: build-time checks in ``videoar_build``, embeddings, masks
and the transformer forward in ``videoar_sequence`` (shared with the sampler), the loss in
``videoar_loss``. Sampling is :func:`videoar.models.sampling.sample_video` (the KV-cache block
loop with CFG); :meth:`VideoAR.predict` calls it.

``data_samples`` are read through :class:`videoar.structures.VideoBatch` only: every entry point
converts them once with ``VideoBatch.of``.
"""

from __future__ import annotations

import torch
from mmengine.model import BaseModel
from torch import nn

from videoar.models.conditioners import Condition
from videoar.models.sampling.sampler import sample_video
from videoar.models.sequence import (
    FramePyramid,
    SequenceLayout,
    build_teacher_forcing,
    get_layout,
    inputs_from_labels,
)
from videoar.models.transformers import RMSNorm
from videoar.registry import CONDITIONERS, CORRECTORS, MASKINGS, MODELS, POS_ENCODINGS
from videoar.structures import VideoBatch
from videoar.utils import ConfigError, build_checked, check_num_frames, eval_mode

from .videoar_build import (
    build_frozen_tokenizer,
    check_sample_cfg,
    check_transformer,
    latent_geometry,
)
from .videoar_loss import scale_weights, weighted_loss
from .videoar_sequence import SequenceForward


@MODELS.register_module()
class VideoAR(SequenceForward, BaseModel):
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
            for a missing run names ``command``); ``None`` keeps their init, with a loud
            warning unless ``allow_random_tokenizer``.
        allow_random_tokenizer: build on an untrained tokenizer without the warning (tests,
            FLOP counts, or a full checkpoint loaded afterwards, as ``init_model`` does).
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
        allow_random_tokenizer: bool = False,
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
        self.tokenizer, self.quantizer, self.tokenizer_checkpoint = build_frozen_tokenizer(
            tokenizer, quantizer, tokenizer_checkpoint, allow_random_tokenizer
        )
        geometry = latent_geometry(
            self.tokenizer, self.quantizer, num_frames, resolution, max_frames
        )
        self.num_frames = geometry.num_frames
        self.resolution = geometry.resolution
        self.latent_frames = geometry.latent_frames
        self.latent_size = geometry.latent_size
        self.max_frames = geometry.max_frames
        self.scale_sizes = [tuple(s) for s in self.quantizer.scale_sizes]
        self.num_scales = len(self.scale_sizes)
        self.latent_dim = self.quantizer.embed_dim
        self.label_kind = self.quantizer.label_kind
        self._build_sequence_parts(transformer, conditioner, corrector, masking, pos_encoding)
        self._build_embeddings(word_embed_norm, init_std)
        self.scale_embed_every_block = bool(scale_embed_every_block)
        self.reweight_loss_by_scale = bool(reweight_loss_by_scale)
        self.sample_cfg = check_sample_cfg(sample_cfg)

    def _build_sequence_parts(self, transformer, conditioner, corrector, masking, pos_encoding):
        """The transformer and the parts that need its width ``C``."""
        self.transformer = build_checked(MODELS, transformer, 'VideoAR.transformer')
        check_transformer(self.transformer)
        self.dim = self.transformer.dim
        self.cond_mode = self.transformer.cond_mode
        self.conditioner = build_checked(
            CONDITIONERS, conditioner, 'VideoAR.conditioner', embed_dim=self.dim
        )
        self.prefix_len = self.conditioner.prefix_len if self.cond_mode == 'prefix' else 0
        corrector = corrector or dict(type='NoCorrection')
        self.corrector = build_checked(CORRECTORS, corrector, 'VideoAR.corrector')
        masking = masking or dict(type='BlockCausalMask')
        self.masking = build_checked(MASKINGS, masking, 'VideoAR.masking')
        self.pos_encoding = build_checked(
            POS_ENCODINGS,
            pos_encoding,
            'VideoAR.pos_encoding',
            dim=self.dim,
            head_dim=self.transformer.head_dim,
            scale_sizes=self.scale_sizes,
            max_frames=self.max_frames,
            max_prefix_len=self.prefix_len,
        )

    def _build_embeddings(self, word_embed_norm: bool, init_std: float) -> None:
        """Word, scale and start embeddings and the head, with their explicit local init (the
        transformer inits itself)."""
        dim = self.dim
        self.word_embed_norm = RMSNorm(self.latent_dim) if word_embed_norm else nn.Identity()
        self.word_embed = nn.Linear(self.latent_dim, dim, bias=False)
        self.scale_embed = nn.Embedding(self.num_scales, dim)
        self.start_token = nn.Parameter(torch.zeros(dim))
        self.head = nn.Linear(dim, self.quantizer.logits_per_token)
        self.init_std = float(init_std)
        nn.init.normal_(self.word_embed.weight, std=self.init_std)
        nn.init.normal_(self.scale_embed.weight, std=self.init_std)
        nn.init.normal_(self.start_token, std=self.init_std)
        nn.init.zeros_(self.head.weight)  # logits start at 0: loss = log(2) per bit (DiT)
        nn.init.zeros_(self.head.bias)

    # ---- init / modes ------------------------------------------------------------------------
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

    @torch.no_grad()
    def reconstruct(self, inputs: torch.Tensor | None, data_samples=None) -> torch.Tensor:
        """Real clips through the tokenizer as the AR model sees them: encode, quantize at the
        model's scale schedule (the teacher-forcing pyramid, without corruption), decode.

        Args:
            inputs: videos ``(B, 3, F, H, W)`` in [-1, 1] (or None when ``data_samples`` carry
                cached latents).

        Returns:
            ``(B, 3, F, H, W)`` in [-1, 1]: the best video the AR model can produce for these
            clips (its labels are the teacher-forcing targets).
        """
        batch = None if data_samples is None else VideoBatch.of(data_samples)
        latent = self.latent_of(inputs, batch)
        return self.decode(build_teacher_forcing(latent, self.quantizer).reconstructed)

    def latent_of(self, inputs: torch.Tensor | None, batch: VideoBatch | None) -> torch.Tensor:
        """The batch's cached ``latent`` (fp32), else the encoded video ``inputs``."""
        if batch is not None and batch.latent is not None:
            return batch.latent.float()
        if not isinstance(inputs, torch.Tensor) or inputs.dim() != 5:
            raise ValueError(
                'VideoAR needs a video batch (B, 3, F, H, W) or data_samples with a latent.'
            )
        return self.encode(inputs)

    # ---- teacher forcing -------------------------------------------------------------------
    def condition(self, data_samples, batch_size: int, device) -> Condition:
        """The conditioner's eval-mode condition (no dropout) of ``data_samples``."""
        with eval_mode(self.conditioner):
            return self.conditioner(data_samples, batch_size, device)

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
        inputs are then built from the labels by the same residual pyramid the sampler walks).
        The condition is ``condition`` or the conditioner's eval output for ``data_samples``.

        Returns:
            ``(B, Lv, logits_per_token)``.
        """
        if (latent is None) == (labels is None):
            raise ValueError('forward_logits needs exactly one of latent= or labels=.')
        if latent is not None:
            inputs = build_teacher_forcing(latent.float(), self.quantizer).inputs
            latent_frames = latent.shape[2]
        else:
            latent_frames = labels.shape[1] // get_layout(1, self.scale_sizes, 0).video_len
            inputs, _ = inputs_from_labels(self.quantizer, labels, latent_frames)
        if condition is None:
            condition = self.condition(data_samples, inputs.shape[0], inputs.device)
        return self.logits_from_inputs(inputs, condition, self.layout(latent_frames))

    # ---- loss ------------------------------------------------------------------------------
    def scale_weights(self, layout: SequenceLayout, device) -> torch.Tensor:
        """``(Lv,)`` per-token loss weights summing to one (see ``reweight_loss_by_scale``)."""
        return scale_weights(layout, self.scale_sizes, self.reweight_loss_by_scale, device)

    def loss(self, inputs: torch.Tensor | None, data_samples=None) -> dict[str, torch.Tensor]:
        """Training loss of a batch of videos (or cached latents).

        Returns ``loss`` (bitwise CE / CE) plus logging scalars ``acc_bit``, ``acc_token`` and
        the realised flip rates ``flip_rate/t{t}`` of the corrector.
        """
        batch = self._batch_of(inputs, data_samples)
        latent = self.latent_of(inputs, batch)
        layout = self.layout(latent.shape[2])
        pyramid: FramePyramid = self.corrector(latent, self.quantizer)
        cond = self.conditioner(batch, len(batch), latent.device)
        logits = self.logits_from_inputs(pyramid.inputs, cond, layout)
        weights = self.scale_weights(layout, latent.device)
        out = weighted_loss(logits, pyramid.labels, weights, self.label_kind)
        out.update(pyramid.flip_rate_log())
        return out

    # ---- mmengine entry points ---------------------------------------------------------------
    def predict(
        self, inputs: torch.Tensor | None, data_samples=None, num_frames: int | None = None
    ) -> list[dict]:
        """Sample one video per batch element, conditioned on its metadata, with ``sample_cfg``.

        ``num_frames``: pixel frames to sample (default: those of a video ``inputs``, else the
        training clip's). With ``sample_cfg['seed']`` the generator is seeded with ``seed`` plus
        the first sample's dataset ``index``.

        Returns B dicts with ``pred_video (3, F, H, W)``, ``gt_video`` (when ``inputs`` is a
        video batch), ``label``, ``caption``, ``latent (d, T', h, w)``, ``labels (Lv, ...)`` and
        ``num_sampling_steps``.
        """
        has_video = isinstance(inputs, torch.Tensor) and inputs.dim() == 5
        batch = self._batch_of(inputs, data_samples)
        if num_frames is None:
            num_frames = inputs.shape[2] if has_video else self.num_frames
        cfg = dict(self.sample_cfg)
        seed = cfg.pop('seed', None)
        generator = None
        if seed is not None:
            offset = int(batch.index[0]) if len(batch) else 0
            generator = torch.Generator(device='cpu').manual_seed(int(seed) + offset)
        result = sample_video(self, batch, num_frames=num_frames, generator=generator, **cfg)
        outputs = []
        for i in range(len(batch)):
            item = dict(
                pred_video=result['video'][i],
                latent=result['latent'][i],
                labels=result['labels'][i],
                label=int(batch.label[i]),
                caption=batch.caption[i],
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
            batch = self._batch_of(inputs, data_samples)
            return self.forward_logits(latent=self.latent_of(inputs, batch), data_samples=batch)
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}.")

    def _batch_of(self, inputs, data_samples) -> VideoBatch:
        """``data_samples`` as a :class:`VideoBatch` on the model's device (sized by a video
        ``inputs`` when there are no data samples)."""
        has_video = isinstance(inputs, torch.Tensor) and inputs.dim() == 5
        size = inputs.shape[0] if has_video else None
        return VideoBatch.of(data_samples, size).to(self.start_token.device)


__all__ = ['VideoAR']
