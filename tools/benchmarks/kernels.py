"""Benchmarks of the engine: bf16 vs fp32 matrix products on this machine."""

import torch

from .timing import time_call


def matmul_bf16_vs_fp32(quick: bool) -> dict:
    n = 512 if quick else 1024
    a, b = torch.randn(n, n), torch.randn(n, n)
    out = {}
    for dtype in (torch.float32, torch.bfloat16):
        x, y = a.to(dtype), b.to(dtype)
        t = time_call(lambda x=x, y=y: x @ y, repeat=3 if quick else 10)
        out[f'{str(dtype).split(".")[-1]}_gflops'] = round(2 * n**3 / t['min_s'] / 1e9, 1)
    out['bf16_speedup'] = round(out['bfloat16_gflops'] / out['float32_gflops'], 2)
    return out


BENCHMARKS = {'matmul_bf16_vs_fp32': matmul_bf16_vs_fp32}
