"""VideoVisualizationHook, GenerationEvaluationHook and the video visualizer backends."""

import json
import os

import numpy as np
import pytest
import torch
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from torch import nn

import videoar.engine  # noqa: F401  (registers the hooks and backends)
from videoar.evaluation import evaluate_generation
from videoar.evaluation.grid_labels import LABEL_BAND
from videoar.io.video import probe_video, read_video
from videoar.registry import METRICS, MODELS

FRAMES, SIZE, CLASSES = 3, 8, 3


@MODELS.register_module(force=True)
class VideoToyModel(BaseModel):
    """predict: class ``c`` lights channel ``c`` at ``brightness``; global-RNG noise on top.

    ``brightness`` is a parameter, trained towards 1 by the loss, so EMA and raw weights differ.
    """

    def __init__(self, num_classes: int = CLASSES, noise: float = 0.05) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.noise = noise
        self.brightness = nn.Parameter(torch.tensor(-0.5))
        self.predict_calls = 0
        self.training_during_predict = []

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'loss':
            return dict(loss=(self.brightness - 1.0) ** 2 + 0 * inputs.sum())
        self.predict_calls += 1
        self.training_during_predict.append(self.training)
        labels = data_samples['label']
        videos = torch.full((len(labels), 3, FRAMES, SIZE, SIZE), -1.0)
        for i, label in enumerate(labels.tolist()):
            videos[i, label % 3] = self.brightness.detach()
        videos = (videos + self.noise * torch.randn_like(videos)).clamp(-1, 1)
        return [
            dict(pred_video=v, label=int(lab), caption=c)
            for v, lab, c in zip(videos, labels.tolist(), data_samples['caption'])
        ]


@METRICS.register_module(force=True)
class ToyChannelAccuracy(BaseMetric):
    """Fraction of videos whose brightest channel is their label; mean gt value; count."""

    default_prefix = ''

    def process(self, data_batch, data_samples):
        for s in data_samples:
            channel = int(s['pred_video'].mean(dim=(1, 2, 3)).argmax())
            gt = float(s['gt_video'].mean()) if 'gt_video' in s else float('nan')
            self.results.append((channel == s['label'], gt, float(s['pred_video'].mean())))

    def compute_metrics(self, results):
        return dict(
            acc=float(np.mean([r[0] for r in results])),
            gt_mean=float(np.mean([r[1] for r in results])),
            pred_mean=float(np.mean([r[2] for r in results])),
            count=len(results),
        )


@pytest.fixture
def make_runner(toy_runner):
    """``make_runner(work_dir, custom_hooks, ...)``: a Runner training VideoToyModel on ToyClips
    (clip ``i`` has value ``i / 100``), writing videos to ``vis_backends``."""

    def make(work_dir, custom_hooks, max_iters=4, vis_backends=None):
        backends = vis_backends or [dict(type='VideoLocalVisBackend')]
        return toy_runner(work_dir, dict(type='VideoToyModel'), dict(type='ToyClips'),
                          batch_size=2, lr=0.2, max_iters=max_iters, custom_hooks=custom_hooks,
                          visualizer=dict(type='Visualizer', vis_backends=backends))  # fmt: skip

    return make


def _tile(frames, row, col, size=SIZE, pad=2):
    top, left = pad + row * (size + pad), pad + col * (size + pad)
    return frames[:, top : top + size, left : left + size]


def test_visualization_hook_writes_decodable_grids_with_ema(tmp_path, make_runner):
    hook = dict(
        type='VideoVisualizationHook', interval=2, conditions=dict(label=[0, 1, 2, 1]), nrow=2,
        labels=False,
    )  # fmt: skip
    runner = make_runner(tmp_path, [hook, dict(type='EMAHook', momentum=0.5)], max_iters=5)
    runner.train()
    vis = tmp_path / 'vis'
    # iterations 2 and 4 by the interval, 5 after training
    assert sorted(os.listdir(vis)) == sorted(
        f'iter_{i}.{ext}' for i in (2, 4, 5) for ext in ('mp4', 'gif')
    )
    grid_size = 2 * SIZE + 3 * 2  # 2 tiles + 3 paddings
    for ext in ('mp4', 'gif'):
        info = probe_video(vis / f'iter_5.{ext}', exact=True)
        assert info['num_frames'] == FRAMES
        assert (info['height'], info['width']) == (grid_size, grid_size)
    frames = read_video(vis / 'iter_5.gif').astype(np.float32)
    # tile (row 0, col 1) was conditioned on label 1: the green channel is the bright one
    tile = _tile(frames, 0, 1)
    assert (
        tile[..., 1].mean() > tile[..., 0].mean() + 40
        and tile[..., 1].mean() > tile[..., 2].mean() + 40
    )
    model = runner.model
    assert not any(model.training_during_predict)  # sampled in eval mode
    assert model.training  # and put back into training mode
    # EMA weights were swapped in for sampling (and out again): the grid brightness is the EMA's
    ema = [h for h in runner.hooks if type(h).__name__ == 'EMAHook'][0]
    ema_value = float(ema.ema_model.module.brightness)
    raw_value = float(model.brightness.detach())
    assert abs(ema_value - raw_value) > 0.05
    shown = tile[..., 1].mean() / 127.5 - 1
    assert abs(shown - ema_value) < 0.05 < abs(shown - raw_value)
    # the backend got the video too
    local = [p for p in (tmp_path).rglob('vis_video/samples_5.gif')]
    assert len(local) == 1 and probe_video(local[0], exact=True)['num_frames'] == FRAMES


@pytest.mark.parametrize(
    'conditions', [dict(label=[0, 1, 2, 1]), dict(caption=['a', 'b', 'c', 'b'])]
)
def test_visualization_grids_carry_labels_unless_switched_off(tmp_path, make_runner, conditions):
    grids = {}
    for labels in (True, False):
        hook = dict(type='VideoVisualizationHook', interval=100, conditions=conditions,
                    nrow=2, seed=3, labels=labels)  # fmt: skip
        make_runner(tmp_path / str(labels), [hook], max_iters=1).train()
        grids[labels] = read_video(tmp_path / str(labels) / 'vis' / 'iter_1.gif')
    plain, labelled = grids[False], grids[True]
    band, pad = LABEL_BAND, 2
    assert labelled.shape[1] == plain.shape[1] + 2 * band  # a band above each of the two rows
    assert labelled.shape[2] == plain.shape[2]
    strips = []
    for row in (0, 1):
        for col in (0, 1):
            left = pad + col * (SIZE + pad)
            top_label = pad + row * (band + SIZE + pad)
            tile = labelled[:, top_label + band : top_label + band + SIZE, left : left + SIZE]
            assert np.array_equal(tile, _tile(plain, row, col))  # pixel for pixel
            strips.append(labelled[:, top_label : top_label + band, left : left + SIZE])
    assert all(s.max() > 200 for s in strips)  # text in every band
    assert np.array_equal(strips[1], strips[3])  # the same condition, the same band
    assert not np.array_equal(strips[0], strips[1])  # another condition, another band


def test_visualization_same_seed_same_videos(tmp_path, make_runner):
    hook = dict(type='VideoVisualizationHook', interval=100, conditions=[0, 1], seed=3)
    runner = make_runner(tmp_path, [hook], max_iters=1)
    runner.train()
    first = read_video(tmp_path / 'vis' / 'iter_1.gif')
    vis_hook = [h for h in runner.hooks if type(h).__name__ == 'VideoVisualizationHook'][0]
    vis_hook.visualize(runner, 99)
    assert np.array_equal(read_video(tmp_path / 'vis' / 'iter_99.gif'), first)


def test_tensorboard_backend_logs_a_video(tmp_path):
    pytest.importorskip('tensorboard')
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from videoar.engine.visualization import VideoTensorboardVisBackend

    backend = VideoTensorboardVisBackend(save_dir=str(tmp_path))
    video = torch.linspace(-1, 1, 3 * 4 * 6 * 10).reshape(3, 4, 6, 10)
    backend.add_video('samples', video, step=7, fps=4)
    backend.close()
    events = EventAccumulator(str(tmp_path), size_guidance={'images': 0})
    events.Reload()
    (image,) = events.Images('samples')
    assert image.step == 7 and (image.height, image.width) == (6, 10)
    gif = tmp_path / 'back.gif'
    gif.write_bytes(image.encoded_image_string)
    assert gif.read_bytes()[:4] == b'GIF8'
    assert probe_video(gif, exact=True)['num_frames'] == 4


def test_generation_evaluation_hook_writes_metrics(tmp_path, make_runner):
    hook = dict(
        type='GenerationEvaluationHook',
        metrics=[dict(type='ToyChannelAccuracy')],
        interval=0,
        num_samples=6,
        batch_size=4,
        real_dataloader=dict(dataset=dict(type='ToyClips', length=12), batch_size=5),
        references=['real', 'shuffled'],
    )
    runner = make_runner(tmp_path, [hook], max_iters=3)
    runner.optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.0))  # brightness stays -0.5
    runner.train()
    record = json.loads((tmp_path / 'metrics.json').read_text())
    metrics = record['metrics']
    assert metrics['acc'] == 1.0 and metrics['count'] == 6
    assert metrics['shuffled/acc'] == 0.0  # every label moved to another class
    # the gt of sample i is real clip i (value i/100): mean over clips 0..5
    assert metrics['gt_mean'] == pytest.approx(np.mean(np.arange(6)) / 100, abs=1e-6)
    # the real reference scores clips 6..11 as predictions
    assert metrics['real/pred_mean'] == pytest.approx(np.mean(np.arange(6, 12)) / 100, abs=1e-6)
    protocol = record['protocol']
    assert protocol['num_samples'] == 6 and protocol['conditions'] == 'balanced'
    assert protocol['iteration'] == 3 and protocol['references'] == ['real', 'shuffled']


def test_evaluate_generation_dataset_conditions_and_errors():
    model = VideoToyModel()
    from videoar.evaluation.real_clips import build_real_dataloader

    loader = build_real_dataloader(dict(dataset=dict(type='ToyClips', length=5)), 2)
    result = evaluate_generation(
        model, [dict(type='ToyChannelAccuracy')], num_samples=5, batch_size=2,
        conditions='dataset', real_dataloader=loader, keep_videos=3, progress=False,
    )  # fmt: skip
    assert result.metrics['acc'] == 1.0 and result.metrics['count'] == 5
    assert result.labels == [0, 1, 2]  # the labels of real clips 0, 1, 2
    assert result.videos.shape == (3, 3, FRAMES, SIZE, SIZE)
    from videoar.utils import ConfigError

    with pytest.raises(ConfigError, match='real_dataloader'):
        evaluate_generation(model, [dict(type='ToyChannelAccuracy')], 4, conditions='dataset')
    with pytest.raises(KeyError, match='NoSuchMetric'):
        from videoar.engine.hooks import GenerationEvaluationHook

        GenerationEvaluationHook(metrics=[dict(type='NoSuchMetric')])


class ReconstructingToyModel(VideoToyModel):
    """A 'tokenizer' that halves every clip, so its reference is recognisable."""

    def reconstruct(self, videos):
        return videos * 0.5


def test_reconstruction_reference_scores_real_clips_through_the_model():
    from videoar.evaluation.real_clips import build_real_dataloader
    from videoar.utils import ConfigError

    loader = build_real_dataloader(dict(dataset=dict(type='ToyClips', length=12)), 4)
    result = evaluate_generation(
        ReconstructingToyModel(), [dict(type='ToyChannelAccuracy')], num_samples=6,
        batch_size=4, real_dataloader=loader, references=['reconstruction', 'real'],
        progress=False,
    )  # fmt: skip
    metrics = result.metrics
    # the same clips as the real reference (6..11, value i/100), halved by reconstruct()
    assert metrics['real/pred_mean'] == pytest.approx(np.mean(np.arange(6, 12)) / 100, abs=1e-6)
    assert metrics['reconstruction/pred_mean'] == pytest.approx(
        np.mean(np.arange(6, 12)) / 200, abs=1e-6
    )
    assert result.protocol['references'] == ['reconstruction', 'real']
    with pytest.raises(ConfigError, match="'reconstruction' reference needs a generator"):
        evaluate_generation(
            VideoToyModel(), [dict(type='ToyChannelAccuracy')], 6, real_dataloader=loader,
            references=['reconstruction'], progress=False,
        )  # fmt: skip
