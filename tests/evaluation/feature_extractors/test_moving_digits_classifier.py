import pytest
import torch

from videoar.datasets import MovingDigits
from videoar.evaluation.feature_extractors import moving_digits_classifier as mdc
from videoar.evaluation.metrics import FVD, ClassAccuracy
from videoar.registry import FEATURE_EXTRACTORS

# a small, fast setting (16x16 canvas: 8 px digits, the source resolution; 5 frames, no
# augmentation); the default (17x32x32, 300 iterations) reaches ~93% but takes ~40 s
SMALL = dict(
    num_frames=5, img_size=16, frame_step=2, width=16, feature_dim=32, iters=200, batch_size=16,
    lr=3e-3, noise=0.0, blur_prob=0.0, affine=0.0,
)  # fmt: skip


@pytest.fixture(scope='module')
def cache_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp('classifier_cache'))


@pytest.fixture(scope='module')
def classifier(cache_dir):
    return mdc.get_or_train_moving_digits_classifier(cache_dir=cache_dir, verbose=False, **SMALL)


def _val(n=64, offset=0):
    ds = MovingDigits(split='val', length=n + offset, num_frames=5, height=16, width=16)
    items = [ds[i] for i in range(offset, offset + n)]
    return items


def test_beats_chance_by_far_on_real_val_clips(classifier):
    assert classifier.meta['val_accuracy'] > 0.35  # chance is 0.1
    items = _val()
    videos = torch.stack([it['inputs'] for it in items])
    labels = torch.tensor([it['data_samples']['label'] for it in items])
    accuracy = float((classifier.classify(videos) == labels).float().mean())
    assert accuracy > 0.35
    assert classifier(videos).shape == (64, 32) and classifier.logits(videos).shape == (64, 10)
    # larger frames are resized to the network input: same prediction on an upsampled clip
    up = torch.nn.functional.interpolate(videos[:8], scale_factor=(1, 2, 2), mode='nearest')
    assert (classifier.classify(up) == classifier.classify(videos[:8])).float().mean() >= 0.75


def test_cache_is_reused_and_keyed_by_settings(classifier, cache_dir, monkeypatch):
    def boom(**kwargs):
        raise AssertionError('must not retrain')

    monkeypatch.setattr(mdc, 'train_moving_digits_classifier', boom)
    again = mdc.get_or_train_moving_digits_classifier(cache_dir=cache_dir, verbose=False, **SMALL)
    assert again.weights_sha256 == classifier.weights_sha256
    for key, value in classifier.state_dict().items():
        assert torch.equal(value, again.state_dict()[key])
    # built from the registry with the same settings: loads the same cached weights
    built = FEATURE_EXTRACTORS.build(
        dict(type='MovingDigitsClassifier', num_frames=5, img_size=16, frame_step=2, width=16,
             feature_dim=32, cache_dir=cache_dir, train_iters=200, train_batch_size=16,
             train_lr=3e-3, train_noise=0.0, train_blur_prob=0.0, train_affine=0.0)
    )  # fmt: skip
    assert built.fingerprint()['weights_sha256'] == classifier.weights_sha256
    assert mdc.classifier_cache_key(**SMALL) != mdc.classifier_cache_key(**dict(SMALL, seed=1))
    with pytest.raises(AssertionError, match='retrain'):
        mdc.get_or_train_moving_digits_classifier(
            cache_dir=cache_dir, verbose=False, **dict(SMALL, seed=1)
        )


def test_class_accuracy_and_frechet_classifier_distance(classifier):
    items = _val(48)
    real = [dict(pred_video=it['inputs'], label=it['data_samples']['label']) for it in items]
    metric = ClassAccuracy(classifier=classifier, device='cpu')
    metric.process({}, real[:24])
    metric.process({}, real[24:])
    accuracy = metric.compute_metrics(metric.results)['class_accuracy']
    assert accuracy > 0.35 and metric.protocol['chance'] == pytest.approx(0.1)
    shuffled = ClassAccuracy(classifier=classifier, device='cpu')
    shuffled.process({}, [dict(s, label=(s['label'] + 1) % 10) for s in real])
    assert shuffled.compute_metrics(shuffled.results)['class_accuracy'] < accuracy - 0.2
    with pytest.raises(KeyError, match='label'):
        metric.process({}, [dict(pred_video=items[0]['inputs'], label=-1)])

    other = _val(48, offset=48)  # other real clips vs noise, against the same real reference
    fcd = FVD(feature_extractor=classifier, device='cpu')
    assert fcd.name == 'fcd'
    fcd.process(
        {}, [dict(pred_video=o['inputs'], gt_video=r['pred_video']) for o, r in zip(other, real)]
    )
    real_vs_real = fcd.evaluate(48)['fcd']
    noise = [
        dict(pred_video=torch.rand(3, 5, 16, 16) * 2 - 1, gt_video=r['pred_video']) for r in real
    ]
    fcd.process({}, noise)
    assert fcd.evaluate(48)['fcd'] > 3 * real_vs_real
