"""predict_videos and make_data_samples: sampling through the model's mmengine predict contract."""

import pytest
import torch

import videoar.models  # noqa: F401  (registers the model components)
from videoar.evaluation.predict import make_data_samples, predict_videos
from videoar.models.sampling import sample_video
from videoar.registry import MODELS
from videoar.structures import VideoBatch
from videoar.utils import ConfigError

TINY = dict(
    type='VideoAR',
    tokenizer=dict(type='CausalVideoTokenizer', latent_dim=4, spatial_stride=8,
                   temporal_stride=4, base_channels=4, channel_mult=(1, 1, 1)),
    quantizer=dict(type='MultiScaleBSQ', embed_dim=4, scale_sizes=[(1, 1), (2, 2)]),
    transformer=dict(type='ARTransformer', dim=16, depth=1, num_heads=2),
    conditioner=dict(type='ClassConditioner', num_classes=4),
    num_frames=5,
    max_frames=3,
    resolution=(16, 16),
    sample_cfg=dict(cfg_scale=2.0, seed=3),
)  # fmt: skip


@pytest.fixture
def model():
    torch.manual_seed(0)
    model = MODELS.build(TINY)
    with torch.no_grad():
        model.head.weight.normal_(std=0.3)
    return model


def test_make_data_samples_builds_a_typed_batch():
    batch = make_data_samples(labels=[2, 0], indices=range(4, 6))
    assert isinstance(batch, VideoBatch)
    assert batch.label.tolist() == [2, 0] and batch.index.tolist() == [4, 5]
    assert batch.caption == ['', '']
    assert make_data_samples(captions=['a']).label.tolist() == [-1]
    with pytest.raises(ConfigError, match='different lengths'):
        make_data_samples(labels=[1, 2], captions=['a'])
    with pytest.raises(ConfigError, match='at least one'):
        make_data_samples()


def test_predict_videos_of_another_length_go_through_model_predict(model):
    batch = make_data_samples(labels=[1, 3], indices=[7, 8])
    videos = predict_videos(model, batch, num_frames=9, seed=0)
    assert videos.shape == (2, 3, 9, 16, 16) and videos.dtype == torch.float32
    assert model.training  # the mode is restored
    assert torch.equal(videos, predict_videos(model, batch, num_frames=9, seed=1))  # cfg seed
    # the same as the sampler with the model's sample_cfg, seeded with seed + first index
    expected = sample_video(
        model, batch, num_frames=9, cfg_scale=2.0, generator=torch.Generator().manual_seed(3 + 7)
    )
    torch.testing.assert_close(videos, expected['video'])
    default = predict_videos(model, batch, seed=0)
    assert default.shape == (2, 3, 5, 16, 16)


def test_predict_videos_explains_a_model_without_num_frames():
    class Fixed(torch.nn.Module):
        def forward(self, inputs, data_samples, mode='tensor'):
            return [dict(pred_video=torch.zeros(3, 1, 2, 2)) for _ in range(len(data_samples))]

    batch = make_data_samples(labels=[0])
    assert predict_videos(Fixed(), batch).shape == (1, 3, 1, 2, 2)
    with pytest.raises(ConfigError, match='num_frames=9'):
        predict_videos(Fixed(), batch, num_frames=9)
