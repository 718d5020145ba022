"""The network of the MovingDigits video classifier, its preprocessing and its augmentation.

Architecture (fully convolutional, so any ``F`` works)::

    (B, 3, F, H, W) -> every ``frame_step``-th frame, resized to ``input_size`` (default 16: the
      digits are upscaled 8x8 sprites of half the canvas side, so 16 px loses nothing)
      -> [Conv3d (1,3,3) -> BN -> ReLU -> maxpool (1,2,2)] x 2      (per-frame shape)
      -> Conv3d (3,3,3) -> BN -> ReLU -> maxpool (1,2,2)
      -> Conv3d (3,3,3) -> BN -> ReLU                               (space-time)
      -> global max over (T, H, W) = features (B, feature_dim)   -> Linear = logits (B, 10)

Training (``moving_digits_classifier``) uses :func:`augment_clips`: random affine warps
(handwriting variation) and mild noise / blur, so that imperfect (generated) digits are judged
by their shape rather than by their sharpness.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from videoar.utils.validation import ConfigError, check_positive

NUM_CLASSES = 10

#: the settings of :class:`MovingDigitsNet` (its clips, architecture and seed) and their defaults
DEFAULT_NET = dict(
    num_frames=17, img_size=32, num_digits=1, input_size=16, frame_step=4, width=16,
    feature_dim=64, seed=0,
)  # fmt: skip


def _conv_block(cin: int, cout: int, kernel: tuple[int, int, int]) -> nn.Sequential:
    padding = tuple(k // 2 for k in kernel)
    return nn.Sequential(
        nn.Conv3d(cin, cout, kernel, padding=padding, bias=False),
        nn.BatchNorm3d(cout),
        nn.ReLU(inplace=True),
    )


class MovingDigitsNet(nn.Module):
    """The classifier network; ``forward`` gives features, ``logits`` the classes.

    Args:
        num_frames, img_size: the clip settings it is trained at (frames ``F``, side ``S``).
            Any input size works (frames are resized to ``input_size``; any ``F >= 1``).
        input_size: the side frames are resized to before the network (area / bilinear).
        frame_step: every ``frame_step``-th frame is used (the first one included).
        num_digits: digits per training clip (1 or 2; the label is the first digit's class).
        width: channels of the first block (doubled in the second, quadrupled in the third).
        feature_dim: channels of the last block = size of the features (global max pooled).
        seed: dataset and initialisation seed of the training run.
    """

    def __init__(
        self,
        num_frames: int = DEFAULT_NET['num_frames'],
        img_size: int = DEFAULT_NET['img_size'],
        num_digits: int = DEFAULT_NET['num_digits'],
        input_size: int = DEFAULT_NET['input_size'],
        frame_step: int = DEFAULT_NET['frame_step'],
        width: int = DEFAULT_NET['width'],
        feature_dim: int = DEFAULT_NET['feature_dim'],
        seed: int = DEFAULT_NET['seed'],
    ) -> None:
        super().__init__()
        for value, name in (
            (num_frames, 'num_frames'), (img_size, 'img_size'), (width, 'width'),
            (feature_dim, 'feature_dim'), (frame_step, 'frame_step'),
        ):  # fmt: skip
            check_positive(value, f'MovingDigitsNet {name}')
        if input_size < 8:
            raise ConfigError(f'MovingDigitsClassifier input_size must be >= 8, got {input_size}.')
        if num_digits not in (1, 2):
            raise ConfigError(
                f'MovingDigitsClassifier num_digits must be 1 or 2, got {num_digits}.'
            )
        self.num_frames = num_frames
        self.img_size = img_size
        self.num_digits = num_digits
        self.input_size = input_size
        self.frame_step = frame_step
        self.width = width
        self.feature_dim = feature_dim
        self.seed = seed
        self.block1 = _conv_block(3, width, (1, 3, 3))
        self.block2 = _conv_block(width, 2 * width, (1, 3, 3))
        self.block3 = _conv_block(2 * width, 4 * width, (3, 3, 3))
        self.block4 = _conv_block(4 * width, feature_dim, (3, 3, 3))
        self.head = nn.Linear(feature_dim, NUM_CLASSES)

    def settings(self) -> dict:
        """The constructor arguments, keyed as :data:`DEFAULT_NET`."""
        return {name: getattr(self, name) for name in DEFAULT_NET}

    def preprocess(self, video: torch.Tensor) -> torch.Tensor:
        """``(B, 3, F, H, W)`` in ``[-1, 1]`` -> clamped, every ``frame_step``-th frame, resized
        to ``input_size`` (area when shrinking, bilinear when enlarging):
        ``(B, 3, ceil(F / step), s, s)``."""
        if video.dim() != 5 or video.shape[1] != 3:
            raise ValueError(
                f'MovingDigitsNet input must be (B, 3, F, H, W) in [-1, 1], got {tuple(video.shape)}.'
            )
        video = video[:, :, :: self.frame_step].float().clamp(-1.0, 1.0)
        b, c, f, h, w = video.shape
        size = self.input_size
        if (h, w) != (size, size):
            frames = video.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w)
            if h >= size and w >= size:  # box average (exact 2x2 mean for 32 -> 16)
                frames = F.interpolate(frames, size=(size, size), mode='area')
            else:
                frames = F.interpolate(
                    frames, size=(size, size), mode='bilinear', align_corners=False
                )
            video = frames.reshape(b, f, c, size, size).permute(0, 2, 1, 3, 4)
        return video

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """Penultimate features ``(B, feature_dim)`` of ``video (B, 3, F, H, W)`` in ``[-1, 1]``."""
        return self.embed(self.preprocess(video))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Features ``(B, feature_dim)`` of an already preprocessed clip ``(B, 3, F', s, s)``."""
        x = F.max_pool3d(self.block1(x), (1, 2, 2))  # s/2
        x = F.max_pool3d(self.block2(x), (1, 2, 2))  # s/4
        x = F.max_pool3d(self.block3(x), (1, 2, 2))  # s/8
        x = self.block4(x)
        return x.amax(dim=(2, 3, 4))  # global max: "is this digit anywhere, at any time"

    def logits(self, video: torch.Tensor) -> torch.Tensor:
        """Class logits ``(B, 10)``."""
        return self.head(self(video))

    def classify(self, video: torch.Tensor) -> torch.Tensor:
        """Predicted classes ``(B,)`` (int64), without gradients."""
        with torch.no_grad():
            return self.logits(video).argmax(dim=1)


def _affine(video: torch.Tensor, generator: torch.Generator, strength: float) -> torch.Tensor:
    """A random rotation (+-12 deg), scale (+-10%) and shear per clip, the same for its frames."""
    b, c, f, h, w = video.shape
    u = torch.rand(b, 4, generator=generator) * 2 - 1
    angle = u[:, 0] * math.radians(12) * strength
    scale = 1 + 0.1 * strength * u[:, 1]
    shear = 0.15 * strength * u[:, 2]
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [
            torch.stack([cos, -sin + shear, torch.zeros(b)], 1),
            torch.stack([sin, cos, torch.zeros(b)], 1),
        ],
        1,
    )  # (B, 2, 3)
    theta = theta.repeat_interleave(f, dim=0)
    frames = video.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w) + 1.0  # background 0
    grid = F.affine_grid(theta, (b * f, c, h, w), align_corners=False)
    frames = F.grid_sample(frames, grid, mode='bilinear', padding_mode='zeros', align_corners=False)
    return (frames - 1.0).reshape(b, f, c, h, w).permute(0, 2, 1, 3, 4)


def augment_clips(
    video: torch.Tensor,
    generator: torch.Generator,
    noise: float = 0.15,
    blur_prob: float = 0.2,
    affine: float = 1.0,
) -> torch.Tensor:
    """Random affine warps (handwriting variation), then mild noise / blur / contrast changes,
    per clip, on preprocessed ``(B, 3, F', s, s)``."""
    if affine > 0:
        video = _affine(video, generator, affine)
    b = video.shape[0]
    u = torch.rand(b, 3, generator=generator)
    kernel = torch.tensor([0.25, 0.5, 0.25])
    kernel = (kernel[:, None] * kernel[None, :]).expand(3, 1, 1, 3, 3).contiguous()
    blurred = F.conv3d(F.pad(video, (1, 1, 1, 1, 0, 0), mode='replicate'), kernel, groups=3)
    use_blur = (u[:, 0] < blur_prob).view(b, 1, 1, 1, 1)
    video = torch.where(use_blur, blurred, video)
    sigma = (u[:, 1] * 2 * noise * (u[:, 1] < 0.5)).view(b, 1, 1, 1, 1)
    video = video + sigma * torch.randn(video.shape, generator=generator)
    gain = (0.7 + 0.3 * u[:, 2]).view(b, 1, 1, 1, 1)
    return ((video + 1.0) * gain - 1.0).clamp(-1.0, 1.0)


__all__ = ['DEFAULT_NET', 'NUM_CLASSES', 'MovingDigitsNet', 'augment_clips']
