"""GIF palettes: one 256-colour palette per file, exact for videos of at most 256 colours,
else a median cut over 15-bit colours with a nearest-colour lookup per 15-bit bin."""

from __future__ import annotations

import numpy as np


def _median_cut_palette(colors: np.ndarray, counts: np.ndarray, size: int) -> np.ndarray:
    """Median cut over weighted colours ``(N, 3)`` -> palette ``(<=size, 3)`` (weighted means)."""

    def score(box: np.ndarray) -> float:
        if len(box) < 2:
            return -1.0
        spread = colors[box].max(0) - colors[box].min(0)
        return float(spread.max()) * float(counts[box].sum())

    boxes = [np.arange(len(colors))]
    scores = [score(boxes[0])]
    while len(boxes) < size:
        # split the box with the largest (range x weight), at the weighted median of its widest
        # channel
        best = int(np.argmax(scores))
        if scores[best] <= 0:
            break
        box = boxes.pop(best)
        scores.pop(best)
        channel = int(np.argmax(colors[box].max(0) - colors[box].min(0)))
        order = box[np.argsort(colors[box, channel], kind='stable')]
        cumulative = np.cumsum(counts[order])
        cut = int(np.searchsorted(cumulative, cumulative[-1] / 2.0))
        cut = min(max(cut, 1), len(order) - 1)
        for part in (order[:cut], order[cut:]):
            boxes.append(part)
            scores.append(score(part))
    palette = [
        (colors[box] * counts[box, None]).sum(0) / counts[box].sum() for box in boxes if len(box)
    ]
    return np.clip(np.rint(np.stack(palette)), 0, 255).astype(np.uint8)


def palettize(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """uint8 ``(F, H, W, 3)`` -> (indices ``(F, H, W)`` uint8, palette ``(256, 3)`` uint8)."""
    flat = frames.reshape(-1, 3)
    wide = flat.astype(np.int32)
    packed = (wide[:, 0] << 16) | (wide[:, 1] << 8) | wide[:, 2]
    unique, inverse = np.unique(packed, return_inverse=True)
    palette = np.zeros((256, 3), np.uint8)
    if len(unique) <= 256:  # exact
        palette[: len(unique), 0] = unique >> 16
        palette[: len(unique), 1] = (unique >> 8) & 255
        palette[: len(unique), 2] = unique & 255
        return inverse.reshape(frames.shape[:3]).astype(np.uint8), palette
    # median cut on a 15-bit histogram, then a nearest-colour lookup table per 15-bit bin
    wide = flat.astype(np.int32) >> 3
    bins = (wide[:, 0] << 10) | (wide[:, 1] << 5) | wide[:, 2]
    bin_ids, bin_inverse, bin_counts = np.unique(bins, return_inverse=True, return_counts=True)
    sums = np.zeros((len(bin_ids), 3))
    np.add.at(sums, bin_inverse, flat.astype(np.float64))
    means = sums / bin_counts[:, None]
    chosen = _median_cut_palette(means, bin_counts.astype(np.float64), 256)
    dist = ((means[:, None, :] - chosen[None].astype(np.float64)) ** 2).sum(-1)
    lut = dist.argmin(1).astype(np.uint8)
    palette[: len(chosen)] = chosen
    return lut[bin_inverse].reshape(frames.shape[:3]), palette


__all__ = ['palettize']
