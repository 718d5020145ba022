"""MultiScaleVQ: exact nearest-code lookup, Phi sharing, cosine lookup, dead-code restarts."""

import pytest
import torch

from videoar.models.quantizers import MultiScaleVQ
from videoar.registry import QUANTIZERS
from videoar.utils import ConfigError


def test_builds_from_the_registry_with_index_labels():
    q = QUANTIZERS.build(
        dict(type='MultiScaleVQ', embed_dim=4, scale_sizes=[1, 2], codebook_size=32)
    )
    assert q.label_kind == 'index' and q.label_shape == () and q.label_space_size == 32
    assert q.logits_per_token == 32


def test_lookup_is_the_euclidean_nearest_code():
    torch.manual_seed(0)
    q = MultiScaleVQ(4, [2, 3], codebook_size=50).eval()
    residual = torch.randn(3, 4, 3, 3)
    codes, labels, _ = q.quantize_scale(residual, 1)
    tokens = residual.permute(0, 2, 3, 1).reshape(-1, 4)
    expected = torch.cdist(tokens, q.codebook.weight.detach()).argmin(1)
    assert torch.equal(labels.reshape(-1), expected)
    torch.testing.assert_close(
        codes.permute(0, 2, 3, 1).reshape(-1, 4), q.codebook.weight[expected]
    )


def test_cosine_lookup_ignores_the_token_norm():
    torch.manual_seed(0)
    q = MultiScaleVQ(4, [2], codebook_size=40, cosine=True).eval()
    residual = torch.randn(2, 4, 2, 2)
    _, a, _ = q.quantize_scale(residual, 0)
    _, b, _ = q.quantize_scale(residual * torch.rand(2, 1, 2, 2) * 10 + 0, 0)
    assert torch.equal(a, b)


def test_phi_partitions_are_shared_over_scales_like_var():
    q = MultiScaleVQ(4, [1, 2, 3, 4, 5, 6, 8, 10, 13, 16], phi_partitions=4)
    idx = [q.phi_index(k) for k in range(q.num_scales)]
    assert idx[0] == 0 and idx[-1] == 3 and idx == sorted(idx) and set(idx) == {0, 1, 2, 3}
    assert MultiScaleVQ(4, [1, 2], phi_partitions=0).phi_index(1) is None
    # Phi is part of the contribution: changing its conv changes codes_to_residual
    q2 = MultiScaleVQ(4, [1, 2], phi_partitions=1, phi_ratio=0.5).eval()
    codes = torch.randn(1, 4, 1, 1)
    before = q2.codes_to_residual(codes, 0)
    with torch.no_grad():
        q2.phis[0].conv.bias.add_(1.0)
    torch.testing.assert_close(q2.codes_to_residual(codes, 0), before + 0.5)


def test_codebook_and_phi_get_gradients_from_the_codebook_loss():
    q = MultiScaleVQ(4, [1, 2], codebook_size=16).train()
    out = q(torch.randn(3, 4, 2, 2))
    out.losses['loss_codebook'].backward()
    assert q.codebook.weight.grad.abs().sum() > 0
    assert q.phis[0].conv.weight.grad.abs().sum() > 0


def test_dead_codes_are_restarted_from_residuals():
    torch.manual_seed(0)
    q = MultiScaleVQ(4, [2], codebook_size=8, dead_code_threshold=0.5, usage_decay=0.5)
    with torch.no_grad():
        q.codebook.weight[1:] = 100.0  # only code 0 is ever chosen for small inputs
    x = 0.1 * torch.randn(4, 4, 2, 2)
    q.train()
    assert q(x).stats['usage/codes_s0'] == 1 / 8  # collapsed: one code of eight
    for _ in range(2):  # usage EMA 1 -> 0.5 -> 0.25 < threshold: restarted
        q(x)
    tokens = x.permute(0, 2, 3, 1).reshape(-1, 4)
    restarted = q.codebook.weight.detach()[1:]
    # every dead code now sits on one of the batch's tokens
    assert torch.cdist(restarted, tokens).min(dim=1).values.max() < 1e-6
    q.eval()
    assert q(x).stats['usage/codes_s0'] > 0.2
    # without the option the codebook does not move in a forward pass
    q0 = MultiScaleVQ(4, [2], codebook_size=8).train()
    w = q0.codebook.weight.detach().clone()
    q0(x)
    assert torch.equal(w, q0.codebook.weight)


def test_bad_arguments_raise_config_errors():
    with pytest.raises(ConfigError, match='phi_kernel_size'):
        MultiScaleVQ(4, [1, 2], phi_kernel_size=2)
    with pytest.raises(ConfigError, match='codebook_size'):
        MultiScaleVQ(4, [1, 2], codebook_size=0)
    with pytest.raises(ConfigError, match='non-decreasing'):
        MultiScaleVQ(4, [2, 1])
