"""Benchmarks of the kernels: bf16 vs fp32 matrix products and attention on this machine."""

import statistics

import torch
import torch.nn.functional as F

from .timing import time_call


def matmul_bf16_vs_fp32(quick: bool) -> dict:
    """GFLOP/s of square matmuls in fp32 and bf16; the peak of each dtype is the best over the
    sizes (1024, 2048 and 4096; 512 with ``quick``): small matrices leave the bf16 units idle,
    so one size under-states the bf16 peak."""
    sizes = (512,) if quick else (1024, 2048, 4096)
    out = {'sizes': list(sizes)}
    for dtype in (torch.float32, torch.bfloat16):
        name = str(dtype).split('.')[-1]
        for n in sizes:
            gen = torch.Generator().manual_seed(n)
            x, y = (torch.randn(n, n, generator=gen).to(dtype) for _ in range(2))
            repeat = 3 if quick or n >= 4096 else 10
            t = time_call(lambda x=x, y=y: x @ y, repeat=repeat)
            out[f'{name}_gflops_{n}'] = round(2 * n**3 / t['min_s'] / 1e9, 1)
        out[f'{name}_gflops'] = max(out[f'{name}_gflops_{n}'] for n in sizes)
    out['bf16_speedup'] = round(out['bfloat16_gflops'] / out['float32_gflops'], 2)
    return out


def attention_precision(quick: bool) -> dict:
    """Forward + backward of SDPA at the main job's stage-3 shape (batch 16, 6 heads of 32,
    151 tokens, block-causal mask) inside bf16 autocast: the bf16 kernel vs fp32 attention
    (what ``Attention(precision='auto')`` does on CPU), timed in interleaved pairs."""
    batch, heads, length, head_dim = (4 if quick else 16), 6, 151, 32
    block = torch.arange(length) // 8
    mask = (block[None, :] <= block[:, None])[None, None]
    q, k, v = (torch.randn(batch, heads, length, head_dim) for _ in range(3))

    def run(upcast: bool):
        leaves = [t.bfloat16().requires_grad_() for t in (q, k, v)]
        with torch.autocast('cpu', dtype=torch.bfloat16):
            if upcast:
                with torch.autocast('cpu', enabled=False):
                    out = F.scaled_dot_product_attention(*(t.float() for t in leaves), mask)
            else:
                out = F.scaled_dot_product_attention(*leaves, attn_mask=mask)
        out.float().sum().backward()

    times = {True: [], False: []}
    for _ in range(3 if quick else 7):
        for upcast in (False, True):
            times[upcast].append(time_call(lambda u=upcast: run(u), repeat=1)['min_s'])
    bf16, fp32 = statistics.median(times[False]), statistics.median(times[True])
    return {
        'bf16_kernel_ms': 1000 * bf16,
        'fp32_in_autocast_ms': 1000 * fp32,
        'fp32_over_bf16_time_ratio': round(fp32 / bf16, 3),
    }


BENCHMARKS = {
    'matmul_bf16_vs_fp32': matmul_bf16_vs_fp32,
    'attention_precision': attention_precision,
}
