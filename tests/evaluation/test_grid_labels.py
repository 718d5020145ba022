"""Grid labels: text in a band above each tile, the videos themselves untouched."""

import numpy as np
import torch

from videoar.engine.visualization import write_video_grid
from videoar.evaluation.grid_labels import LABEL_BAND, class_text, fit_text, label_videos
from videoar.io.frames import make_grid
from videoar.io.video import read_video


def _videos(n=4, frames=3, height=16, width=40):
    torch.manual_seed(0)
    return torch.rand(n, 3, frames, height, width) * 2 - 1


def test_labels_change_only_the_band_and_not_the_videos():
    videos = _videos()
    before = videos.clone()
    plain = make_grid(videos, nrow=2)
    labelled = make_grid(label_videos(videos, ['3', 'seven', 'uncond', 'a long prompt']), nrow=2)
    assert torch.equal(videos, before)  # the inputs (what metrics see) are not modified
    h, w, pad, band = 16, 40, 2, LABEL_BAND
    assert labelled.shape == (3, 2 * (band + h) + 3 * pad, 2 * w + 3 * pad, 3)
    for n in range(4):
        r, c = divmod(n, 2)
        left = pad + c * (w + pad)
        top_plain, top_label = pad + r * (h + pad), pad + r * (band + h + pad)
        tile = labelled[:, top_label + band : top_label + band + h, left : left + w]
        assert np.array_equal(tile, plain[:, top_plain : top_plain + h, left : left + w])
        strip = labelled[:, top_label : top_label + band, left : left + w]
        assert strip.max() == 255 and (strip == 0).mean() > 0.5  # white text on black
        assert all(np.array_equal(strip[0], s) for s in strip)  # the same on every frame
    first = labelled[0, pad : pad + band, pad : pad + w]
    second = labelled[0, pad : pad + band, 2 * pad + w : 2 * pad + 2 * w]
    assert not np.array_equal(first, second)  # different labels, different pixels


def test_long_text_is_shortened_to_the_tile():
    assert fit_text('3', 40) == '3'
    short = fit_text('a digit moving slowly from left to right', 40)
    assert short.endswith('..') and len(short) < 12
    assert class_text(None) == 'uncond' and class_text(-1) == 'uncond'
    assert class_text(2) == '2' and class_text(1, ['zero', 'one']) == 'one'


def test_write_video_grid_labels_switch(tmp_path):
    videos = _videos(n=2)
    before = videos.clone()
    plain = write_video_grid(str(tmp_path / 'plain'), videos, None, 8)
    labelled = write_video_grid(str(tmp_path / 'lab'), videos, None, 8, labels=['0', '1'])
    assert torch.equal(videos, before)
    assert read_video(plain[0]).shape[1] == 16 + 2 * 2
    assert read_video(labelled[0]).shape[1] == 16 + LABEL_BAND + 2 * 2
