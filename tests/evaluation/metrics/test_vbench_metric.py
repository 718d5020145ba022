import json

import pytest
import torch

from videoar.evaluation.metrics.vbench import VBench
from videoar.evaluation.vbench.scoring import IncompleteVBenchError, aggregate_vbench
from videoar.registry import METRICS
from videoar.utils.validation import ConfigError

VIDEOAR_RAW = {
    'subject_consistency': 0.9551, 'background_consistency': 0.9785, 'motion_smoothness': 0.9837,
    'dynamic_degree': 0.6139, 'aesthetic_quality': 0.6342, 'imaging_quality': 0.6071,
    'object_class': 0.9498, 'multiple_objects': 0.7288, 'human_action': 0.9440, 'color': 0.9073,
    'spatial_relationship': 0.5614, 'scene': 0.5052, 'appearance_style': 0.2268,
    'temporal_style': 0.2511, 'overall_consistency': 0.2744,
}  # fmt: skip


def _flicker_video(step):
    """(3, 5, 8, 8) in [-1, 1]: uint8 frames alternating between 100 and 100 + step."""
    levels = torch.tensor([100.0, 100.0 + step] * 3)[:5]
    return (levels.view(1, 5, 1, 1).expand(3, 5, 8, 8) / 127.5 - 1.0).clone()


def test_native_temporal_flickering_and_partial_label():
    metric = METRICS.build(dict(type='VBench', device='cpu'))
    metric.process(
        {}, [dict(pred_video=_flicker_video(0), caption='a'), dict(pred_video=_flicker_video(6))]
    )
    out = metric.compute_metrics(metric.results)
    assert out['vbench_temporal_flickering'] == pytest.approx((1.0 + 249 / 255) / 2)
    assert 'vbench_total' not in out and 'vbench_partial_quality' in out
    assert not metric.protocol['complete'] and len(metric.protocol['missing']) == 15
    strict = VBench(allow_partial=False, device='cpu')
    strict.process({}, [dict(pred_video=_flicker_video(0))])
    with pytest.raises(IncompleteVBenchError):
        strict.compute_metrics(strict.results)


def test_config_errors():
    with pytest.raises(ConfigError, match='flow_model'):
        VBench(dimensions=['dynamic_degree'])
    with pytest.raises(ConfigError, match='not native'):
        VBench(dimensions=['scene'])
    with pytest.raises(ConfigError, match='subject_encoder'):
        VBench(dimensions=['subject_consistency'])
    with pytest.raises(ConfigError, match='overlap'):
        VBench(delegate=dict(python='x', work_dir='y', dimensions=['temporal_flickering']))


def test_delegated_dimensions_complete_the_total(tmp_path, fake_vbench):
    python, env = fake_vbench
    import os

    os.environ.update(env, FAKE_VBENCH_SCORES=json.dumps(VIDEOAR_RAW))
    try:
        metric = VBench(
            device='cpu',
            delegate=dict(python=python, work_dir=str(tmp_path / 'vb'), dimensions=sorted(VIDEOAR_RAW),
                          mode='vbench_standard', device='cpu'),
        )  # fmt: skip
        samples = [dict(pred_video=_flicker_video(3), caption='a dog running') for _ in range(2)]
        metric.process({}, samples)
        out = metric.compute_metrics(metric.results)
    finally:
        for key in list(env) + ['FAKE_VBENCH_SCORES']:
            os.environ.pop(key, None)
    assert sorted(os.listdir(tmp_path / 'vb' / 'videos')) == [
        'a dog running-0.mp4',
        'a dog running-1.mp4',
        'prompts.json',
    ]
    expected = aggregate_vbench(dict(VIDEOAR_RAW, temporal_flickering=252 / 255))
    assert out['vbench_total'] == pytest.approx(expected['total'])
    assert out['vbench_total'] * 100 == pytest.approx(81.74, abs=0.01)  # flicker 98.82 vs 98.83
    assert metric.protocol['complete'] and len(metric.protocol['delegated_dimensions']) == 15
