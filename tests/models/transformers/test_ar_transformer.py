"""ARTransformer: KV-cached forwards equal full forwards, causality, AdaLN init, checkpointing."""

import pytest
import torch

from videoar.models.transformers import ARTransformer, KVCache, RMSNorm, ffn_hidden_dim
from videoar.registry import MODELS
from videoar.utils import ConfigError

DIM, HEADS, DEPTH = 32, 4, 2


def _rotary(length, head_dim, seed=0):
    gen = torch.Generator().manual_seed(seed)
    theta = torch.rand(length, head_dim // 2, generator=gen) * 6.0
    theta = torch.cat([theta, theta], dim=-1)
    return theta.cos(), theta.sin()


def _block_causal(blocks):
    """(1, L, L) mask from a per-token block id: a token sees blocks <= its own."""
    blocks = torch.as_tensor(blocks)
    return (blocks[None, :] <= blocks[:, None]).unsqueeze(0)


def _randomise_modulation(model, seed=1):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if 'modulation' in name:
                param.copy_(torch.randn(param.shape, generator=gen) * 0.2)


@pytest.mark.parametrize(
    'cond_mode,adaln_mode,qk_norm',
    [('prefix', 'shared', False), ('prefix', 'shared', True), ('adaln', 'shared', False),
     ('adaln', 'block', True)],
)  # fmt: skip
def test_kv_cached_blocks_equal_full_forward(cond_mode, adaln_mode, qk_norm):
    torch.manual_seed(0)
    model = ARTransformer(DIM, DEPTH, HEADS, cond_mode=cond_mode, adaln_mode=adaln_mode,
                          qk_norm=qk_norm).eval()  # fmt: skip
    _randomise_modulation(model)
    blocks = [0, 1, 1, 2, 2, 2, 2, 3, 4, 4]  # a prefix token, then blocks of growing size
    length = len(blocks)
    x = torch.randn(2, length, DIM)
    cond = torch.randn(2, DIM)
    cos, sin = _rotary(length, model.head_dim)
    mask = _block_causal(blocks)
    with torch.no_grad():
        full = model(x, mask, (cos, sin), cond)
        cache = KVCache(DEPTH, 2, HEADS, length + 3, model.head_dim)
        pieces, start = [], 0
        for block in sorted(set(blocks)):
            end = start + blocks.count(block)
            out = model(x[:, start:end], mask[:, start:end, :end], (cos[start:end], sin[start:end]),
                        cond, cache)  # fmt: skip
            pieces.append(out)
            start = end
    assert cache.length == length
    torch.testing.assert_close(torch.cat(pieces, 1), full, atol=1e-5, rtol=1e-5)


def test_causal_mask_blocks_future_influence_and_full_mask_does_not():
    torch.manual_seed(0)
    model = ARTransformer(DIM, DEPTH, HEADS).eval()
    blocks = [0, 1, 1, 2, 2, 3]
    x = torch.randn(1, 6, DIM)
    changed = x.clone()
    changed[:, 3:] += torch.randn(1, 3, DIM)  # tokens of blocks 2 and 3
    mask = _block_causal(blocks)
    with torch.no_grad():
        before, after = model(x, mask), model(changed, mask)
        free_before, free_after = model(x, None), model(changed, None)
    torch.testing.assert_close(before[:, :3], after[:, :3])
    assert not torch.allclose(before[:, 3:], after[:, 3:])
    # without a mask the earlier tokens do see the change (the probe is sensitive)
    assert not torch.allclose(free_before[:, :3], free_after[:, :3])


def test_adaln_blocks_start_as_identity_and_condition_matters_after_training():
    torch.manual_seed(0)
    model = ARTransformer(DIM, DEPTH, HEADS, cond_mode='adaln').eval()
    x = torch.randn(2, 5, DIM)
    cond = torch.randn(2, DIM)
    with torch.no_grad():
        out = model(x, None, None, cond)
        plain = RMSNorm(DIM, elementwise_affine=False)(x)
    torch.testing.assert_close(out, plain)  # zero gates: every block is the identity
    _randomise_modulation(model)
    with torch.no_grad():
        a = model(x, None, None, cond)
        b = model(x, None, None, torch.randn(2, DIM))
    assert not torch.allclose(a, b)
    with pytest.raises(ValueError, match='needs cond'):
        model(x)


def test_prefix_mode_ignores_cond_and_has_no_modulation():
    model = ARTransformer(DIM, DEPTH, HEADS, cond_mode='prefix').eval()
    assert not any('modulation' in n for n, _ in model.named_parameters())
    x = torch.randn(1, 4, DIM)
    with torch.no_grad():
        torch.testing.assert_close(model(x, cond=torch.randn(1, DIM)), model(x))


def test_gradient_checkpointing_gives_identical_gradients():
    torch.manual_seed(0)
    plain = ARTransformer(DIM, DEPTH, HEADS, cond_mode='adaln')
    ckpt = ARTransformer(DIM, DEPTH, HEADS, cond_mode='adaln', grad_checkpointing=True)
    ckpt.load_state_dict(plain.state_dict())
    _randomise_modulation(plain)
    _randomise_modulation(ckpt)
    x = torch.randn(2, 6, DIM)
    cond = torch.randn(2, DIM)
    mask = _block_causal([0, 1, 1, 2, 2, 2])
    grads = []
    for model in (plain, ckpt):
        model.train()
        model.zero_grad()
        model(x, mask, None, cond).square().mean().backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
    for name, grad in grads[0].items():
        torch.testing.assert_close(grads[1][name], grad, atol=1e-6, rtol=1e-5)


def test_init_is_explicit_and_scaled():
    torch.manual_seed(0)
    model = ARTransformer(64, 8, 4, init_std=0.02)
    qkv = model.blocks[0].attn.qkv.weight
    proj = model.blocks[0].attn.proj.weight
    assert abs(qkv.std().item() - 0.02) < 0.002
    assert abs(proj.std().item() - 0.02 / 4) < 0.0007  # 0.02 / sqrt(2 * depth)
    assert all(m.bias is None for m in model.blocks.modules() if isinstance(m, torch.nn.Linear))


def test_ffn_width_and_config_validation():
    assert ffn_hidden_dim(128) == 344  # 8/3 * 128 = 341.3 -> next multiple of 8
    assert ARTransformer(32, 1, 4).ffn_dim == 88
    assert ARTransformer(32, 1, 4, ffn_dim=48).blocks[0].ffn.w1.out_features == 48
    with pytest.raises(ConfigError, match='divisible by num_heads'):
        ARTransformer(30, 1, 4)
    with pytest.raises(ConfigError, match='must be even'):
        ARTransformer(12, 1, 4)
    with pytest.raises(ConfigError, match='cond_mode'):
        ARTransformer(32, 1, 4, cond_mode='cross')
    built = MODELS.build(dict(type='ARTransformer', dim=32, depth=1, num_heads=2))
    assert isinstance(built, ARTransformer) and built.head_dim == 16


def test_rmsnorm_computes_in_fp32_and_returns_input_dtype():
    norm = RMSNorm(16)
    x = torch.randn(3, 16) * 50
    out = norm(x.bfloat16())
    assert out.dtype == torch.bfloat16
    ref = x.bfloat16().float() / x.bfloat16().float().pow(2).mean(-1, keepdim=True).add(1e-6).sqrt()
    torch.testing.assert_close(out.float(), ref, atol=1e-2, rtol=1e-2)
    torch.testing.assert_close(out.float().pow(2).mean(-1), torch.ones(3), atol=3e-2, rtol=0)


def test_block_bias_is_added_before_every_block():
    torch.manual_seed(0)
    model = ARTransformer(DIM, 2, HEADS).eval()
    x = torch.randn(1, 3, DIM)
    bias = torch.randn(1, 3, DIM)
    with torch.no_grad():
        once = model(x + bias)
        every = model(x, block_bias=bias)
        manual = model.final_norm(model.blocks[1](model.blocks[0](x + bias) + bias))
    torch.testing.assert_close(every, manual)
    assert not torch.allclose(once, every)
