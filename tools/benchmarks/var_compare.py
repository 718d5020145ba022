"""VideoAR beside the official VAR code at matched size (``tools/benchmark.py --var-repo PATH``).

``compare(var_repo, quick)`` imports VAR's ``models`` package from ``var_repo`` (a local checkout
kept outside this repository; an optional dependency of this benchmark only) and times, in
interleaved pairs at depth 8 and 16 (width 64 x depth, heads = depth, as VAR builds them): one
training step (forward, cross-entropy, backward, AdamW) at batch 16 and class-conditional
sampling with CFG at batch 8. Both sides: one frame, scales 1-4 (30 tokens), a 4096-code VQ,
10 classes. VAR's step gets random teacher-forcing inputs of its shape (its VQVAE is not timed);
VAR's sampling skips its final VQVAE decode (``fhat_to_img`` returns the sum) and ours runs
``sample_video(decode=False)``, so both time the transformer, heads and scale loop.
Numbers are ratios ours / VAR of the medians (below 1 = ours faster). Without ``quick`` the
training step is also timed with ``compile_blocks=True`` (``ours_compiled``; VAR's code has no
compile switch and runs eagerly).
"""

from __future__ import annotations

import statistics
import sys

import torch
import torch.nn.functional as F
from torch import nn

from videoar.models.sampling.sampler import sample_video
from videoar.pipelines import init_model, load_config

from .model import CONFIG as TINY_CONFIG
from .timing import time_call

SCALES = (1, 2, 3, 4)
RESET_CLASSES = (nn.Linear, nn.LayerNorm, nn.BatchNorm2d, nn.SyncBatchNorm, nn.Conv1d, nn.Conv2d,
                 nn.ConvTranspose1d, nn.ConvTranspose2d)  # fmt: skip


def _ours(depth: int, compile_blocks: bool = False):
    cfg = load_config(TINY_CONFIG)
    cfg.model.num_frames = 1
    cfg.model.corrector = dict(type='NoCorrection')
    cfg.model.transformer.update(
        dim=64 * depth,
        depth=depth,
        num_heads=depth,
        cond_mode='adaln',
        compile_blocks=compile_blocks,
    )
    cfg.model.quantizer = dict(
        type='MultiScaleVQ', embed_dim=cfg.model.quantizer.embed_dim, scale_sizes=list(SCALES),
        codebook_size=4096,
    )  # fmt: skip
    torch.manual_seed(0)
    return init_model(cfg)


def _var(var_repo: str, depth: int):
    if var_repo not in sys.path:
        sys.path.insert(0, var_repo)
    import models as var_models  # the optional dependency: VAR's own package

    saved = {cls: cls.reset_parameters for cls in RESET_CLASSES}  # VAR patches these globally
    try:
        vae, var = var_models.build_vae_var(
            device='cpu', patch_nums=SCALES, num_classes=10, depth=depth,
            flash_if_available=False, fused_if_available=False,
        )  # fmt: skip
    finally:
        for cls, fn in saved.items():
            cls.reset_parameters = fn
    with torch.no_grad():  # VAR leaves its VQVAE to a checkpoint: give it finite weights
        for param in vae.parameters():
            param.normal_(0.0, 0.02)
    vae.fhat_to_img = lambda f_hat: f_hat  # time the transformer side only
    return var


def _pair_times(fns: dict, repeats: int) -> dict:
    times = {name: [] for name in fns}
    for fn in fns.values():
        fn()  # warm-up
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(time_call(fn, repeat=1, warmup=0)['min_s'])
    return {name: statistics.median(t) for name, t in times.items()}


def _steps(ours, var, batch: int):
    labels = torch.arange(batch) % 10
    latent = torch.randn(batch, ours.latent_dim, 1, *ours.latent_size)
    data = dict(inputs=None, data_samples={'label': labels, 'latent': latent})
    ours_opt = torch.optim.AdamW(ours.parameters(), lr=0.0)
    var_opt = torch.optim.AdamW(var.parameters(), lr=0.0)
    length = sum(s * s for s in SCALES)
    x = torch.randn(batch, length - 1, var.Cvae)
    target = torch.randint(0, var.V, (batch, length))

    def ours_step():
        ours_opt.zero_grad(set_to_none=True)
        ours(None, data['data_samples'], mode='loss')['loss'].backward()
        ours_opt.step()

    def var_step():
        var_opt.zero_grad(set_to_none=True)
        logits = var(labels, x)
        F.cross_entropy(logits.flatten(0, 1), target.flatten()).backward()
        var_opt.step()

    return ours_step, var_step


def _samplers(ours, var, batch: int) -> dict:
    labels = torch.arange(batch) % 10

    @torch.no_grad()
    def ours_sample():
        sample_video(ours, {'label': labels}, cfg_scale=1.5, seed=0, decode=False)

    @torch.no_grad()
    def var_sample():
        var.autoregressive_infer_cfg(batch, labels, g_seed=0, cfg=1.5)

    return {'ours': ours_sample, 'var': var_sample}


def compare(var_repo: str, quick: bool = False) -> dict:
    """Step and sampling ms of ours and VAR's at depth 8 and 16, and ours / VAR."""
    out = {'threads': torch.get_num_threads()}
    repeats = 2 if quick else 7
    for depth in (8, 16):
        ours, var = _ours(depth).train(), _var(var_repo, depth).train()
        batch = 4 if quick else 16
        ours_step, var_step = _steps(ours, var, batch)
        steps = {'ours': ours_step, 'var': var_step}
        if not quick:  # ours with compile_blocks=True, same weights (compiled in the warm-up)
            compiled = _ours(depth, compile_blocks=True).train()
            compiled.load_state_dict(ours.state_dict())
            steps['ours_compiled'] = _steps(compiled, var, batch)[0]
        train = _pair_times(steps, repeats)
        ours.eval(), var.eval()
        sample = _pair_times(_samplers(ours, var, 2 if quick else 8), repeats)
        for kind, numbers in (('train', train), ('sample', sample)):
            for name in numbers:
                out[f'd{depth}_{kind}_{name}_ms'] = 1000 * numbers[name]
                if name != 'var':
                    out[f'd{depth}_{kind}_{name}_over_var'] = numbers[name] / numbers['var']
    return out
