"""An optional perceptual loss from a frozen timm feature network loaded from a local file.

Nothing is downloaded: the network is built with ``pretrained=False`` and its weights are read
from ``weights_path`` (a ``state_dict``, optionally under a ``state_dict`` / ``model`` key; a
``.safetensors`` file works too). The loss compares channel-normalised features of several
stages (LPIPS without the learned linear heads):

    sum_l mean_{c,h,w} (f_l(x) / |f_l(x)|_c - f_l(y) / |f_l(y)|_c)^2

Frames are folded into the batch; ``max_frames`` picks a random subset of frames per step.
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from videoar.registry import MODELS
from videoar.utils import ConfigError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _load_weights(path: str) -> dict:
    if path.endswith('.safetensors'):
        return load_file(path)
    state = torch.load(path, map_location='cpu', weights_only=True)
    for key in ('state_dict', 'model'):
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            state = state[key]
    return state


@MODELS.register_module()
class PerceptualLoss(nn.Module):
    """Frozen-feature perceptual distance between videos ``(B, 3, F, H, W)`` in ``[-1, 1]``.

    Args:
        model_name: a timm model name (e.g. 'resnet18', 'vgg16').
        weights_path: local weights of that model (required: nothing is downloaded).
        out_indices: feature stages compared.
        max_frames: frames per clip used per call (random subset); ``None`` = all.
        resize: optional square size the frames are resized to first.
        min_loaded_fraction: fail if fewer of the network's tensors were found in the file.
    """

    def __init__(
        self,
        model_name: str = 'resnet18',
        weights_path: str | None = None,
        out_indices=(1, 2, 3),
        max_frames: int | None = 4,
        resize: int | None = None,
        min_loaded_fraction: float = 0.9,
    ) -> None:
        super().__init__()
        if not weights_path or not os.path.isfile(os.path.expanduser(weights_path)):
            raise ConfigError(
                f'PerceptualLoss needs local weights for {model_name!r}: weights_path='
                f'{weights_path!r} is not a file. Download them once (e.g. the timm checkpoint) '
                'and point weights_path at it, or set perceptual=None to train without it.'
            )
        import timm  # deferred: 0.4 s of import time, needed only with a perceptual loss

        self.net = timm.create_model(
            model_name, pretrained=False, features_only=True, out_indices=tuple(out_indices)
        )
        state = _load_weights(os.path.expanduser(weights_path))
        own = self.net.state_dict()
        matched = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
        if len(matched) < min_loaded_fraction * len(own):
            raise ConfigError(
                f'{weights_path!r} holds only {len(matched)}/{len(own)} tensors of timm '
                f'{model_name!r} (features_only); is it the right file for this model_name?'
            )
        self.net.load_state_dict(matched, strict=False)
        self.net.eval().requires_grad_(False)
        self.max_frames = max_frames
        self.resize = resize
        self.register_buffer('mean', torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer('std', torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True):
        super().train(mode)
        self.net.eval()  # frozen statistics
        return self

    def _frames(self, video: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        frames = video.index_select(2, index).transpose(1, 2).flatten(0, 1)
        frames = (frames.float() + 1) / 2
        if self.resize:
            frames = F.interpolate(frames, size=(self.resize, self.resize), mode='bilinear')
        return (frames - self.mean) / self.std

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Scalar distance between ``pred`` and ``target`` ``(B, 3, F, H, W)``."""
        num_frames = pred.shape[2]
        if self.max_frames and num_frames > self.max_frames:
            index = torch.randperm(num_frames, device=pred.device)[: self.max_frames]
        else:
            index = torch.arange(num_frames, device=pred.device)
        feats_pred = self.net(self._frames(pred, index))
        with torch.no_grad():
            feats_target = self.net(self._frames(target, index))
        loss = pred.new_zeros((), dtype=torch.float32)
        for fp, ft in zip(feats_pred, feats_target):
            fp = F.normalize(fp.float(), dim=1, eps=1e-6)
            ft = F.normalize(ft.float(), dim=1, eps=1e-6)
            loss = loss + (fp - ft).pow(2).sum(1).mean()
        return loss
