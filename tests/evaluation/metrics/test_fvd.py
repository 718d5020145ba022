import numpy as np
import pytest
import torch
import torch.nn as nn

from videoar.evaluation.frechet import frechet_distance
from videoar.evaluation.metrics import fvd as fvd_module
from videoar.evaluation.metrics.fvd import FVD
from videoar.evaluation.reference_stats import ReferenceStatsMismatchError
from videoar.registry import METRICS


class ToyExtractor(nn.Module):
    """Per-channel mean and std over (F, H, W): 6-d features."""

    def __init__(self, scale=1.0):
        super().__init__()
        self.scale = scale

    def forward(self, video):
        flat = video.flatten(2)
        return torch.cat([flat.mean(-1), flat.std(-1)], dim=1) * self.scale

    def fingerprint(self):
        return dict(name='Toy', scale=self.scale, num_frames=None, resolution=None)


def _videos(n, seed, brightness=0.0):
    g = torch.Generator().manual_seed(seed)
    return [
        (
            torch.rand(3, 4, 8, 8, generator=g) * 1.2
            - 0.6
            + brightness * torch.rand(3, 1, 1, 1, generator=g)
        )
        for _ in range(n)
    ]


def _toy_fvd(**options):
    """An FVD on CPU with a fresh ToyExtractor and ``options``."""
    return FVD(feature_extractor=ToyExtractor(), device='cpu', **options)


def _run(metric, preds, gts=None, batch=4):
    for start in range(0, len(preds), batch):
        samples = [dict(pred_video=p) for p in preds[start : start + batch]]
        if gts is not None:
            for s, g in zip(samples, gts[start : start + batch]):
                s['gt_video'] = g
        metric.process({}, samples)
    return metric.evaluate(len(preds))


def _manual_fd(extractor, real, gen, ddof=1):
    fr = extractor(torch.stack(real)).double().numpy()
    fg = extractor(torch.stack(gen)).double().numpy()
    return float(
        frechet_distance(
            fr.mean(0),
            np.cov(fr, rowvar=False, ddof=ddof),
            fg.mean(0),
            np.cov(fg, rowvar=False, ddof=ddof),
        )
    )


def test_fvd_against_gt_in_the_same_run_equals_batch_computation():
    real, gen = _videos(20, 0), _videos(20, 1, brightness=0.5)
    ex = ToyExtractor()
    metric = FVD(feature_extractor=ex, device='cpu', name='fd_toy')
    out = _run(metric, gen, real)
    assert out['fd_toy'] == pytest.approx(_manual_fd(ex, real, gen), rel=1e-9)
    assert out['fd_toy'] > 0.01
    assert metric.protocol['num_generated'] == 20 and metric.protocol['num_reference'] == 20
    assert metric.protocol['ddof'] == 1 and metric.protocol['extractor']['name'] == 'Toy'
    same = _run(FVD(feature_extractor=ex, device='cpu'), real, real)
    assert same['fd_toyextractor'] == pytest.approx(0.0, abs=1e-9)
    ddof0 = _run(FVD(feature_extractor=ex, ddof=0, device='cpu'), gen, real)['fd_toyextractor']
    assert ddof0 == pytest.approx(_manual_fd(ex, real, gen, ddof=0), rel=1e-9)
    assert ddof0 != pytest.approx(out['fd_toy'], rel=1e-6)


def test_reference_stats_saved_reused_and_fingerprint_checked(tmp_path):
    real, gen = _videos(12, 2), _videos(12, 3, brightness=0.3)
    path = str(tmp_path / 'ref.npz')
    first = _toy_fvd(reference_stats=path)
    value = _run(first, gen, real)['fd_toyextractor']
    assert first.protocol['reference']['saved']
    # reuse: no gt_video needed any more; same number
    again = _toy_fvd(reference_stats=path, num_reference=12)
    assert not again.uses_gt
    assert _run(again, gen)['fd_toyextractor'] == pytest.approx(value, rel=1e-12)
    assert again.protocol['reference']['kind'] == 'file'
    # a different extractor, ddof or sample count must not silently reuse the file
    with pytest.raises(ReferenceStatsMismatchError, match='extractor.scale'):
        _run(
            FVD(feature_extractor=ToyExtractor(scale=2.0), reference_stats=path, device='cpu'), gen
        )
    with pytest.raises(ReferenceStatsMismatchError, match='ddof'):
        _run(_toy_fvd(reference_stats=path, ddof=0), gen)
    with pytest.raises(ReferenceStatsMismatchError, match='num_samples'):
        _run(
            _toy_fvd(reference_stats=path, num_reference=50),
            gen,
        )
    with pytest.raises(ReferenceStatsMismatchError, match='frame_stride'):
        _run(
            _toy_fvd(reference_stats=path, frame_stride=3),
            gen,
        )


def test_reference_from_a_dataset_config(tmp_path):
    ds = dict(type='MovingDigits', split='val', length=10, num_frames=3, height=16, width=16)
    path = str(tmp_path / 'md.npz')
    metric = _toy_fvd(reference_dataset=ds, num_reference=8, reference_stats=path)
    gen = _videos(9, 4)
    gen = [torch.nn.functional.interpolate(g[None], size=(3, 16, 16))[0] for g in gen]
    value = _run(metric, gen)['fd_toyextractor']
    from videoar.datasets import MovingDigits

    dataset = MovingDigits(split='val', length=10, num_frames=3, height=16, width=16)
    real = [dataset[i]['inputs'] for i in range(8)]
    assert value == pytest.approx(_manual_fd(ToyExtractor(), real, gen), rel=1e-9)
    assert (
        metric.protocol['num_reference'] == 8 and metric.protocol['reference']['kind'] == 'dataset'
    )
    # a second evaluation reuses the in-memory reference; another metric loads the file
    assert _run(metric, gen)['fd_toyextractor'] == pytest.approx(value, rel=1e-12)
    other = _toy_fvd(reference_dataset=ds, num_reference=8, reference_stats=path)
    assert _run(other, gen)['fd_toyextractor'] == pytest.approx(value, rel=1e-12)
    assert other.protocol['reference']['kind'] == 'file'
    changed = dict(ds, split='test')
    with pytest.raises(ReferenceStatsMismatchError, match='source'):
        _run(
            _toy_fvd(reference_dataset=changed, num_reference=8, reference_stats=path),
            gen,
        )


def test_streaming_stats_are_merged_across_ranks(monkeypatch):
    real, gen = _videos(16, 5), _videos(16, 6, brightness=0.4)
    ex = ToyExtractor()
    # rank 1's share, computed by another metric instance
    other = FVD(feature_extractor=ex, device='cpu')
    for p, g in zip(gen[8:], real[8:]):
        other.process({}, [dict(pred_video=p, gt_video=g)])
    shares = iter([other._gen.state_dict(), other._real.state_dict()])

    def fake_all_gather(obj):
        return [obj, next(shares)]

    monkeypatch.setattr(fvd_module, 'get_world_size', lambda: 2)
    monkeypatch.setattr(fvd_module, 'all_gather_object', fake_all_gather)
    metric = FVD(feature_extractor=ex, device='cpu')
    for p, g in zip(gen[:8], real[:8]):
        metric.process({}, [dict(pred_video=p, gt_video=g)])
    out = metric.evaluate(16)
    assert metric.protocol['num_generated'] == 16
    assert out['fd_toyextractor'] == pytest.approx(_manual_fd(ex, real, gen), rel=1e-9)


def test_errors_and_i3d_smoke():
    with pytest.raises(ValueError, match='at least 2'):
        _run(_toy_fvd(), _videos(1, 0), _videos(1, 1))
    with pytest.raises(KeyError, match='gt_video'):
        _run(_toy_fvd(), _videos(2, 0))
    with pytest.raises(Exception, match='ddof'):
        FVD(feature_extractor=ToyExtractor(), ddof=2)
    # the registry path with an I3D (random weights; its forward is tested in test_i3d.py)
    metric = METRICS.build(
        dict(
            type='FVD',
            feature_extractor=dict(type='I3D', random_init=True, num_frames=9),
            device='cpu',
        )
    )
    assert metric.name == 'fvd'
    fp = metric.expected_fingerprint(None)
    assert fp['extractor']['num_frames'] == 9 and fp['extractor']['weights_sha256'] == 'random-init'
    with pytest.raises(Exception, match='unknown key'):
        METRICS.build(
            dict(type='FVD', feature_extractor=dict(type='I3D', random_init=True, frames=9))
        )
