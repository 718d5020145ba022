import numpy as np
import pytest
import torch

from videoar.evaluation.vbench import native
from videoar.io.video import write_video


def test_temporal_flickering_static_alternating_and_noise():
    static = np.full((6, 8, 8, 3), 77, np.uint8)
    assert native.temporal_flickering_score(static) == 1.0
    alternating = np.stack([np.full((8, 8, 3), 10 * (i % 2), np.uint8) for i in range(5)])
    assert native.temporal_flickering_score(alternating) == pytest.approx(245 / 255)
    rng = np.random.RandomState(0)
    noise = rng.randint(0, 256, size=(5, 8, 8, 3)).astype(np.uint8)
    manual = np.mean([np.abs(noise[i].astype(float) - noise[i + 1]).mean() for i in range(4)])
    score = native.temporal_flickering_score(noise)
    assert score == pytest.approx((255 - manual) / 255, abs=1e-6) and score < 0.8
    mean, per_video = native.temporal_flickering([static, noise])
    assert per_video == [1.0, score] and mean == pytest.approx((1 + score) / 2)


def test_temporal_flickering_from_an_mp4_decoded_like_vbench(tmp_path):
    frames = np.zeros((8, 32, 32, 3), np.uint8)
    frames[:, 8:24, 8:24] = 200
    path = write_video(str(tmp_path / 'static-0.mp4'), frames, fps=8)
    decoded = native.read_frames_cv2(path)
    assert decoded.shape == (8, 32, 32, 3)
    assert native.temporal_flickering_score(decoded) > 0.99


class StubFlow:
    """Uniform flow whose magnitude is taken from a list, one entry per call."""

    def __init__(self, magnitudes):
        self.magnitudes = list(magnitudes)
        self.shapes = []

    def __call__(self, a, b):
        self.shapes.append(tuple(a.shape))
        m = self.magnitudes.pop(0)
        flow = torch.zeros(1, 2, *a.shape[-2:])
        flow[:, 0] = m * 0.6
        flow[:, 1] = m * 0.8
        return flow


def test_dynamic_degree_threshold_count_and_padding():
    frames = np.zeros((16, 60, 60, 3), np.uint8)  # thres = 6 * 60/256 = 1.406, count_num = 4
    assert native.raft_padding(60, 60) == [2, 2, 2, 2]
    stub = StubFlow([2.0] * 3 + [0.5] * 12)
    assert not native.dynamic_degree_video(frames, stub)  # 3 moving pairs < 4
    assert stub.shapes[0] == (1, 3, 64, 64)
    assert native.dynamic_degree_video(frames, StubFlow([0.5] * 11 + [2.0] * 4))
    assert not native.dynamic_degree_video(frames, StubFlow([1.3] * 15))
    # 16 fps -> every 2nd frame: 8 frames, 7 pairs, count_num = 2
    stub = StubFlow([2.0, 2.0] + [0.0] * 5)
    assert native.dynamic_degree_video(frames, stub, fps=16)
    assert len(stub.shapes) == 7  # like VBench, flow of every pair is computed first
    mean, decisions = native.dynamic_degree([frames, frames], StubFlow([2.0] * 4 + [0.0] * 26))
    assert decisions == [True, False] and mean == 0.5


def test_static_filter():
    frames = np.zeros((16, 64, 64, 3), np.uint8)  # thres 0.75, count_num 2, 15 + 2 pairs
    assert native.is_static_video(frames, StubFlow([0.0] * 17))
    assert native.is_static_video(frames, StubFlow([1.0] * 2 + [0.0] * 15))
    assert not native.is_static_video(frames, StubFlow([1.0] * 3 + [0.0] * 14))
    assert not native.is_static_video(frames, StubFlow([0.0] * 16 + [3.1]))  # wrap-around > 3.0


def test_consistency_formula():
    f = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    total, pairs = native.consistency_sums(f * 3)  # scale does not matter
    # i=1: (1 + 1)/2; i=2: (0 + 0)/2; i=3: (max(0,0) + max(0,-1))/2 = 0
    assert pairs == 3 and total == pytest.approx(1.0)

    class Enc:
        def __call__(self, frames):
            return torch.tensor(frames.reshape(len(frames), -1), dtype=torch.float32)

    a = np.ones((3, 1, 1, 2), np.uint8)
    b = np.stack([[[[1, 0]]], [[[0, 1]]]]).astype(np.uint8)
    mean, per_video = native.consistency([a, b], Enc())
    assert per_video == [pytest.approx(1.0), pytest.approx(0.0)]
    assert mean == pytest.approx(2.0 / 3.0)  # pair-weighted: (2 + 0) / 3 pairs


def test_timm_encoder_and_raft_loading(tmp_path):
    enc = native.TimmImageEncoder('test_vit', random_init=True, preprocess='dino', img_size=32)
    frames = np.random.RandomState(0).randint(0, 255, (3, 24, 48, 3)).astype(np.uint8)
    assert enc.preprocess(torch.from_numpy(frames)).shape == (3, 3, 32, 64)  # short side, no crop
    assert enc(frames).shape[0] == 3
    clip = native.TimmImageEncoder('test_vit', random_init=True, preprocess='clip', img_size=32)
    assert clip.preprocess(torch.from_numpy(frames)).shape == (3, 3, 32, 32)  # centre crop
    with pytest.raises(Exception, match='local weights'):
        native.TimmImageEncoder('test_vit')
    with pytest.raises(FileNotFoundError, match='never downloads'):
        native.TorchvisionRAFT(str(tmp_path / 'missing.pth'))
    # a raft_large state dict in DataParallel layout loads (keys 'module.' stripped)
    from torchvision.models.optical_flow import raft_large

    torch.manual_seed(0)
    state = {f'module.{k}': v for k, v in raft_large(weights=None).state_dict().items()}
    torch.save(state, tmp_path / 'raft.pth')
    flow = native.TorchvisionRAFT(str(tmp_path / 'raft.pth'), num_flow_updates=1)
    img = torch.rand(1, 3, 64, 64) * 255
    assert flow(img, img).shape == (1, 2, 64, 64)  # run at 128 px inside, resized back
