"""The contract every class registered in TOKENIZERS fulfils (a plugin is tested for free).

A tokenizer is built with only ``latent_dim``, ``spatial_stride`` and ``temporal_stride``.
"""

import pytest
import torch

import videoar.models.tokenizers  # noqa: F401  (registers the built-in tokenizers)
from videoar.registry import TOKENIZERS
from videoar.utils import ConfigError

NAMES = sorted(n for n in TOKENIZERS.module_dict if not n.startswith('_'))


def build(name):
    torch.manual_seed(0)
    tok = TOKENIZERS.build(dict(type=name, latent_dim=4, spatial_stride=4, temporal_stride=2))
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():  # dense random weights: no zero-initialised branch hides a leak
        for p in tok.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.2)
    return tok.eval()


def test_the_builtin_tokenizers_are_registered():
    assert {'CausalVideoTokenizer', 'ImageTokenizer2D'} <= set(NAMES)


@pytest.mark.parametrize('name', NAMES)
def test_encode_decode_shapes_follow_latent_shape(name):
    tok = build(name)
    assert tok.latent_dim == 4 and tok.spatial_stride == 4
    frames = 1 + 2 * tok.temporal_stride
    video = torch.rand(2, 3, frames, 8, 12) * 2 - 1
    with torch.no_grad():
        latent = tok.encode(video)
        assert tuple(latent.shape) == (2, 4, *tok.latent_shape(frames, 8, 12))
        assert tuple(tok.decode(latent).shape) == tuple(video.shape)
        torch.testing.assert_close(tok.encode(video), latent)  # deterministic in eval
    with pytest.raises(ConfigError):
        tok.latent_shape(frames, 10, 12)


@pytest.mark.parametrize('name', NAMES)
def test_the_first_latent_frame_sees_only_the_first_frame(name):
    tok = build(name)
    frames = 1 + 2 * tok.temporal_stride
    video = torch.rand(1, 3, frames, 8, 8) * 2 - 1
    changed = video.clone()
    changed[:, :, 1:] = torch.rand_like(changed[:, :, 1:])
    with torch.no_grad():
        a, b = tok.encode(video), tok.encode(changed)
    assert torch.equal(a[:, :, 0], b[:, :, 0])
    assert not torch.allclose(a[:, :, -1], b[:, :, -1])
