"""Causal video tokenizer, its 2D counterpart, training model, losses and checkpoint loading."""

from .causal_tokenizer import CausalVideoTokenizer, ImageTokenizer2D
from .checkpoint import inflate_tokenizer_checkpoint, load_tokenizer_checkpoint
from .discriminator import LeCAM, PatchDiscriminator3D, hinge_d_loss, hinge_g_loss
from .perceptual import PerceptualLoss
from .video_tokenizer import (
    GANOptimWrapperConstructor,
    VideoTokenizer,
    bits_per_clip,
    tokens_per_clip,
)

__all__ = [
    'CausalVideoTokenizer',
    'GANOptimWrapperConstructor',
    'ImageTokenizer2D',
    'LeCAM',
    'PatchDiscriminator3D',
    'PerceptualLoss',
    'VideoTokenizer',
    'bits_per_clip',
    'hinge_d_loss',
    'hinge_g_loss',
    'inflate_tokenizer_checkpoint',
    'load_tokenizer_checkpoint',
    'tokens_per_clip',
]
