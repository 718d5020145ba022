"""Equality of the faster paths of the transformer with the reference ones: fp32 attention inside
bf16 autocast, FlexAttention vs SDPA, no mask vs an all-True mask, fused RMSNorm and the
compute-dtype RoPE vs their reference formulas, compiled vs eager blocks."""

import shutil

import pytest
import torch
import torch.nn.functional as F

from videoar.models.pos_encodings import apply_rotary, apply_rotary_tables, rotary_tables
from videoar.models.transformers import ARTransformer, KVCache, RMSNorm
from videoar.models.transformers.attention import Attention, needs_upcast
from videoar.utils import ConfigError

DIM, HEADS, DEPTH = 32, 4, 2
BLOCKS = [0, 1, 1, 2, 2, 2, 2, 3, 4, 4]


def _rotary(length, head_dim, seed=0):
    gen = torch.Generator().manual_seed(seed)
    theta = torch.rand(length, head_dim // 2, generator=gen) * 6.0
    theta = torch.cat([theta, theta], dim=-1)
    return theta.cos(), theta.sin()


def _block_causal(blocks):
    blocks = torch.as_tensor(blocks)
    return (blocks[None, :] <= blocks[:, None]).unsqueeze(0)


def _model(**kwargs):
    torch.manual_seed(0)
    return ARTransformer(DIM, DEPTH, HEADS, qk_norm=True, **kwargs).eval()


def test_rms_norm_equals_reference_formula():
    norm = RMSNorm(16, eps=1e-5)
    with torch.no_grad():
        norm.weight.copy_(torch.rand(16) + 0.5)
    x = torch.randn(3, 7, 16)
    reference = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * norm.weight
    torch.testing.assert_close(norm(x), reference, rtol=1e-6, atol=1e-6)
    assert norm(x.bfloat16()).dtype == torch.bfloat16


@pytest.mark.parametrize('dtype,tol', [(torch.float32, 1e-6), (torch.bfloat16, 3e-2)])
def test_rotary_tables_equal_rotate_half_reference(dtype, tol):
    cos, sin = _rotary(9, 16)
    x = torch.randn(2, 3, 9, 16)
    reference = apply_rotary(x, cos, sin)
    tables = rotary_tables(cos, sin, dtype)
    out = apply_rotary_tables(x.to(dtype), *tables)
    assert out.dtype == dtype
    torch.testing.assert_close(out.float(), reference, rtol=tol, atol=tol)


def test_fp32_attention_inside_autocast_matches_plain_fp32():
    model = _model()
    x = torch.randn(2, len(BLOCKS), DIM)
    mask, rotary = _block_causal(BLOCKS), _rotary(len(BLOCKS), model.head_dim)
    with torch.no_grad():
        reference = model(x, mask, rotary)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            fast = model(x, mask, rotary)
    # bf16 linears (8 mantissa bits) around fp32 attention; outputs are unit-RMS
    torch.testing.assert_close(fast.float(), reference, rtol=0.05, atol=0.05)


def test_attention_upcasts_only_half_inputs_on_cpu():
    q = torch.randn(1, 2, 4, 8)
    assert not needs_upcast(q, 'auto')
    assert needs_upcast(q.bfloat16(), 'auto')
    assert needs_upcast(q.bfloat16(), 'fp32')
    assert not needs_upcast(q.bfloat16(), 'native')
    attention = Attention(precision='auto')
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = attention(q.bfloat16(), q.bfloat16(), q.bfloat16())
    expected = F.scaled_dot_product_attention(*(q.bfloat16().float(),) * 3).bfloat16()
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out, expected, rtol=0, atol=0)


def test_no_mask_equals_all_true_mask():
    model = _model()
    x = torch.randn(2, 6, DIM)
    rotary = _rotary(6, model.head_dim)
    with torch.no_grad():
        masked = model(x, torch.ones(1, 6, 6, dtype=torch.bool), rotary)
        unmasked = model(x, None, rotary)
    torch.testing.assert_close(unmasked, masked, rtol=1e-6, atol=1e-6)


@pytest.mark.filterwarnings('ignore::UserWarning')
def test_flex_backend_equals_sdpa_full_and_cached():
    sdpa = _model()
    flex = _model(attn_backend='flex', flex_compile=False)
    flex.load_state_dict(sdpa.state_dict())
    length = len(BLOCKS)
    x = torch.randn(2, length, DIM)
    mask, rotary = _block_causal(BLOCKS), _rotary(length, sdpa.head_dim)
    with torch.no_grad():
        reference = sdpa(x, mask, rotary)
        torch.testing.assert_close(flex(x, mask, rotary), reference, rtol=1e-5, atol=1e-5)
        # a prefill, then one cached query block attending over cached + new keys
        cache = KVCache(DEPTH, 2, HEADS, length, flex.head_dim)
        pieces = []
        for start, end in ((0, 7), (7, length)):
            piece_rotary = (rotary[0][start:end], rotary[1][start:end])
            pieces.append(
                flex(x[:, start:end], mask[:, start:end, :end], piece_rotary, None, cache)
            )
    torch.testing.assert_close(torch.cat(pieces, dim=1), reference, rtol=1e-5, atol=1e-5)


@pytest.mark.filterwarnings('ignore::UserWarning')
def test_flex_block_mask_is_built_once_per_mask_tensor():
    attention = Attention(backend='flex', flex_compile=False)
    mask = _block_causal(BLOCKS).unsqueeze(1)
    length = len(BLOCKS)
    first = attention.flex_masks.get(mask, length, length, 'cpu')
    assert attention.flex_masks.get(mask, length, length, 'cpu') is first
    assert attention.flex_masks.get(mask.clone(), length, length, 'cpu') is not first


def test_unknown_backend_and_precision_are_config_errors():
    with pytest.raises(ConfigError, match='attn_backend'):
        ARTransformer(DIM, 1, HEADS, attn_backend='flash')
    with pytest.raises(ConfigError, match='attn_precision'):
        ARTransformer(DIM, 1, HEADS, attn_precision='fp8')


@pytest.mark.slow
@pytest.mark.skipif(shutil.which('g++') is None, reason='torch.compile on CPU needs a compiler')
def test_compiled_blocks_equal_eager_and_keep_state_dict_keys():
    torch.manual_seed(0)
    eager = ARTransformer(DIM, 1, HEADS, qk_norm=True).eval()
    torch.manual_seed(0)
    compiled = ARTransformer(DIM, 1, HEADS, qk_norm=True, compile_blocks=True).eval()
    assert list(compiled.state_dict()) == list(eager.state_dict())
    compiled.load_state_dict(eager.state_dict())
    x = torch.randn(2, len(BLOCKS), DIM)
    mask, rotary = _block_causal(BLOCKS), _rotary(len(BLOCKS), eager.head_dim)
    with torch.no_grad():
        torch.testing.assert_close(
            compiled(x, mask, rotary), eager(x, mask, rotary), rtol=1e-5, atol=1e-5
        )


@pytest.mark.slow
@pytest.mark.skipif(shutil.which('g++') is None, reason='torch.compile on CPU needs a compiler')
def test_compiled_blocks_train_like_eager():
    """The compiled training path (forward and backward, as the main job's stage 3 runs it)
    gives the eager loss and gradients."""
    models = []
    for compile_blocks in (False, True):
        torch.manual_seed(0)
        models.append(ARTransformer(DIM, DEPTH, HEADS, qk_norm=True, compile_blocks=compile_blocks))
    x = torch.randn(2, len(BLOCKS), DIM)
    mask, rotary = _block_causal(BLOCKS), _rotary(len(BLOCKS), DIM // HEADS)
    losses = [model(x, mask, rotary).square().mean() for model in models]
    for loss in losses:
        loss.backward()
    torch.testing.assert_close(losses[1], losses[0], rtol=1e-5, atol=1e-6)
    for (name, eager), compiled in zip(models[0].named_parameters(), models[1].parameters()):
        torch.testing.assert_close(compiled.grad, eager.grad, rtol=1e-4, atol=1e-6, msg=name)


@pytest.mark.slow
def test_a_failing_compile_falls_back_to_eager_with_a_warning():
    """No working C++ compiler (simulated): the blocks run eagerly, with a warning naming it."""
    import torch._dynamo
    import torch._inductor.config

    torch._dynamo.reset()
    torch.manual_seed(0)
    eager = ARTransformer(DIM, 1, HEADS).eval()
    torch.manual_seed(0)
    compiled = ARTransformer(DIM, 1, HEADS, compile_blocks=True).eval()
    x = torch.randn(2, len(BLOCKS), DIM)
    mask, rotary = _block_causal(BLOCKS), _rotary(len(BLOCKS), eager.head_dim)
    with torch._inductor.config.patch({'cpp.cxx': ('no-such-c++',), 'force_disable_caches': True}):
        with pytest.warns(UserWarning, match='torch.compile failed.*C\\+\\+ compiler'):
            out = compiled(x, mask, rotary)
    torch._dynamo.reset()
    assert compiled._compiled is None  # eager from now on: no second attempt per step
    torch.testing.assert_close(out, eager(x, mask, rotary))
