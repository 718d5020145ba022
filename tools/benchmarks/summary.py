"""The one performance table: ``tools/benchmark.py`` (or ``--only summary``).

``summary(quick)`` gathers, in one run, the numbers the README's performance section quotes:
the matmul peak (``kernels.matmul_bf16_vs_fp32``), the bench model's training step and MFU in
fp32 and bf16 (below), KV-cache sampling vs recomputation (below), per-frame sampling time at
latent frames 4 and 32 with and without the rolling cache (``rolling.bench_rolling_cache``), the
tokenizer step in fp32 and bf16 and the main job's stage steps (``stages.bench_stage_steps``).
``table(numbers)`` renders them as one aligned table; ``ROWS`` names its rows.

Bench model: the tiny config's model at width 512, depth 12, 8 heads, batch 16 of 17 x 32 x 32
clips (cached latents); its bf16 step also with ``compile_blocks=True`` (not with ``quick``).
The matmul peak of a dtype is the best of square matmuls of 1024, 2048 and 4096. MFU = model
FLOPs / step time / measured matmul peak of the same dtype, with model FLOPs = 6 x (transformer block parameters) x tokens + 12 x depth x tokens^2 x width
(the attention products, forward and backward, counted over the full square): an estimate.
Recomputation = one transformer forward over the whole sequence so far at every sampling step
(batch doubled for CFG as the cached sampler does), the logits head and sampling left out, so
the ratio it gives is a lower bound of what the KV cache saves.
"""

from __future__ import annotations

import statistics

import torch
from mmengine.optim import OptimWrapper

from videoar.engine.compat import PortableAmpOptimWrapper
from videoar.models.sampling.sampler import sample_video
from videoar.pipelines import init_model, load_config

from .generation import CLASS_CONFIG, _model
from .kernels import matmul_bf16_vs_fp32
from .model import CONFIG as TINY_CONFIG
from .rolling import bench_rolling_cache
from .stages import bench_stage_steps
from .timing import time_call

#: (row label, key in the numbers, unit) of the table, in order
ROWS = [
    ('matmul peak fp32', 'peak_fp32_gflops', 'GFLOP/s'),
    ('matmul peak bf16', 'peak_bf16_gflops', 'GFLOP/s'),
    ('bench model step fp32', 'bench_step_fp32_ms', 'ms'),
    ('bench model MFU fp32', 'bench_mfu_fp32', '% of fp32 peak'),
    ('bench model step bf16', 'bench_step_bf16_ms', 'ms'),
    ('bench model MFU bf16', 'bench_mfu_bf16', '% of bf16 peak'),
    ('bench model step bf16, compiled blocks', 'bench_step_bf16_compiled_ms', 'ms'),
    ('bench model MFU bf16, compiled blocks', 'bench_mfu_bf16_compiled', '% of bf16 peak'),
    ('sampling, KV cache', 'sampling_kv_cache_s', 's / video'),
    ('sampling, recompute', 'sampling_recompute_s', 's / video'),
    ('recompute / KV cache', 'recompute_over_cache', 'x'),
    ('frame 4, full cache', 'full_cache_frame4_ms', 'ms'),
    ('frame 32, full cache', 'full_cache_frame32_ms', 'ms'),
    ('frame 4, rolling cache', 'rolling_frame4_ms', 'ms'),
    ('frame 32, rolling cache', 'rolling_frame32_ms', 'ms'),
    ('tokenizer step fp32', 'tokenizer_fp32_step_ms', 'ms'),
    ('tokenizer step bf16', 'tokenizer_bf16_step_ms', 'ms'),
    ('stage 1 step (video)', 'stage1_video_step_ms', 'ms'),
    ('stage 1 step (image)', 'stage1_image_step_ms', 'ms'),
    ('stage 2 step', 'stage2_step_ms', 'ms'),
    ('stage 3 step (compiled blocks, as configured)', 'stage3_step_ms', 'ms'),
    ('stage 3 step (eager)', 'stage3_eager_step_ms', 'ms'),
]

#: rows measured only without ``quick`` (compilations of tens of seconds)
FULL_ONLY = {'bench_step_bf16_compiled_ms', 'bench_mfu_bf16_compiled', 'stage3_eager_step_ms'}


def _bench_model(quick: bool, compile_blocks: bool = False):
    cfg = load_config(TINY_CONFIG)
    cfg.model.transformer.update(
        dim=512, depth=2 if quick else 12, num_heads=8, compile_blocks=compile_blocks
    )
    torch.manual_seed(0)
    return init_model(cfg).train()


def _model_flops(model, batch: int) -> float:
    transformer = model.transformer
    params = sum(p.numel() for p in transformer.blocks.parameters())
    tokens = model.layout(model.latent_frames).total_len
    width = transformer.dim
    depth = len(transformer.blocks)
    return batch * (6 * params * tokens + 12 * depth * tokens**2 * width)


def bench_model_steps(quick: bool, peaks: dict) -> dict:
    """Median step ms and MFU of the bench model in fp32 and under bf16 autocast."""
    model = _bench_model(quick)
    batch, repeats = (2, 2) if quick else (16, 5)
    latent = model.encode(torch.rand(batch, 3, model.num_frames, *model.resolution) * 2 - 1)
    data = dict(inputs=None, data_samples={'label': torch.arange(batch) % 10, 'latent': latent})
    flops = _model_flops(model, batch)
    out = {}
    wrappers = {
        'fp32': OptimWrapper(torch.optim.AdamW(model.parameters(), lr=0.0)),
        'bf16': PortableAmpOptimWrapper(
            optimizer=torch.optim.AdamW(model.parameters(), lr=0.0), dtype='bfloat16'
        ),
    }
    models = {name: model for name in wrappers}
    if not quick:  # the same weights with compiled blocks (the compilation: its warm-up step)
        models['bf16_compiled'] = _bench_model(quick, compile_blocks=True)
        models['bf16_compiled'].load_state_dict(model.state_dict())
        wrappers['bf16_compiled'] = PortableAmpOptimWrapper(
            optimizer=torch.optim.AdamW(models['bf16_compiled'].parameters(), lr=0.0),
            dtype='bfloat16',
        )
    times = {name: [] for name in wrappers}
    for _ in range(repeats):  # interleaved
        for name, wrapper in wrappers.items():
            step = lambda m=models[name], w=wrapper: m.train_step(data, w)  # noqa: E731
            times[name].append(time_call(step, repeat=1)['min_s'])
    for name in wrappers:
        seconds = statistics.median(times[name])
        out[f'bench_step_{name}_ms'] = 1000 * seconds
        peak = peaks[name.removesuffix('_compiled')]  # the peak of the step's dtype
        out[f'bench_mfu_{name}'] = 100 * flops / seconds / 1e9 / peak
    out['bench_batch'] = batch
    out['bench_gflop_per_step'] = flops / 1e9
    return out


def _recompute_seconds(model, batch: int) -> float:
    """One transformer forward over the whole sequence so far at every sampling step."""
    layout = model.layout(model.latent_frames)
    width = model.transformer.dim
    seconds = 0.0
    with torch.no_grad():
        for t in range(layout.num_frames):
            for k in range(layout.num_scales):
                length = layout.block_slice(t, k).stop
                x = torch.randn(2 * batch, length, width)
                seconds += time_call(lambda x=x: model.transformer(x), repeat=1, warmup=0)['min_s']
    return seconds


def bench_sampling_cache(quick: bool) -> dict:
    """Seconds per video of cached sampling and of recomputation (tiny class model, batch 1)."""
    model = _model(CLASS_CONFIG).eval()
    repeats = 1 if quick else 3
    meta = {'label': torch.tensor([3])}
    cached, recompute = [], []
    _recompute_seconds(model, 1)  # warm-up
    for seed in range(repeats):  # interleaved
        run = lambda s=seed: sample_video(model, meta, cfg_scale=3.0, seed=s, decode=False)  # noqa: E731
        cached.append(time_call(run, repeat=1)['min_s'])
        recompute.append(_recompute_seconds(model, 1))
    cache_s, recompute_s = statistics.median(cached), statistics.median(recompute)
    return dict(
        sampling_kv_cache_s=cache_s,
        sampling_recompute_s=recompute_s,
        recompute_over_cache=recompute_s / cache_s,
    )


def summary(quick: bool = False) -> dict:
    """Every number of ``ROWS`` in one dict (see the module docstring)."""
    kernels = matmul_bf16_vs_fp32(quick)
    peaks = {'fp32': kernels['float32_gflops'], 'bf16': kernels['bfloat16_gflops']}
    out = {'threads': torch.get_num_threads()}
    out['peak_fp32_gflops'], out['peak_bf16_gflops'] = peaks['fp32'], peaks['bf16']
    out.update(bench_model_steps(quick, peaks))
    out.update(bench_sampling_cache(quick))
    rolling = bench_rolling_cache(quick)
    last = rolling['latent_frames']
    for name in ('full_cache', 'rolling'):
        out[f'{name}_frame4_ms'] = rolling[f'{name}_frame4_ms']
        out[f'{name}_frame32_ms'] = rolling[f'{name}_frame{last}_ms']
    out['rolling_last_frame'] = last
    out.update(bench_stage_steps(quick))
    return out


def table(numbers: dict) -> str:
    """``ROWS`` as an aligned three-column table (missing numbers shown as ``-``)."""
    width = max(len(label) for label, _, _ in ROWS)
    lines = [f'{"measurement":<{width}} {"value":>10}  unit', '-' * (width + 30)]
    for label, key, unit in ROWS:
        value = numbers.get(key)
        shown = '-' if value is None else f'{value:.4g}'
        lines.append(f'{label:<{width}} {shown:>10}  {unit}')
    if numbers.get('rolling_last_frame', 32) != 32:
        lines.append(f'(frame 32 rows: latent frame {numbers["rolling_last_frame"]}, --quick)')
    return '\n'.join(lines)


BENCHMARKS = {'summary': summary}
