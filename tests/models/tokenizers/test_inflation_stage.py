"""The image-tokenizer stage: a VideoTokenizer initialised from an ImageTokenizer2D checkpoint
(``inflate_from``), with both initialisations of the unfilled time slices."""

import pytest
import torch

from videoar.models.tokenizers import VideoTokenizer
from videoar.utils import ConfigError

ARCH = dict(latent_dim=4, spatial_stride=4, temporal_stride=4, base_channels=8, channel_mult=(1, 1))
QUANTIZER = dict(type='MultiScaleBSQ', scale_sizes=[1, 2], learn_scales=True)


def image_checkpoint(tmp_path, seed=3):
    """A trained-looking 2D tokenizer model (random non-zero weights), saved as mmengine does."""
    torch.manual_seed(seed)
    model = VideoTokenizer(tokenizer=dict(type='ImageTokenizer2D', **ARCH), quantizer=QUANTIZER)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.2)
    path = tmp_path / 'iter_4.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return model.eval(), str(path)


def video_model(**kwargs):
    torch.manual_seed(11)
    return VideoTokenizer(
        tokenizer=dict(type='CausalVideoTokenizer', **ARCH), quantizer=QUANTIZER, **kwargs
    ).eval()


def test_zero_inflation_reproduces_the_image_tokenizer_on_the_first_frame(tmp_path):
    image_model, path = image_checkpoint(tmp_path)
    model = video_model(inflate_from=path)
    assert model.inflated_from == path
    for name, value in image_model.quantizer.state_dict().items():
        assert torch.equal(model.quantizer.state_dict()[name], value), name
    clip = torch.rand(2, 3, 5, 8, 8) * 2 - 1
    with torch.no_grad():
        labels_3d = model.encode_to_labels(clip)
        labels_2d = image_model.encode_to_labels(clip[:, :, :1])
        for a, b in zip(labels_3d, labels_2d):
            assert torch.equal(a[:, :1], b)  # frame 0: the same tokens
        first = model.decode_from_labels([lab[:, :1] for lab in labels_3d])
        torch.testing.assert_close(first, image_model.decode_from_labels(labels_2d))


def test_random_inflation_fills_the_past_slices_randomly(tmp_path):
    image_model, path = image_checkpoint(tmp_path)
    model = video_model(inflate_from=path, inflate_init='random')
    w3 = model.tokenizer.encoder.conv_in.conv.weight
    w2 = image_model.tokenizer.encoder.conv_in.conv.weight
    assert torch.equal(w3[:, :, -1], w2)
    past = w3[:, :, :-1]
    bound = 1 / (w3[0].numel() ** 0.5)  # Kaiming-uniform(a = sqrt 5) over the 3D fan-in
    assert past.abs().max() <= bound and past.std() > bound / 3
    clip = torch.rand(1, 3, 1, 8, 8) * 2 - 1
    with torch.no_grad():  # replicate padding feeds frame 0 into the random slices too
        differs = model.encode_latent(clip)[:, :, 0] - image_model.encode_latent(clip)[:, :, 0]
    assert differs.abs().max() > 1e-3


def test_a_checkpoint_of_another_layout_is_a_config_error(tmp_path):
    _, path = image_checkpoint(tmp_path)
    with pytest.raises(ConfigError, match='inflate_from'):
        VideoTokenizer(
            tokenizer=dict(type='CausalVideoTokenizer', **{**ARCH, 'base_channels': 16}),
            quantizer=QUANTIZER,
            inflate_from=path,
        )
    with pytest.raises(ConfigError, match='inflate_init'):
        video_model(inflate_from=path, inflate_init='repeat')
    with pytest.raises(ConfigError, match='ImageTokenizer2D|inflates'):
        VideoTokenizer(
            tokenizer=dict(type='ImageTokenizer2D', **ARCH), quantizer=QUANTIZER, inflate_from=path
        )


def test_the_pre_flight_meta_build_accepts_an_inflation_checkpoint(tmp_path):
    """tools/train.py builds the model on the meta device before the Runner (config errors
    first); loading the image tokenizer's quantizer there must not need tensor data."""
    from videoar.engine import launch

    _, path = image_checkpoint(tmp_path)
    model_cfg = dict(
        type='VideoTokenizer',
        tokenizer=dict(type='CausalVideoTokenizer', **ARCH),
        quantizer=QUANTIZER,
        inflate_from=path,
    )
    launch.preflight_model(dict(model=model_cfg, default_scope='videoar'))
    with pytest.raises(ConfigError, match='does not fit'):  # a real mismatch is still caught
        launch.preflight_model(
            dict(model=dict(model_cfg, tokenizer=dict(model_cfg['tokenizer'], base_channels=4)))
        )
