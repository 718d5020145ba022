"""The 2D path of temporal-kernel-1 causal convolutions equals the 3D convolution."""

import torch
import torch.nn.functional as F

from videoar.models.tokenizers.layers import CausalConv3d, FrameGroupNorm, use_per_frame_convs


def test_temporal_kernel_1_conv_equals_conv3d_and_chains_with_frame_norm():
    torch.manual_seed(0)
    conv = CausalConv3d(6, 8, kernel_size=3, temporal_kernel_size=1, spatial_stride=2)
    assert use_per_frame_convs(conv) == 1 and conv.per_frame_2d
    x = torch.randn(2, 6, 5, 8, 8)
    reference = F.conv3d(x, conv.conv.weight, conv.conv.bias, conv.conv.stride, conv.conv.padding)
    out = conv(x)
    assert not out.is_contiguous()  # the 2D path ran: a view of frame-major memory
    assert out.shape == reference.shape == (2, 8, 5, 4, 4)
    torch.testing.assert_close(out, reference, rtol=1e-5, atol=1e-5)
    # the frame-major view feeds the next per-frame modules unchanged
    norm = FrameGroupNorm(2, 8)
    torch.testing.assert_close(norm(out), norm(reference.contiguous()), rtol=1e-5, atol=1e-5)
    # chunked (streaming) calls give the one-pass result
    cache = {}
    chunks = [conv(x[:, :, :1], cache), conv(x[:, :, 1:], cache)]
    torch.testing.assert_close(torch.cat(chunks, dim=2), reference, rtol=1e-5, atol=1e-5)


def test_temporal_kernel_1_conv_backward_matches_conv3d():
    torch.manual_seed(0)
    conv = CausalConv3d(4, 4, kernel_size=3, temporal_kernel_size=1)
    conv.per_frame_2d = True
    x = torch.randn(1, 4, 3, 6, 6, requires_grad=True)
    conv(x).square().sum().backward()
    grad_2d, weight_grad_2d = x.grad.clone(), conv.conv.weight.grad.clone()
    x.grad = None
    conv.conv.weight.grad = None
    F.conv3d(x, conv.conv.weight, conv.conv.bias, 1, conv.conv.padding).square().sum().backward()
    torch.testing.assert_close(grad_2d, x.grad, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(weight_grad_2d, conv.conv.weight.grad, rtol=1e-4, atol=1e-5)
