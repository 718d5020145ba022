"""Building blocks of the causal video tokenizer and its 2D (per-frame) counterpart.

Every block is written once for both ``dims=3`` (video ``(B, C, T, H, W)``, causal in time) and
``dims=2`` (images ``(B, C, H, W)``), with identical parameter names, so a 2D state dict inflates
into the 3D model key by key (see :func:`~videoar.models.tokenizers.networks.inflate_state_dict`).
The encoder and decoder built from these blocks are in :mod:`~videoar.models.tokenizers.networks`.

Causality: a :class:`CausalConv3d` pads ``k_t - 1`` frames on the past side only (replicate of
the first frame, or zeros) and never looks at later frames; normalisation is per frame
(:class:`FrameGroupNorm` over ``(C, H, W)``); temporal down-sampling is a strided causal conv
whose first output sees frame 0 alone; temporal up-sampling repeats each frame ``2x`` and drops
the first copy of frame 0, so ``1 + n`` frames become ``1 + 2n``.

Chunked (streaming) use: pass the same ``cache`` dict to successive calls. Each causal module
stores in it the input frames it has not consumed yet (for a stride-1 conv: its last ``k_t - 1``
input frames), so processing a video in pieces gives exactly the one-pass result.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

PAD_MODES = ('replicate', 'zeros')


class FrameGroupNorm(nn.GroupNorm):
    """GroupNorm over ``(C, H, W)`` of each frame separately (no statistics across time).

    Accepts ``(B, C, H, W)`` or ``(B, C, T, H, W)``; computed in fp32.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 5:
            b, c, t, h, w = x.shape
            if t == 0:
                return x
            frames = x.transpose(1, 2).reshape(b * t, c, h, w)
            out = super().forward(frames.float()).to(x.dtype)
            return out.reshape(b, t, c, h, w).transpose(1, 2)
        return super().forward(x.float()).to(x.dtype)


def num_groups(channels: int, max_groups: int = 32, min_group_size: int = 4) -> int:
    """The largest divisor of ``channels`` that is ``<= max_groups`` and leaves at least
    ``min_group_size`` channels per group (so small models do not degrade to InstanceNorm)."""
    groups = max(1, min(max_groups, channels // min_group_size))
    while channels % groups:
        groups -= 1
    return groups


class CausalConv3d(nn.Module):
    """3D conv, causal in time: ``(B, C_in, T, H, W) -> (B, C_out, T_out, H / s, W / s)``.

    ``k_t - 1`` past frames are padded (replicate or zeros); spatial padding is ``k // 2``
    (zeros). With temporal stride ``s_t`` the output has ``(T - 1) // s_t + 1`` frames and output
    ``j`` sees input frames ``<= s_t * j``.

    A temporal kernel of 1 with temporal stride 1 is a per-frame 2D convolution. With
    ``per_frame_2d = True`` (per instance, or :func:`use_per_frame_convs` on a whole model) it
    runs as one ``F.conv2d`` over the ``B * T`` frames (same weights, same result); the output is
    then a ``(B, C, T, H, W)`` view of frame-major memory, which :class:`FrameGroupNorm` reads
    without a copy. Off by default: on this repository's CPU it did not measure faster than the
    3D kernel (``docs/performance.md``).
    """

    per_frame_2d: bool = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        temporal_kernel_size: int | None = None,
        spatial_stride: int = 1,
        temporal_stride: int = 1,
        pad_mode: str = 'replicate',
    ) -> None:
        super().__init__()
        self.temporal_kernel_size = (
            kernel_size if temporal_kernel_size is None else temporal_kernel_size
        )
        self.temporal_stride = temporal_stride
        self.pad_mode = pad_mode
        self.conv = nn.Conv3d(
            in_channels,
            out_channels,
            (self.temporal_kernel_size, kernel_size, kernel_size),
            stride=(temporal_stride, spatial_stride, spatial_stride),
            padding=(0, kernel_size // 2, kernel_size // 2),
        )
        self.init_as_inflated_2d()

    @torch.no_grad()
    def init_as_inflated_2d(self) -> None:
        """Initialise as a freshly initialised 2D conv inflated into the last time slice.

        The earlier slices start at zero, so an untrained model acts per frame and learns the
        temporal mixing by gradient (much faster early training than PyTorch's default 3D init,
        which blurs moving content over ``k_t`` frames from the start).
        """
        weight = self.conv.weight
        weight.zero_()
        slice_2d = torch.empty_like(weight[:, :, -1])
        nn.init.kaiming_uniform_(slice_2d, a=5**0.5)  # nn.Conv2d's default
        weight[:, :, -1] = slice_2d
        fan_in = weight.shape[1] * weight.shape[3] * weight.shape[4]
        nn.init.uniform_(self.conv.bias, -(fan_in**-0.5), fan_in**-0.5)

    def _past_padding(self, x: torch.Tensor) -> torch.Tensor:
        n = self.temporal_kernel_size - 1
        if self.pad_mode == 'replicate':
            return x[:, :, :1].expand(-1, -1, n, -1, -1)
        return x.new_zeros(x.shape[0], x.shape[1], n, *x.shape[3:])

    def forward(self, x: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        if self.per_frame_2d and self.temporal_kernel_size == 1 and self.temporal_stride == 1:
            return self._per_frame(x)
        if cache is not None and self in cache:
            full = torch.cat([cache[self], x], dim=2)
        else:
            full = torch.cat([self._past_padding(x), x], dim=2)
        kt, st = self.temporal_kernel_size, self.temporal_stride
        num_out = (full.shape[2] - kt) // st + 1 if full.shape[2] >= kt else 0
        if cache is not None:
            cache[self] = full[:, :, num_out * st :]
        if num_out == 0:  # not enough frames yet (a short chunk): they wait in the cache
            k, s, p = self.conv.kernel_size[1], self.conv.stride[1], self.conv.padding[1]
            h, w = ((n + 2 * p - k) // s + 1 for n in full.shape[3:])
            return full.new_zeros(full.shape[0], self.conv.out_channels, 0, h, w)
        return self.conv(full[:, :, : (num_out - 1) * st + kt])

    def _per_frame(self, x: torch.Tensor) -> torch.Tensor:
        """``k_t = 1``: one 2D convolution over the frames folded into the batch."""
        batch, channels, frames, height, width = x.shape
        folded = x.transpose(1, 2).reshape(batch * frames, channels, height, width)
        conv = self.conv
        out = F.conv2d(folded, conv.weight[:, :, 0], conv.bias, conv.stride[1:], conv.padding[1:])
        return out.unflatten(0, (batch, frames)).transpose(1, 2)


def use_per_frame_convs(model: nn.Module, enabled: bool = True) -> int:
    """Switch the 2D path of every temporal-kernel-1 :class:`CausalConv3d` in ``model``;
    returns how many convolutions it applies to."""
    count = 0
    for module in model.modules():
        if isinstance(module, CausalConv3d) and module.temporal_kernel_size == 1:
            module.per_frame_2d = bool(enabled)
            count += module.temporal_stride == 1
    return count


class Conv2dSame(nn.Module):
    """The 2D counterpart of :class:`CausalConv3d` (same parameter names)."""

    def __init__(self, in_channels, out_channels, kernel_size=3, spatial_stride=1, **_unused):
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride=spatial_stride, padding=kernel_size // 2
        )

    def forward(self, x: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        return self.conv(x)


def make_conv(dims: int, in_channels, out_channels, kernel_size=3, **kwargs) -> nn.Module:
    """A :class:`CausalConv3d` (``dims=3``) or :class:`Conv2dSame` (``dims=2``)."""
    if dims == 3:
        return CausalConv3d(in_channels, out_channels, kernel_size, **kwargs)
    return Conv2dSame(in_channels, out_channels, kernel_size, **kwargs)


class ResBlock(nn.Module):
    """Pre-activation residual block: (norm, SiLU, conv) x 2 plus a 1x1 shortcut if needed."""

    def __init__(
        self, dims, in_channels, out_channels, temporal_kernel_size=3, pad_mode='replicate'
    ):
        super().__init__()
        conv_kwargs = dict(temporal_kernel_size=temporal_kernel_size, pad_mode=pad_mode)
        self.norm1 = FrameGroupNorm(num_groups(in_channels), in_channels)
        self.conv1 = make_conv(dims, in_channels, out_channels, 3, **conv_kwargs)
        self.norm2 = FrameGroupNorm(num_groups(out_channels), out_channels)
        self.conv2 = make_conv(dims, out_channels, out_channels, 3, **conv_kwargs)
        self.shortcut = (
            make_conv(dims, in_channels, out_channels, 1, temporal_kernel_size=1)
            if in_channels != out_channels
            else None
        )
        # each block starts as the identity (its residual branch outputs zero): faster early
        # training of a deep stack; the 2D counterpart is initialised the same way
        nn.init.zeros_(self.conv2.conv.weight)
        nn.init.zeros_(self.conv2.conv.bias)

    def forward(self, x: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)), cache)
        h = self.conv2(F.silu(self.norm2(h)), cache)
        skip = x if self.shortcut is None else self.shortcut(x, cache)
        return skip + h


class Downsample(nn.Module):
    """Stride-2 spatial (and optionally stride-2 causal temporal) down-sampling conv.

    A temporal one always has ``k_t = 3`` (window ``2j - 2 .. 2j`` for output ``j``: frame 0
    alone first, then every input frame is seen), whatever ``temporal_kernel_size`` says.
    """

    def __init__(self, dims, channels, temporal, temporal_kernel_size=3, pad_mode='replicate'):
        super().__init__()
        self.temporal = temporal
        self.conv = make_conv(
            dims,
            channels,
            channels,
            3,
            temporal_kernel_size=3 if temporal else temporal_kernel_size,
            spatial_stride=2,
            temporal_stride=2 if temporal else 1,
            pad_mode=pad_mode,
        )

    def forward(self, x: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        return self.conv(x, cache)


class TimeExpand(nn.Module):
    """Causal depth-to-time x2: ``(B, C, T, H, W) -> (B, C, 2T - 1 or 2T, H, W)``.

    A causal conv makes ``2C`` channels per frame, split into two frames (so the two output
    frames of an input frame have their own weights, unlike a plain repeat). The first copy of
    frame 0 is dropped on the first chunk: ``1 + n`` frames become ``1 + 2n``, and output frame
    ``f`` depends on input frames ``<= ceil(f / 2)``. Initialised to the identity (both copies
    equal the input), which is also what 2D inflation keeps: it has no 2D counterpart.
    """

    def __init__(self, channels, temporal_kernel_size=3, pad_mode='replicate'):
        super().__init__()
        self.conv = CausalConv3d(
            channels, 2 * channels, 1, temporal_kernel_size=temporal_kernel_size, pad_mode=pad_mode
        )
        self.reset_identity()

    @torch.no_grad()
    def reset_identity(self) -> None:
        weight = self.conv.conv.weight  # (2C, C, kt, 1, 1)
        channels = weight.shape[1]
        weight.zero_()
        eye = torch.eye(channels, dtype=weight.dtype)
        weight[:channels, :, -1, 0, 0] = eye
        weight[channels:, :, -1, 0, 0] = eye
        self.conv.conv.bias.zero_()

    def forward(self, x: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        if x.shape[2] == 0:
            return x
        first_chunk = cache is None or self not in cache
        if cache is not None:
            cache[self] = True
        b, c, t, h, w = x.shape
        y = self.conv(x, cache).reshape(b, 2, c, t, h, w)
        y = y.permute(0, 2, 3, 1, 4, 5).reshape(b, c, 2 * t, h, w)  # frame j -> 2j, 2j + 1
        return y[:, :, 1:] if first_chunk else y


class Upsample(nn.Module):
    """Causal x2 temporal up-sampling (optional, :class:`TimeExpand`), nearest x2 spatial, conv.

    ``1 + n`` frames become ``1 + 2n`` when temporal; the 2D model has the spatial part only.
    """

    def __init__(self, dims, channels, temporal, temporal_kernel_size=3, pad_mode='replicate'):
        super().__init__()
        self.dims = dims
        self.temporal = temporal and dims == 3
        self.time_expand = (
            TimeExpand(channels, temporal_kernel_size, pad_mode) if self.temporal else None
        )
        self.conv = make_conv(
            dims,
            channels,
            channels,
            3,
            temporal_kernel_size=temporal_kernel_size,
            pad_mode=pad_mode,
        )

    def forward(self, x: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        if self.dims == 3:
            if self.time_expand is not None:
                x = self.time_expand(x, cache)
            b, c, t, h, w = x.shape
            frames = x.transpose(1, 2).reshape(b * t, c, h, w)
            frames = F.interpolate(frames, scale_factor=2.0, mode='nearest')
            x = frames.reshape(b, t, c, 2 * h, 2 * w).transpose(1, 2)
        else:
            x = F.interpolate(x, scale_factor=2.0, mode='nearest')
        return self.conv(x, cache)
