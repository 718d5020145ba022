"""Labels written into the tiles of sample grids (the class or a shortened prompt).

Only the grid files get labels: :func:`label_videos` returns new ``uint8`` videos, each with a
black band of ``band`` rows above the frames carrying the label text; the videos passed to
metrics are never touched. The text is drawn with Pillow's built-in bitmap font
(``ImageFont.load_default_imagefont``, shipped inside Pillow; older Pillow: ``load_default``),
so nothing is downloaded. Text wider than the tile is shortened with ``..``.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from videoar.io.frames import as_uint8_frames

LABEL_BAND = 12  # rows above each tile; the bitmap font is 11 px tall


def _font():
    loader = getattr(ImageFont, 'load_default_imagefont', None)  # Pillow >= 10.1: the bitmap font
    return loader() if loader is not None else ImageFont.load_default()


def _text_width(draw: ImageDraw.ImageDraw, text: str, font) -> int:
    left, _, right, _ = draw.textbbox((0, 0), text, font=font)
    return right - left


def fit_text(text: str, width: int, font=None) -> str:
    """``text`` shortened (ending in ``..``) so that it fits ``width`` pixels in the font."""
    font = font or _font()
    draw = ImageDraw.Draw(Image.new('L', (1, 1)))
    text = str(text).encode('ascii', 'replace').decode()  # the bitmap font is latin-1
    if _text_width(draw, text, font) <= width - 2:
        return text
    while text and _text_width(draw, text + '..', font) > width - 2:
        text = text[:-1]
    return text + '..' if text else ''


def label_band(text: str, width: int, band: int = LABEL_BAND) -> np.ndarray:
    """A ``(band, width, 3)`` uint8 strip: white ``text`` (shortened to fit) on black."""
    font = _font()
    image = Image.new('RGB', (width, band), (0, 0, 0))
    ImageDraw.Draw(image).text((1, 0), fit_text(text, width, font), fill=(255, 255, 255), font=font)
    return np.asarray(image, dtype=np.uint8)


def label_videos(videos, labels, band: int = LABEL_BAND) -> list[np.ndarray]:
    """Each video (any writer convention; see ``videoar.io.frames.as_uint8_frames``) as uint8
    ``(F, band + H, W, 3)`` with its label in a band above the frames. ``labels``: one string per
    video. The inputs are not modified."""
    if isinstance(videos, np.ndarray) or hasattr(videos, 'dim'):
        videos = list(videos)
    labels = list(labels)
    if len(labels) != len(videos):
        raise ValueError(f'label_videos: {len(videos)} videos but {len(labels)} labels.')
    out = []
    for video, text in zip(videos, labels):
        frames = as_uint8_frames(video)
        strip = label_band(text, frames.shape[2], band)
        out.append(
            np.concatenate([np.broadcast_to(strip, (len(frames),) + strip.shape), frames], 1)
        )
    return out


def class_text(label, class_names=None) -> str:
    """The tile text of a class label: ``'3'`` or its name; ``'uncond'`` for ``None`` / ``< 0``."""
    if label is None or int(label) < 0:
        return 'uncond'
    if class_names is not None and int(label) < len(class_names):
        return str(class_names[int(label)])
    return str(int(label))


__all__ = ['LABEL_BAND', 'class_text', 'fit_text', 'label_band', 'label_videos']
