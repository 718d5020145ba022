"""Feature extractors (``FEATURE_EXTRACTORS``) for Fréchet distances and classification.

Interface: ``forward(video (B, 3, F, H, W) in [-1, 1]) -> (B, D)`` float and ``fingerprint() -> dict``.
"""

from .i3d import I3D, InceptionI3D  # noqa: F401
from .moving_digits_classifier import (  # noqa: F401
    MovingDigitsClassifier,
    get_or_train_moving_digits_classifier,
)
