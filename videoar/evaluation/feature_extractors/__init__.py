"""Feature extractors (``FEATURE_EXTRACTORS``) for Fréchet distances and classification.

Interface: ``forward(video (B, 3, F, H, W) in [-1, 1]) -> (B, D)`` float and
``fingerprint() -> dict`` (weights hash and every preprocessing setting).
"""

from .i3d import I3D, InceptionI3D
from .moving_digits_classifier import (
    MovingDigitsClassifier,
    get_or_train_moving_digits_classifier,
    train_moving_digits_classifier,
)

__all__ = [
    'I3D',
    'InceptionI3D',
    'MovingDigitsClassifier',
    'get_or_train_moving_digits_classifier',
    'train_moving_digits_classifier',
]
