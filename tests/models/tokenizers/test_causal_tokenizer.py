"""CausalVideoTokenizer: causality, chunked = one pass, 2D inflation, shape validation."""

import pytest
import torch

from videoar.models.tokenizers import CausalVideoTokenizer, ImageTokenizer2D
from videoar.models.tokenizers.layers import CausalConv3d
from videoar.registry import TOKENIZERS
from videoar.utils import ConfigError

SMALL = dict(latent_dim=4, spatial_stride=4, base_channels=8, channel_mult=(1, 1))


def randomize(module, seed=0, std=0.2):
    """Non-zero random weights everywhere (the default init zeroes the past time slices and the
    residual branches, which would make a causality probe pass trivially)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * std)
    return module.eval()


def video(frames, size=8, seed=1, batch=2):
    return torch.randn(batch, 3, frames, size, size, generator=torch.Generator().manual_seed(seed))


def test_builds_from_the_registry_and_reports_its_strides():
    tok = TOKENIZERS.build(dict(type='CausalVideoTokenizer', temporal_stride=2, **SMALL))
    assert (tok.latent_dim, tok.temporal_stride, tok.spatial_stride) == (4, 2, 4)
    assert tok.latent_shape(9, 16, 8) == (5, 4, 2)
    z = tok.encode(video(9, 16))
    assert tuple(z.shape) == (2, 4, 5, 4, 4)
    assert tuple(tok.decode(z).shape) == (2, 3, 9, 16, 16)


@pytest.mark.parametrize('tau', [1, 4])
@pytest.mark.parametrize('pad_mode', ['replicate', 'zeros'])
def test_encoder_causality_probe(tau, pad_mode):
    tok = randomize(CausalVideoTokenizer(temporal_stride=tau, pad_mode=pad_mode, **SMALL))
    frames = 1 + 2 * 4  # 9 frames: 9 latent frames for tau=1, 3 for tau=4
    x = video(frames)
    with torch.no_grad():
        z = tok.encode(x)
        for j in range(frames - 1):
            x2 = x.clone()
            x2[:, :, j + 1 :] = torch.randn_like(x2[:, :, j + 1 :])  # change frames > j
            z2 = tok.encode(x2)
            for i in range(z.shape[2]):
                if tau * i <= j:  # latent frame i only sees pixel frames <= tau * i
                    assert torch.equal(z[:, :, i], z2[:, :, i]), (j, i)
                else:
                    assert not torch.allclose(z[:, :, i], z2[:, :, i]), (j, i)


@pytest.mark.parametrize('tau', [1, 4])
def test_decoder_causality_probe(tau):
    tok = randomize(CausalVideoTokenizer(temporal_stride=tau, **SMALL))
    z = torch.randn(2, 4, 3, 2, 2)
    with torch.no_grad():
        out = tok.decode(z)
        for m in range(1, 3):
            z2 = z.clone()
            z2[:, :, m:] += 1.0  # change latent frames >= m
            out2 = tok.decode(z2)
            first_changed = 1 + tau * (m - 1)  # pixel frame f needs latent frames <= ceil(f / tau)
            assert torch.equal(out[:, :, :first_changed], out2[:, :, :first_changed])
            assert not torch.allclose(out[:, :, first_changed:], out2[:, :, first_changed:])


def test_temporal_downsampling_uses_every_frame_of_its_group():
    tok = randomize(CausalVideoTokenizer(temporal_stride=4, **SMALL))
    x = video(9)
    with torch.no_grad():
        z = tok.encode(x)
        for f in range(1, 5):  # frames 1..4 form latent frame 1
            x2 = x.clone()
            x2[:, :, f] += 1.0
            assert not torch.allclose(tok.encode(x2)[:, :, 1], z[:, :, 1]), f


@pytest.mark.parametrize('tau', [2, 4])
@pytest.mark.parametrize('chunk', [1, 2])
def test_chunked_encode_and_decode_equal_one_pass(tau, chunk):
    tok = randomize(CausalVideoTokenizer(temporal_stride=tau, **SMALL))
    x = video(1 + 3 * tau)
    with torch.no_grad():
        z = tok.encode(x)
        torch.testing.assert_close(tok.encode_chunked(x, chunk), z, rtol=1e-5, atol=1e-5)
        out = tok.decode(z)
        torch.testing.assert_close(tok.decode_chunked(z, chunk), out, rtol=1e-5, atol=1e-5)
        # a hand-made stream with uneven chunks (1 + tau, then 2 tau frames) carries the cache
        cache = tok.init_cache()
        parts = [tok.encode(x[:, :, : 1 + tau], cache), tok.encode(x[:, :, 1 + tau :], cache)]
        torch.testing.assert_close(torch.cat(parts, 2), z, rtol=1e-5, atol=1e-5)
        with pytest.raises(ConfigError, match='multiple of temporal_stride'):
            tok.encode(x[:, :, :1], cache)


def test_inflation_reproduces_the_2d_tokenizer_on_single_frames():
    cfg = dict(temporal_stride=4, **SMALL)
    tok2d = randomize(ImageTokenizer2D(**cfg), seed=3)
    tok3d = randomize(CausalVideoTokenizer(**cfg), seed=4)  # overwritten by the inflation
    tok3d.inflate_from_2d(tok2d.state_dict())
    # the 2D kernel sits in the last time slice, the rest is zero
    w3, w2 = tok3d.encoder.conv_in.conv.weight, tok2d.encoder.conv_in.conv.weight
    assert torch.equal(w3[:, :, -1], w2) and not w3[:, :, :-1].any()
    image = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        z2 = tok2d.encode(image)
        z3 = tok3d.encode(image[:, :, None])
        torch.testing.assert_close(z3[:, :, 0], z2, rtol=1e-5, atol=1e-5)
        rec2 = tok2d.decode(z2)
        rec3 = tok3d.decode(z2[:, :, None])
        assert rec3.shape[2] == 1
        torch.testing.assert_close(rec3[:, :, 0], rec2, rtol=1e-5, atol=1e-5)
    # the classmethod builds the same inflated model from the 2D one
    again = CausalVideoTokenizer.from_2d(tok2d).eval()
    with torch.no_grad():
        torch.testing.assert_close(again.encode(image[:, :, None])[:, :, 0], z2)
    # a 2D model of another layout does not inflate silently
    with pytest.raises(KeyError, match='layouts differ'):
        tok3d.inflate_from_2d(ImageTokenizer2D(**{**cfg, 'num_res_blocks': 2}).state_dict())


def test_inflated_tau1_model_is_a_per_frame_model_on_videos():
    cfg = dict(temporal_stride=1, **SMALL)
    tok2d = randomize(ImageTokenizer2D(**cfg), seed=5)
    tok3d = CausalVideoTokenizer.from_2d(tok2d).eval()
    x = video(3)
    with torch.no_grad():
        torch.testing.assert_close(tok3d.encode(x), tok2d.encode(x), rtol=1e-5, atol=1e-5)


def test_impossible_shapes_and_arguments_raise_config_errors():
    tok = CausalVideoTokenizer(temporal_stride=4, **SMALL)
    with pytest.raises(ConfigError, match='1 \\+ 4\\*k'):
        tok.latent_shape(16, 8, 8)
    with pytest.raises(ConfigError, match='spatial_stride'):
        tok.latent_shape(17, 10, 8)
    with pytest.raises(ConfigError, match='1 \\+ 4\\*k'):
        tok.encode(video(6))
    with pytest.raises(ConfigError, match='channel_mult'):
        CausalVideoTokenizer(latent_dim=4, spatial_stride=8, channel_mult=(1, 2))
    with pytest.raises(ConfigError, match='temporal_stride'):
        CausalVideoTokenizer(temporal_stride=3, **SMALL)
    with pytest.raises(ConfigError, match='spatial_stride'):
        CausalVideoTokenizer(latent_dim=4, spatial_stride=2, channel_mult=(1,))
    with pytest.raises(ConfigError, match='temporal_stages'):
        CausalVideoTokenizer(temporal_stride=2, temporal_stages=(5,), **SMALL)


@pytest.mark.parametrize('stride', [1, 2])
def test_a_causal_conv_streams_any_split_of_frames(stride):
    conv = randomize(CausalConv3d(3, 5, 3, temporal_stride=stride, spatial_stride=2))
    x = torch.randn(1, 3, 7, 8, 8)
    with torch.no_grad():
        full = conv(x)
        assert full.shape[2] == (7 - 1) // stride + 1
        for splits in ([1, 1, 5], [2, 3, 2], [1, 6]):
            cache = {}
            parts = [conv(chunk, cache) for chunk in x.split(splits, dim=2)]
            torch.testing.assert_close(torch.cat(parts, dim=2), full)
