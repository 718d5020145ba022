"""The causal 3D video tokenizer (as in the VideoAR paper) and its 2D per-frame counterpart.

``CausalVideoTokenizer`` maps ``(B, 3, 1 + T, H, W)`` videos in ``[-1, 1]`` to latents
``(B, d, 1 + T / tau, H / s, W / s)`` with causal 3D convolutions: latent frame ``j`` depends on
pixel frames ``<= tau * j`` only (frame 0 is encoded alone), and decoded frame ``f`` on latent
frames ``<= ceil(f / tau)``. There is no temporal normalisation (GroupNorm per frame).

``ImageTokenizer2D`` is the same network with 2D convolutions (``(B, 3, H, W)`` images);
``CausalVideoTokenizer.inflate_from_2d`` loads its weights into the temporally last slice of
every 3D kernel. The rest is zero (``temporal_init='zero'``, MAGVIT-v2 style; the video tokenizer
then reproduces the image tokenizer exactly on every single frame) or keeps its random
initialisation (``'random'``, as the VideoAR paper describes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from videoar.registry import TOKENIZERS
from videoar.utils import (
    ConfigError,
    check_choice,
    check_divisible,
    check_num_frames,
    check_positive,
)

from .layers import PAD_MODES, TimeExpand
from .networks import Decoder, Encoder, inflate_state_dict

TEMPORAL_STRIDES = (1, 2, 4)
SPATIAL_STRIDES = (4, 8, 16)


def _stage_plan(spatial_stride, temporal_stride, channel_mult, temporal_stages):
    check_choice(spatial_stride, SPATIAL_STRIDES, 'spatial_stride')
    check_choice(temporal_stride, TEMPORAL_STRIDES, 'temporal_stride')
    num_stages = int(math.log2(spatial_stride))
    default_mult = (1, 2, 2, 4)[:num_stages]
    channel_mult = default_mult if channel_mult is None else tuple(int(m) for m in channel_mult)
    if len(channel_mult) != num_stages or min(channel_mult) < 1:
        raise ConfigError(
            f'channel_mult needs one positive multiplier per stride-2 stage: spatial_stride='
            f'{spatial_stride} has {num_stages} stages, got channel_mult={channel_mult} '
            f'(e.g. {default_mult}).'
        )
    num_temporal = int(math.log2(temporal_stride))
    if temporal_stages is None:  # down-sample time in the last stages (most channels)
        temporal_stages = tuple(range(num_stages - num_temporal, num_stages))
    temporal_stages = tuple(sorted(int(i) for i in temporal_stages))
    if len(set(temporal_stages)) != num_temporal or any(
        not 0 <= i < num_stages for i in temporal_stages
    ):
        raise ConfigError(
            f'temporal_stages must list {num_temporal} distinct stage indices in '
            f'[0, {num_stages}) for temporal_stride={temporal_stride}, got {temporal_stages}.'
        )
    return channel_mult, temporal_stages


class _TokenizerBase(nn.Module):
    dims = 3

    def __init__(
        self,
        latent_dim: int = 16,
        spatial_stride: int = 8,
        temporal_stride: int = 4,
        base_channels: int = 32,
        channel_mult: Sequence[int] | None = None,
        num_res_blocks: int = 1,
        temporal_stages: Sequence[int] | None = None,
        temporal_kernel_size: int = 3,
        block_temporal_kernel_size: int | None = None,
        pad_mode: str = 'replicate',
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        check_positive(latent_dim, 'latent_dim')
        check_positive(base_channels, 'base_channels')
        check_positive(num_res_blocks, 'num_res_blocks')
        check_positive(temporal_kernel_size, 'temporal_kernel_size')
        check_choice(pad_mode, PAD_MODES, 'pad_mode')
        channel_mult, temporal_stages = _stage_plan(
            spatial_stride, temporal_stride, channel_mult, temporal_stages
        )
        self.latent_dim = int(latent_dim)
        self.spatial_stride = int(spatial_stride)
        self.temporal_stride = int(temporal_stride)
        self.temporal_stages = temporal_stages
        self.in_channels = in_channels
        common = dict(
            latent_dim=self.latent_dim,
            base_channels=base_channels,
            channel_mult=channel_mult,
            num_res_blocks=num_res_blocks,
            temporal_stages=temporal_stages if self.dims == 3 else (),
            temporal_kernel_size=temporal_kernel_size,
            block_temporal_kernel_size=block_temporal_kernel_size,
            pad_mode=pad_mode,
        )
        self.encoder = Encoder(self.dims, in_channels, **common)
        self.decoder = Decoder(self.dims, in_channels, **common)


@TOKENIZERS.register_module()
class CausalVideoTokenizer(_TokenizerBase):
    """Causal 3D conv encoder/decoder.

    Args:
        latent_dim: latent channels ``d``.
        spatial_stride: 4, 8 or 16 (``log2`` stride-2 stages).
        temporal_stride: ``tau`` in 1, 2, 4 (``log2(tau)`` stages also halve time).
        base_channels: channels of the first stage.
        channel_mult: one multiplier per stage (default ``(1, 2, 2, 4)[:stages]``).
        num_res_blocks: residual blocks per stage.
        temporal_stages: which stages down-sample time (default: the last ``log2(tau)``).
        temporal_kernel_size: ``k_t`` of the causal convs (``k_t - 1`` past frames padded).
        block_temporal_kernel_size: ``k_t`` inside the residual blocks (default: the same);
            1 makes the blocks per-frame (3x cheaper), time is then mixed by the stem, the
            resampling and the output convs only.
        pad_mode: 'replicate' (the first frame) or 'zeros' for the past padding.
        in_channels: pixel channels (3).
    """

    dims = 3

    # ---- shapes --------------------------------------------------------------------------
    def latent_shape(self, num_frames: int, height: int, width: int) -> tuple[int, int, int]:
        """``(T', h, w)`` for a ``(num_frames, height, width)`` video; ConfigError if impossible."""
        check_num_frames(num_frames, self.temporal_stride)
        check_divisible(height, self.spatial_stride, 'height', 'spatial_stride')
        check_divisible(width, self.spatial_stride, 'width', 'spatial_stride')
        return (
            1 + (num_frames - 1) // self.temporal_stride,
            height // self.spatial_stride,
            width // self.spatial_stride,
        )

    def num_frames_for(self, latent_frames: int) -> int:
        """Pixel frames decoded from ``latent_frames`` latent frames: ``1 + tau * (T' - 1)``."""
        return 1 + self.temporal_stride * (latent_frames - 1)

    def _check_video(self, video: torch.Tensor) -> None:
        if video.dim() != 5 or video.shape[1] != self.in_channels:
            raise ValueError(
                f'encode expects videos (B, {self.in_channels}, F, H, W), got {tuple(video.shape)}.'
            )

    # ---- encode / decode -----------------------------------------------------------------
    def init_cache(self) -> dict:
        """A fresh causal cache for chunked :meth:`encode` / :meth:`decode` (one per stream)."""
        return {}

    def encode(self, video: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        """``(B, 3, F, H, W) -> (B, d, T', h, w)``.

        With a ``cache`` (from :meth:`init_cache`), ``video`` is the next chunk of a stream: the
        first chunk has ``1 + tau * k`` frames, later ones ``tau * k``; the latents of all
        chunks concatenated equal the one-pass result.
        """
        self._check_video(video)
        first = cache is None or not cache
        if first:
            self.latent_shape(video.shape[2], video.shape[3], video.shape[4])
        elif video.shape[2] % self.temporal_stride:
            raise ConfigError(
                f'chunks after the first must hold a multiple of temporal_stride='
                f'{self.temporal_stride} frames, got {video.shape[2]}.'
            )
        return self.encoder(video, cache)

    def decode(self, latent: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        """``(B, d, T', h, w) -> (B, 3, 1 + tau (T' - 1), H, W)`` (a chunk: ``tau T'`` frames)."""
        if latent.dim() != 5 or latent.shape[1] != self.latent_dim:
            raise ValueError(
                f"decode expects latents (B, {self.latent_dim}, T', h, w), got {tuple(latent.shape)}."
            )
        return self.decoder(latent, cache)

    def encode_chunked(self, video: torch.Tensor, chunk_latent_frames: int = 1) -> torch.Tensor:
        """Encode a long video ``chunk_latent_frames`` latent frames at a time (same result)."""
        check_positive(chunk_latent_frames, 'chunk_latent_frames')
        cache, out = self.init_cache(), []
        first = 1 + self.temporal_stride * (chunk_latent_frames - 1)
        bounds = [0, min(first, video.shape[2])]
        step = self.temporal_stride * chunk_latent_frames
        while bounds[-1] < video.shape[2]:
            bounds.append(min(bounds[-1] + step, video.shape[2]))
        for a, b in zip(bounds, bounds[1:]):
            out.append(self.encode(video[:, :, a:b], cache))
        return torch.cat(out, dim=2)

    def decode_chunked(self, latent: torch.Tensor, chunk_latent_frames: int = 1) -> torch.Tensor:
        """Decode ``chunk_latent_frames`` latent frames at a time with a carried cache."""
        check_positive(chunk_latent_frames, 'chunk_latent_frames')
        cache = self.init_cache()
        chunks = latent.split(chunk_latent_frames, dim=2)
        return torch.cat([self.decode(chunk, cache) for chunk in chunks], dim=2)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """Autoencode without quantization: ``decode(encode(video))``."""
        return self.decode(self.encode(video))

    # ---- inflation -----------------------------------------------------------------------
    def inflate_from_2d(self, state_dict_2d: dict, temporal_init: str = 'zero') -> None:
        """Load a 2D tokenizer's weights (same config): 2D kernels go into the last time slice.

        ``state_dict_2d`` is an :class:`ImageTokenizer2D` state dict (an optional ``tokenizer.``
        prefix is stripped). ``temporal_init``: ``'zero'`` (the other time slices are zero) or
        ``'random'`` (they keep this model's current, random initialisation).
        """
        state_dict_2d = {
            (k[len('tokenizer.') :] if k.startswith('tokenizer.') else k): v
            for k, v in state_dict_2d.items()
        }
        keep = []
        for name, module in self.named_modules():
            if isinstance(module, TimeExpand):  # 3D-only: reset to the identity
                module.reset_identity()
                keep += [f'{name}.{key}' for key in module.state_dict()]
        inflated = inflate_state_dict(state_dict_2d, self.state_dict(), keep, temporal_init)
        self.load_state_dict(inflated)

    @classmethod
    def from_2d(
        cls, tokenizer_2d: ImageTokenizer2D, temporal_init: str = 'zero'
    ) -> CausalVideoTokenizer:
        """Build the 3D tokenizer of ``tokenizer_2d``'s config, inflated from its weights."""
        model = cls(**tokenizer_2d.config)
        model.inflate_from_2d(tokenizer_2d.state_dict(), temporal_init)
        return model


@TOKENIZERS.register_module()
class ImageTokenizer2D(_TokenizerBase):
    """The per-frame 2D counterpart of :class:`CausalVideoTokenizer` (same arguments).

    ``encode((B, 3, H, W)) -> (B, d, h, w)``; videos ``(B, 3, F, H, W)`` are encoded frame by
    frame to ``(B, d, F, h, w)``. Temporal arguments are kept (for :meth:`config`) but unused.
    """

    dims = 2

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.config = dict(kwargs)
        self.temporal_stride = 1  # per frame (the config's stride is kept for inflation)

    def latent_shape(self, num_frames: int, height: int, width: int) -> tuple[int, int, int]:
        """``(num_frames, h, w)``: every frame is encoded on its own."""
        check_positive(num_frames, 'num_frames')
        check_divisible(height, self.spatial_stride, 'height', 'spatial_stride')
        check_divisible(width, self.spatial_stride, 'width', 'spatial_stride')
        return num_frames, height // self.spatial_stride, width // self.spatial_stride

    def _per_frame(self, fn, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4:
            return fn(x)
        b, _, t = x.shape[:3]
        out = fn(x.transpose(1, 2).flatten(0, 1))
        return out.unflatten(0, (b, t)).transpose(1, 2)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W) -> (B, d, H / s, W / s)`` (or per frame for 5D input)."""
        return self._per_frame(self.encoder, images)

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """``(B, d, h, w) -> (B, 3, h s, w s)`` (or per frame for 5D input)."""
        return self._per_frame(self.decoder, latent)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(images))
