"""input_down_mode: the AR inputs are resized with it (bilinear by default, the paper's Eq. 2 / 6),
the labels are not; teacher forcing and rebuilding inputs from labels (the sampler's walk) agree."""

import pytest
import torch
import torch.nn.functional as F

from videoar.models.quantizers import MultiScaleBSQ, MultiScaleVQ
from videoar.models.sequence import build_teacher_forcing, inputs_from_labels
from videoar.utils import ConfigError

SCALES = [1, 2, 3, 5]


def pair(kind):
    """Two quantizers with equal weights, AR inputs shrunk with 'area' and with the default."""
    built = []
    for mode in ('area', None):
        torch.manual_seed(0)
        extra = {} if mode is None else {'input_down_mode': mode}
        if kind == 'bsq':
            built.append(MultiScaleBSQ(6, SCALES, **extra).eval())
        else:
            built.append(MultiScaleVQ(6, SCALES, codebook_size=32, **extra).eval())
    return built


@pytest.mark.parametrize('kind', ['bsq', 'vq'])
def test_input_mode_changes_inputs_not_labels(kind):
    area, default = pair(kind)
    assert default.input_down_mode == 'bilinear' and default.down_mode == 'area'
    latent = torch.randn(2, 6, 3, 5, 5)
    with_area = build_teacher_forcing(latent, area)
    with_bilinear = build_teacher_forcing(latent, default)
    assert torch.equal(with_area.labels, with_bilinear.labels)
    torch.testing.assert_close(with_area.reconstructed, with_bilinear.reconstructed)
    assert not torch.allclose(with_area.inputs, with_bilinear.inputs)
    # every input block: bilinear (align_corners=False) of the running sum / previous frame
    layout = with_bilinear.layout
    sums = with_bilinear.reconstructed  # (B, d, T', h, w) final sums
    for t in range(layout.num_frames):
        cum = torch.zeros(2, 6, 5, 5)
        frame = latent[:, :, t]
        for k, size in enumerate(SCALES):
            block = with_bilinear.inputs[:, layout.video_block_slice(t, k)]
            if k == 0:
                source = sums[:, :, t - 1] if t > 0 else torch.zeros(2, 6, 5, 5)
            else:
                source = cum
            expected = F.interpolate(
                source, size=(size, size), mode='bilinear', align_corners=False
            )
            if size == 5:
                expected = source
            torch.testing.assert_close(block, expected.flatten(2).transpose(1, 2))
            codes, _, _ = default.quantize_residual(frame - cum, k)
            cum = cum + default.codes_to_residual(codes, k)


@pytest.mark.parametrize('kind', ['bsq', 'vq'])
@pytest.mark.parametrize('which', [0, 1])
def test_rebuilt_inputs_follow_the_same_mode(kind, which):
    quantizer = pair(kind)[which]
    latent = torch.randn(2, 6, 3, 5, 5)
    forced = build_teacher_forcing(latent, quantizer)
    inputs, sums = inputs_from_labels(quantizer, forced.labels, 3)
    torch.testing.assert_close(inputs, forced.inputs)
    torch.testing.assert_close(sums, forced.reconstructed)


def test_unknown_input_mode_is_a_config_error():
    with pytest.raises(ConfigError, match='input_down_mode'):
        MultiScaleBSQ(6, SCALES, input_down_mode='lanczos')
