"""``VideoTokenizer``: the trainable tokenizer model (encoder, multi-scale quantizer, decoder).

Loss (VideoAR Eq. 4; the paper gives no weights, ours are config values)::

    L = l1_weight |x^ - x|_1 + l2_weight |x^ - x|_2^2          (per pixel, mean)
      + quantizer losses (commitment, codebook / scale, entropy: already weighted)
      + perceptual_weight * P(x^, x)                           (optional, local feature net)
      + gan_weight * hinge_g(D(x^))                            (optional, after disc_start_iter)

and for the discriminator ``hinge_d(D(x), D(x^)) + lecam_weight * LeCAM``. Without a
discriminator a plain ``OptimWrapper`` trains everything; with one, ``optim_wrapper`` must hold
two wrappers ``generator`` and ``discriminator`` (``constructor='GANOptimWrapperConstructor'``)
and :meth:`VideoTokenizer.train_step` alternates them.

The loss dict also carries the quantizer's per-scale usage stats (``usage/bits_s{k}``,
``usage/codes_s{k}``, ...) and the batch PSNR as plain scalars, so collapse of coarse scales
shows in the training log.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from einops import rearrange
from mmengine.model import BaseModel, is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from torch import nn

from videoar.io.checkpoint import resolve_checkpoint
from videoar.models.sequence import labels_to_latent
from videoar.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS, QUANTIZERS, TOKENIZERS
from videoar.structures import VideoBatch
from videoar.utils import ConfigError, build_checked, check_choice

from .checkpoint import inflate_tokenizer_checkpoint
from .discriminator import LeCAM, hinge_d_loss, hinge_g_loss
from .networks import INFLATE_INITS


@MODELS.register_module()
class VideoTokenizer(BaseModel):
    """Tokenizer training model: ``self.tokenizer`` (TOKENIZERS) + ``self.quantizer`` (QUANTIZERS).

    Args:
        tokenizer: config of a :class:`CausalVideoTokenizer` (or compatible).
        quantizer: config of a multi-scale quantizer; ``embed_dim`` defaults to the latent dim.
        input_size: optional ``(F, H, W)`` checked at build time against the tokenizer strides
            and the quantizer's last scale.
        l1_weight / l2_weight: reconstruction weights.
        perceptual: optional :class:`PerceptualLoss` config (needs local weights).
        perceptual_weight: its weight.
        discriminator: optional discriminator config (e.g. ``PatchDiscriminator3D``).
        gan_weight: generator hinge-loss weight.
        disc_start_iter: training step from which the GAN terms are on.
        lecam_weight / lecam_decay: LeCAM regularisation of the discriminator.
        inflate_from: optional image-tokenizer checkpoint (a file, a work directory, or
            ``dict(work_dir=, command=)``) of a ``VideoTokenizer`` with an ``ImageTokenizer2D``
            of this architecture: the video tokenizer starts from its weights inflated to 3D and
            the quantizer from its quantizer (the paper's §4.1 initialisation); the
            discriminator starts from scratch. A resumed run overwrites them from its own
            checkpoint.
        inflate_init: ``'zero'`` (the other time slices of each 3D kernel are zero: the first
            frame is reconstructed exactly as by the image tokenizer) or ``'random'`` (they keep
            their random initialisation, as the paper describes).
        data_preprocessor / init_cfg: as in mmengine.
    """

    def __init__(
        self,
        tokenizer: dict,
        quantizer: dict,
        input_size=None,
        l1_weight: float = 1.0,
        l2_weight: float = 0.0,
        perceptual: dict | None = None,
        perceptual_weight: float = 0.1,
        discriminator: dict | None = None,
        gan_weight: float = 0.1,
        disc_start_iter: int = 0,
        lecam_weight: float = 0.0,
        lecam_decay: float = 0.999,
        inflate_from: str | dict | None = None,
        inflate_init: str = 'zero',
        data_preprocessor: dict | None = None,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.tokenizer = build_checked(TOKENIZERS, tokenizer, 'model.tokenizer')
        latent_dim = self.tokenizer.latent_dim
        if isinstance(quantizer, Mapping) and 'embed_dim' not in quantizer:
            quantizer = {**quantizer, 'embed_dim': latent_dim}
        self.quantizer = build_checked(QUANTIZERS, quantizer, 'model.quantizer')
        if self.quantizer.embed_dim != latent_dim:
            raise ConfigError(
                f'model.quantizer.embed_dim={self.quantizer.embed_dim} but the tokenizer latent '
                f'has latent_dim={latent_dim} channels; make them equal (or drop embed_dim).'
            )
        if input_size is not None:
            _, h, w = self.tokenizer.latent_shape(*input_size)
            self.quantizer.check_latent_size((h, w))
        for name, value in (
            ('l1_weight', l1_weight),
            ('l2_weight', l2_weight),
            ('perceptual_weight', perceptual_weight),
            ('gan_weight', gan_weight),
            ('lecam_weight', lecam_weight),
        ):
            if value < 0:
                raise ConfigError(f'{name} must be >= 0, got {value}.')
        self.l1_weight = float(l1_weight)
        self.l2_weight = float(l2_weight)
        self.perceptual = build_checked(MODELS, perceptual, 'model.perceptual')
        self.perceptual_weight = float(perceptual_weight)
        self.discriminator = build_checked(MODELS, discriminator, 'model.discriminator')
        self.gan_weight = float(gan_weight)
        self.disc_start_iter = int(disc_start_iter)
        self.lecam_weight = float(lecam_weight)
        self.lecam = LeCAM(lecam_decay) if self.discriminator is not None else None
        self.register_buffer('train_steps', torch.zeros((), dtype=torch.long))
        self.inflated_from = self._inflate(inflate_from, inflate_init)

    def _inflate(self, inflate_from, inflate_init: str) -> str | None:
        """Initialise from an image-tokenizer checkpoint (see ``inflate_from``); its path."""
        check_choice(inflate_init, INFLATE_INITS, 'model.inflate_init')
        path = resolve_checkpoint(inflate_from, 'model.inflate_from')
        if path is None:
            return None
        if not callable(getattr(self.tokenizer, 'inflate_from_2d', None)):
            raise ConfigError(
                f'model.inflate_from needs a tokenizer that inflates 2D weights '
                f'(CausalVideoTokenizer); {type(self.tokenizer).__name__} does not.'
            )
        try:
            inflate_tokenizer_checkpoint(path, self.tokenizer, self.quantizer, inflate_init)
        except (KeyError, ValueError, RuntimeError) as err:
            raise ConfigError(
                f'model.inflate_from={path!r} does not fit this tokenizer: train the image '
                f'tokenizer with the same architecture (tokenizer type ImageTokenizer2D). {err}'
            ) from err
        return path

    # ---- helpers used by the AR model and the tools --------------------------------------
    def encode_latent(self, video: torch.Tensor) -> torch.Tensor:
        """``(B, 3, F, H, W) -> (B, d, T', h, w)`` continuous latents."""
        return self.tokenizer.encode(video)

    def quantize(self, latent: torch.Tensor):
        """Quantize ``(B, d, T', h, w)`` frame by frame.

        Returns ``(quantized (B, d, T', h, w), QuantizerOutput of the (B T') frames)``.
        """
        b, t = latent.shape[0], latent.shape[2]
        out = self.quantizer(rearrange(latent, 'b d t h w -> (b t) d h w'))
        quantized = rearrange(out.quantized, '(b t) d h w -> b d t h w', b=b, t=t)
        return quantized, out

    @torch.no_grad()
    def encode_to_labels(self, video: torch.Tensor) -> list[torch.Tensor]:
        """``(B, 3, F, H, W)`` -> K label maps ``(B, T', h_k, w_k, *label_shape)``."""
        latent = self.encode_latent(video)
        b, t = latent.shape[0], latent.shape[2]
        _, out = self.quantize(latent)
        return [labels.unflatten(0, (b, t)) for labels in out.labels]

    @torch.no_grad()
    def decode_from_labels(self, labels: list[torch.Tensor]) -> torch.Tensor:
        """K label maps ``(B, T', h_k, w_k, ...)`` -> video ``(B, 3, F, H, W)``."""
        b, t = labels[0].shape[:2]
        flat = [lab.flatten(0, 1) for lab in labels]
        latent = rearrange(labels_to_latent(self.quantizer, flat), '(b t) d h w -> b d t h w', b=b)
        return self.decode_from_latent(latent)

    def decode_from_latent(self, latent: torch.Tensor) -> torch.Tensor:
        """(Quantized) latent ``(B, d, T', h, w)`` -> video ``(B, 3, F, H, W)``."""
        return self.tokenizer.decode(latent)

    def reconstruct(self, video: torch.Tensor):
        """Encode, quantize, decode: ``(reconstruction, QuantizerOutput)``."""
        quantized, out = self.quantize(self.encode_latent(video))
        return self.decode_from_latent(quantized), out

    # ---- losses --------------------------------------------------------------------------
    @property
    def gan_active(self) -> bool:
        return self.discriminator is not None and int(self.train_steps) >= self.disc_start_iter

    def generator_losses(self, video: torch.Tensor):
        """Losses of the tokenizer (generator side) and the reconstruction ``(B, 3, F, H, W)``."""
        rec, qout = self.reconstruct(video)
        diff = rec.float() - video.float()
        losses: dict[str, torch.Tensor] = {}
        if self.l1_weight > 0:
            losses['loss_rec_l1'] = self.l1_weight * diff.abs().mean()
        if self.l2_weight > 0:
            losses['loss_rec_l2'] = self.l2_weight * diff.pow(2).mean()
        losses.update(qout.losses)
        if self.perceptual is not None and self.perceptual_weight > 0:
            losses['loss_perceptual'] = self.perceptual_weight * self.perceptual(rec, video)
        if self.gan_active and self.gan_weight > 0:
            self.discriminator.requires_grad_(False)
            losses['loss_gan_g'] = self.gan_weight * hinge_g_loss(self.discriminator(rec))
            self.discriminator.requires_grad_(True)
        with torch.no_grad():
            mse = diff.pow(2).mean().clamp_min(1e-10)
            losses['psnr'] = 10 * torch.log10(4.0 / mse)  # range [-1, 1] has peak-to-peak 2
        for name, value in qout.stats.items():
            losses[name] = torch.tensor(float(value), device=video.device)
        return losses, rec

    def discriminator_losses(self, video: torch.Tensor, rec: torch.Tensor) -> dict:
        """Hinge loss (+ LeCAM) of the discriminator on real clips and detached reconstructions."""
        logits_real = self.discriminator(video)
        logits_fake = self.discriminator(rec.detach())
        losses = {'loss_disc': hinge_d_loss(logits_real, logits_fake)}
        if self.lecam_weight > 0:
            losses['loss_lecam'] = self.lecam_weight * self.lecam(logits_real, logits_fake)
        losses['disc_real'] = logits_real.detach().float().mean()
        losses['disc_fake'] = logits_fake.detach().float().mean()
        return losses

    # ---- mmengine entry points -----------------------------------------------------------
    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = 'tensor'):
        """``loss``: generator losses (+ stats); ``predict``: list of per-sample dicts;
        ``tensor``: the reconstruction ``(B, 3, F, H, W)``."""
        if mode == 'loss':
            losses, _ = self.generator_losses(inputs)
            return losses
        if mode == 'predict':
            rec, _ = self.reconstruct(inputs)
            return self._pack(rec, inputs, data_samples)
        if mode == 'tensor':
            return self.reconstruct(inputs)[0]
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}.")

    @staticmethod
    def _pack(rec, video, data_samples) -> list[dict]:
        rec = rec.detach().float().clamp(-1, 1)
        batch = None if data_samples is None else VideoBatch.of(data_samples, rec.shape[0])
        outputs = []
        for i in range(rec.shape[0]):
            item = {'pred_video': rec[i], 'gt_video': video[i].detach().float()}
            if batch is not None:
                # metadata of the clip (class-aware metrics score reconstructions by it)
                if int(batch.label[i]) >= 0:
                    item['label'] = int(batch.label[i])
                item['caption'] = batch.caption[i]
                item['index'] = int(batch.index[i])
            outputs.append(item)
        return outputs

    def train_step(self, data, optim_wrapper):
        """One step. Plain ``OptimWrapper`` without a discriminator; else G then D updates."""
        if self.discriminator is None:
            log_vars = super().train_step(data, optim_wrapper)
            self.train_steps += 1
            return log_vars
        if not isinstance(optim_wrapper, OptimWrapperDict):
            raise ConfigError(
                'VideoTokenizer with a discriminator needs two optimizers: set optim_wrapper='
                "dict(constructor='GANOptimWrapperConstructor', generator=dict(type='OptimWrapper',"
                " optimizer=...), discriminator=dict(type='OptimWrapper', optimizer=...))."
            )
        data = self.data_preprocessor(data, True)
        video = data['inputs']
        use_gan = self.gan_active
        gen_wrapper = optim_wrapper['generator']
        with gen_wrapper.optim_context(self):
            losses, rec = self.generator_losses(video)
        parsed, log_vars = self.parse_losses(losses)
        gen_wrapper.update_params(parsed)
        if use_gan:
            disc_wrapper = optim_wrapper['discriminator']
            with disc_wrapper.optim_context(self.discriminator):
                d_losses = self.discriminator_losses(video, rec)
            parsed_d, log_d = self.parse_losses(d_losses)
            disc_wrapper.update_params(parsed_d)
            log_vars.update(log_d)
        self.train_steps += 1
        return log_vars

    def optim_module(self, name: str) -> nn.Module:
        """Parameters of optimizer ``name``: 'generator' (tokenizer + quantizer) or
        'discriminator'."""
        if name == 'generator':
            return nn.ModuleList([self.tokenizer, self.quantizer])
        if name == 'discriminator' and self.discriminator is not None:
            return self.discriminator
        groups = "'generator'" + (" and 'discriminator'" if self.discriminator else '')
        raise ConfigError(
            f'optim_wrapper key {name!r}: this VideoTokenizer has the parameter groups {groups}.'
        )


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class GANOptimWrapperConstructor:
    """Build an ``OptimWrapperDict`` with one wrapper per key of the config.

    Each key (besides ``constructor``) names a parameter group of the model: the model's
    ``optim_module(name)`` if it has one, else the sub-module ``model.<name>``.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None) -> None:
        if not isinstance(optim_wrapper_cfg, Mapping) or not optim_wrapper_cfg:
            raise ConfigError('GANOptimWrapperConstructor needs one optim wrapper config per key.')
        self.optim_wrapper_cfg = dict(optim_wrapper_cfg)
        self.paramwise_cfg = paramwise_cfg

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        if is_model_wrapper(model):
            model = model.module
        wrappers = {}
        for name, cfg in self.optim_wrapper_cfg.items():
            cfg = dict(cfg)
            paramwise = cfg.pop('paramwise_cfg', self.paramwise_cfg)
            module = (
                model.optim_module(name) if hasattr(model, 'optim_module') else getattr(model, name)
            )
            wrappers[name] = DefaultOptimWrapperConstructor(cfg, paramwise)(module)
        return OptimWrapperDict(**wrappers)


def tokens_per_clip(quantizer, latent_frames: int) -> int:
    """Tokens of one clip: ``T' * sum_k h_k w_k`` (every scale of every latent frame)."""
    return latent_frames * sum(h * w for h, w in quantizer.scale_sizes)


def bits_per_clip(quantizer, latent_frames: int) -> float:
    """Information of one clip's labels in bits."""
    return tokens_per_clip(quantizer, latent_frames) * math.log2(quantizer.label_space_size)
