"""MultiScaleVQ against VAR: the Phi tick rule and the VAR-parity preset's indices, reconstructions
and next-scale inputs (configs/_base_/models/vq_var_parity.py)."""

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmengine import Config

from videoar.models.quantizers import MultiScaleVQ
from videoar.models.quantizers.vq import phi_schedule
from videoar.models.sequence import build_teacher_forcing
from videoar.registry import QUANTIZERS

PRESET = Path(__file__).parents[3] / 'configs/_base_/models/vq_var_parity.py'


# worked out by hand from VAR's rule: ticks linspace(1/(3P), 1-1/(3P), P) if P == 4 else
# linspace(1/(2P), 1-1/(2P), P); scale k takes the nearest tick to k / (K - 1), first on ties
@pytest.mark.parametrize(
    'num_phis, num_scales, expected',
    [
        (4, 10, [0, 0, 1, 1, 1, 2, 2, 3, 3, 3]),  # VAR's own schedule (1..16, 10 scales)
        (3, 4, [0, 0, 1, 2]),
        (4, 4, [0, 1, 2, 3]),
        (4, 6, [0, 0, 1, 2, 3, 3]),
        (2, 5, [0, 0, 0, 1, 1]),  # k = 2 sits exactly between the ticks 0.25 and 0.75
        (3, 10, [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]),
        (4, 13, [0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3]),
        (5, 7, [0, 0, 1, 2, 3, 4, 4]),
        (6, 6, [0, 1, 2, 3, 4, 5]),  # one conv per scale (VAR's PhiNonShared)
        (1, 4, [0, 0, 0, 0]),  # one shared conv (VAR's PhiShared)
        (0, 3, []),
    ],
)
def test_phi_schedule_equals_var(num_phis, num_scales, expected):
    assert phi_schedule(num_phis, num_scales) == expected
    if num_phis:
        q = MultiScaleVQ(2, list(range(1, num_scales + 1)), phi_partitions=num_phis)
        assert [q.phi_index(k) for k in range(num_scales)] == expected


def test_single_scale_uses_the_first_phi():
    assert phi_schedule(4, 1) == [0]


def build_preset(**overrides):
    cfg = Config.fromfile(str(PRESET))
    params = dict(cfg.var_parity_quantizer)
    params.pop('_delete_')
    params.update(overrides)
    return QUANTIZERS.build(params).eval()


def var_reference(quantizer, latent):
    """VAR's residual loop (``f_to_idxBl_or_fhat``) and teacher-forcing inputs
    (``idxBl_to_var_input``), written from its formulas: area down, bicubic up, no resize at the
    last scale, Phi tick rule, Euclidean argmin; inputs = area(running sum, next scale)."""
    batch, dim, height, width = latent.shape
    sizes = quantizer.scale_sizes
    num = len(sizes)
    weight = quantizer.codebook.weight.detach()
    f_rest, f_hat = latent.clone(), torch.zeros_like(latent)
    indices, inputs = [], []
    for si, (ph, pw) in enumerate(sizes):
        last = si == num - 1
        z = f_rest if last else F.interpolate(f_rest, size=(ph, pw), mode='area')
        z = z.permute(0, 2, 3, 1).reshape(-1, dim)
        dist = (z * z).sum(1, keepdim=True) + (weight * weight).sum(1) - 2 * z @ weight.T
        idx = dist.argmin(1)
        h = weight[idx].view(batch, ph, pw, dim).permute(0, 3, 1, 2)
        if not last:
            h = F.interpolate(h, size=(height, width), mode='bicubic')
        h = quantizer.phis[phi_schedule(4, num)[si]](h)
        f_hat = f_hat + h
        f_rest = f_rest - h
        indices.append(idx.view(batch, ph, pw))
        if not last:
            inputs.append(F.interpolate(f_hat, size=sizes[si + 1], mode='area'))
    return indices, f_hat, inputs


def test_preset_reproduces_var_indices_reconstruction_and_inputs():
    torch.manual_seed(0)
    q = build_preset(embed_dim=4, scale_sizes=[1, 2, 3, 5, 6], codebook_size=24)
    assert (q.up_mode, q.down_mode, q.input_down_mode) == ('bicubic', 'area', 'area')
    with torch.no_grad():
        for phi in q.phis:
            phi.conv.weight.normal_(std=0.2)
            phi.conv.bias.normal_(std=0.1)
    latent = torch.randn(3, 4, 6, 6)
    ref_idx, ref_hat, ref_inputs = var_reference(q, latent)
    with torch.no_grad():
        out = q(latent)
    for k in range(q.num_scales):
        assert torch.equal(out.labels[k], ref_idx[k]), f'scale {k}'
    torch.testing.assert_close(out.quantized, ref_hat, rtol=0, atol=1e-5)
    # the AR inputs of one latent frame: scale k > 0 = area(running sum after scale k - 1)
    pyramid = build_teacher_forcing(latent[:, :, None], q)
    offsets = pyramid.layout.scale_offsets
    for k in range(1, q.num_scales):
        tokens = pyramid.inputs[:, offsets[k] : offsets[k + 1]]
        expected = ref_inputs[k - 1].flatten(2).transpose(1, 2)
        torch.testing.assert_close(tokens, expected, rtol=0, atol=1e-5)
