"""The encoder and decoder of the causal video tokenizer (and of its 2D counterpart), and the
2D -> 3D weight inflation between them.

Both networks are built from the blocks of :mod:`~videoar.models.tokenizers.layers` with the same
parameter names for ``dims=2`` and ``dims=3``, so :func:`inflate_state_dict` maps a 2D model's
weights onto the 3D model key by key.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .layers import Downsample, FrameGroupNorm, ResBlock, Upsample, make_conv, num_groups

INFLATE_INITS = ('zero', 'random')


class _StagedNetwork(nn.Module):
    """What :class:`Encoder` and :class:`Decoder` share: the channel plan and the conv settings.

    Args:
        dims: 2 or 3 (2D convolutions or causal 3D ones).
        base_channels, channel_mult: stage ``i`` has ``base_channels * channel_mult[i]`` channels.
        num_res_blocks: ResBlocks per stage.
        temporal_kernel_size: temporal kernel of the in/out and resampling convs.
        pad_mode: temporal padding of the causal convs.
        block_temporal_kernel_size: temporal kernel inside the ResBlocks (default
            ``temporal_kernel_size``).
    """

    def __init__(
        self,
        dims,
        base_channels,
        channel_mult,
        num_res_blocks,
        temporal_kernel_size=3,
        pad_mode='replicate',
        block_temporal_kernel_size=None,
    ):
        super().__init__()
        self.dims = dims
        self.channels = [base_channels * m for m in channel_mult]
        self.num_res_blocks = num_res_blocks
        self.conv_kwargs = dict(temporal_kernel_size=temporal_kernel_size, pad_mode=pad_mode)
        block_kt = (
            temporal_kernel_size
            if block_temporal_kernel_size is None
            else block_temporal_kernel_size
        )
        self.block_kwargs = dict(temporal_kernel_size=block_kt, pad_mode=pad_mode)

    def conv(self, cin: int, cout: int) -> nn.Module:
        """A kernel-3 conv ``cin -> cout`` (the in and out convs)."""
        return make_conv(self.dims, cin, cout, 3, **self.conv_kwargs)

    def res_block(self, cin: int, cout: int) -> ResBlock:
        return ResBlock(self.dims, cin, cout, **self.block_kwargs)

    def res_blocks(self, cin: int, cout: int) -> nn.ModuleList:
        """The ``num_res_blocks`` ResBlocks of a stage: ``cin -> cout``, then ``cout -> cout``."""
        return nn.ModuleList(
            self.res_block(cin if j == 0 else cout, cout) for j in range(self.num_res_blocks)
        )


class Encoder(_StagedNetwork):
    """``(B, 3, F, H, W) -> (B, d, T', H / 2^S, W / 2^S)`` (or the 2D analogue).

    Stage ``i`` (``i < S``): ``num_res_blocks`` ResBlocks to ``base * mult[i]`` channels, then a
    stride-2 Downsample (temporal too if ``i`` is in ``temporal_stages``).

    Args:
        dims: 2 or 3.
        in_channels: channels of the video (3).
        latent_dim: latent channels ``d``.
        temporal_stages: the stages whose Downsample also halves time.
        **layout: ``base_channels``, ``channel_mult``, ``num_res_blocks`` and the conv settings
            of :class:`_StagedNetwork`.
    """

    def __init__(self, dims, in_channels, *, latent_dim, temporal_stages, **layout):
        super().__init__(dims, **layout)
        chans = self.channels
        self.conv_in = self.conv(in_channels, chans[0])
        self.stages = nn.ModuleList()
        prev = chans[0]
        for i, ch in enumerate(chans):
            stage = nn.Module()
            stage.blocks = self.res_blocks(prev, ch)
            stage.down = Downsample(dims, ch, i in temporal_stages, **self.conv_kwargs)
            self.stages.append(stage)
            prev = ch
        self.mid = self.res_block(prev, prev)
        self.norm_out = FrameGroupNorm(num_groups(prev), prev)
        self.conv_out = self.conv(prev, latent_dim)

    def forward(self, x: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        h = self.conv_in(x, cache)
        for stage in self.stages:
            for block in stage.blocks:
                h = block(h, cache)
            h = stage.down(h, cache)
        h = self.mid(h, cache)
        return self.conv_out(F.silu(self.norm_out(h)), cache)


class Decoder(_StagedNetwork):
    """``(B, d, T', h, w) -> (B, 3, F, h * 2^S, w * 2^S)``: the mirror of :class:`Encoder`.

    Args: as :class:`Encoder`, with ``out_channels`` (3) in place of ``in_channels``.
    """

    def __init__(self, dims, out_channels, *, latent_dim, temporal_stages, **layout):
        super().__init__(dims, **layout)
        chans = self.channels
        prev = chans[-1]
        self.conv_in = self.conv(latent_dim, prev)
        self.mid = self.res_block(prev, prev)
        self.stages = nn.ModuleList()
        for i in reversed(range(len(chans))):
            ch = chans[i]
            stage = nn.Module()
            stage.up = Upsample(dims, prev, i in temporal_stages, **self.conv_kwargs)
            stage.blocks = self.res_blocks(prev, ch)
            self.stages.append(stage)
            prev = ch
        self.norm_out = FrameGroupNorm(num_groups(prev), prev)
        self.conv_out = self.conv(prev, out_channels)

    def forward(self, z: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        h = self.mid(self.conv_in(z, cache), cache)
        for stage in self.stages:
            h = stage.up(h, cache)
            for block in stage.blocks:
                h = block(h, cache)
        return self.conv_out(F.silu(self.norm_out(h)), cache)


def inflate_state_dict(
    state_dict_2d: dict, state_dict_3d: dict, keep_3d=(), temporal_init: str = 'zero'
) -> dict:
    """Map a 2D model's weights onto a 3D model of the same layout.

    A 2D kernel ``(O, I, kh, kw)`` goes into the temporally last slice of the 3D kernel
    ``(O, I, kt, kh, kw)`` (the current frame of a causal conv). The other slices are zero
    (``temporal_init='zero'``, MAGVIT-v2's choice: the 3D model then reproduces the 2D one on a
    single frame) or random (``'random'``, the VideoAR paper's "remaining temporal parameters
    randomly initialised": PyTorch's default conv init, Kaiming-uniform with ``a = sqrt(5)``
    over the 3D fan-in, drawn from the global RNG). Every other tensor is copied.
    Keys in ``keep_3d`` (3D-only modules, e.g. the identity :class:`TimeExpand`) keep their 3D
    values. Raises ``KeyError``/``ValueError`` on a layout mismatch.
    """
    if temporal_init not in INFLATE_INITS:
        raise ValueError(f'temporal_init must be one of {INFLATE_INITS}, got {temporal_init!r}.')
    keep_3d = set(keep_3d)
    missing = sorted(set(state_dict_3d) - set(state_dict_2d) - keep_3d)
    unexpected = sorted(set(state_dict_2d) - set(state_dict_3d))
    if missing or unexpected:
        raise KeyError(
            f'2D and 3D tokenizer layouts differ: missing in 2D {missing[:5]}, '
            f'not in 3D {unexpected[:5]}; build both from the same config.'
        )
    out = {}
    for name, target in state_dict_3d.items():
        if name in keep_3d:
            out[name] = target.clone()
            continue
        source = state_dict_2d[name]
        if target.dim() == 5 and source.dim() == 4:
            if tuple(target.shape[:2]) + tuple(target.shape[3:]) != tuple(source.shape):
                raise ValueError(
                    f'{name}: cannot inflate {tuple(source.shape)} into {tuple(target.shape)}'
                )
            weight = torch.zeros_like(target)
            if temporal_init == 'random':
                nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
            weight[:, :, -1] = source.to(target.dtype)
            out[name] = weight
        else:
            if target.shape != source.shape:
                raise ValueError(f'{name}: shape {tuple(source.shape)} != {tuple(target.shape)}')
            out[name] = source.to(target.dtype).clone()
    return out
