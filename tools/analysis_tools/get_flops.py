"""Parameters and FLOPs of any config's model, counted by fvcore; no checkpoint needed.

    python tools/analysis_tools/get_flops.py configs/videoar_stage3.py
    python tools/analysis_tools/get_flops.py configs/paper/videoar-l_8xb16-200k_ucf101-128x128-17f.py --device meta
    python tools/analysis_tools/get_flops.py configs/videoar_curriculum.py --stage stage2
    python tools/analysis_tools/get_flops.py CONFIG --device cpu --cfg-scale 1 --json out.json

The model is built from the config alone: the tokenizer checkpoint is not loaded (FLOPs do
not depend on weights). ``--device meta`` builds it with fake tensors (torch's
``FakeTensorMode``: shapes only, no weight memory, so the paper's 4B model counts on a laptop)
and counts FLOPs with ``torch.utils.flop_counter.FlopCounterMode``, which runs on fake tensors
(fvcore's tracer needs real values); ``.item()`` of a fake tensor reads 0 / False, so the
model's data-dependent checks pass and the sampler keeps its fixed step loop. That counter sees
matrix products, convolutions and attention only, and counts a multiply-add as two FLOPs; the
numbers printed are halved to fvcore's convention, and the output names the counter. The default
(``--device cpu``) traces a CPU build with random weights with fvcore. Both count

* one training sample: the teacher-forced transformer forward over a whole clip on cached
  latents (the corrector only changes labels), plus, separately, the tokenizer encode that a
  latent cache saves; training (forward + backward) is about three times the forward;
* one generated video: the sampler's block loop (``T' x K`` steps with the KV cache, both CFG
  rows when the guidance scale is not 1) and the tokenizer decode.

FLOPs are fvcore's count: one multiply-add is one FLOP (as mmengine/fvcore report;
multiply by two for the count of separate multiplies and adds). Attention
(``scaled_dot_product_attention``) is counted as the two matrix products
``B * heads * Lq * Lk * (Dk + Dv)``, which fvcore does not count by itself.
A curriculum config counts one of its train stages (``--stage``, default: the last).
"""

import argparse
import contextlib
import json
import os.path as osp
import sys
import warnings
from math import prod

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402
from fvcore.nn import FlopCountAnalysis  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from torch import nn  # noqa: E402
from torch._subclasses.fake_tensor import FakeTensorMode  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from videoar.engine import launch  # noqa: E402
from videoar.engine.curriculum.stages import parse_stages, resolve_config_path  # noqa: E402
from videoar.engine.runs import accepts  # noqa: E402
from videoar.models.sampling.sampler import sample_video  # noqa: E402
from videoar.registry import MODELS  # noqa: E402
from videoar.utils import ConfigError  # noqa: E402


def count_parameters(model, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _shape(value) -> list[int]:
    return value.type().sizes()


def sdpa_flop_handle(inputs, outputs) -> int:
    """fvcore handle of ``aten::scaled_dot_product_attention``: ``Q K^T`` and ``A V``."""
    query, key, value = (_shape(v) for v in inputs[:3])
    batch_heads = prod(query[:-2])
    return batch_heads * query[-2] * key[-2] * (query[-1] + value[-1])


HANDLES = {'aten::scaled_dot_product_attention': sdpa_flop_handle}


class _Call(nn.Module):
    """A module whose forward calls ``fn(*inputs)`` (fvcore traces modules)."""

    def __init__(self, model: nn.Module, fn) -> None:
        super().__init__()
        self.model = model
        self.fn = fn

    def forward(self, *inputs):
        return self.fn(*inputs)


def count_flops(model: nn.Module, fn, inputs: tuple) -> tuple[int, dict]:
    """fvcore FLOPs of ``fn(*inputs)``; returns ``(total, {operator: count})`` (uncounted
    operators are listed by fvcore's warnings only when ``--verbose``)."""
    analysis = FlopCountAnalysis(_Call(model, fn), inputs).set_op_handle(**HANDLES)
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        total = analysis.total()
    return int(total), dict(analysis.by_operator())


class _ZeroScalars(TorchDispatchMode):
    """``.item()`` reads 0 / False (fake tensors have no values; the counted shapes do not
    depend on them)."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten._local_scalar_dense.default:
            dtype = args[0].dtype
            return False if dtype == torch.bool else (0.0 if dtype.is_floating_point else 0)
        return func(*args, **(kwargs or {}))


def count_flops_fake(model: nn.Module, fn, inputs: tuple) -> tuple[int, dict]:
    """``FlopCounterMode`` FLOPs of ``fn(*inputs)`` in fvcore's convention (one multiply-add is
    one FLOP); works on fake tensors. Returns ``(total, {operator: count})``."""
    with FlopCounterMode(display=False) as counter, _ZeroScalars():
        fn(*inputs)
    ops = counter.get_flop_counts().get('Global', {})
    return counter.get_total_flops() // 2, {str(op): int(v) // 2 for op, v in ops.items()}


def model_config(cfg, stage: str | None):
    """The model config of a config, or of one train stage of a curriculum config."""
    if cfg.get('stages') is None:
        return cfg
    stages = [s for s in parse_stages(cfg) if s.kind == 'train']
    chosen = stages[-1] if stage is None else next((s for s in stages if s.name == stage), None)
    if chosen is None:
        raise ConfigError(
            f'--stage {stage!r}: the curriculum has the train stages {[s.name for s in stages]}.'
        )
    stage_cfg = launch.load_config(resolve_config_path(chosen.config, cfg.filename))
    launch.merge_options(stage_cfg, chosen.cfg_options)
    print(f'curriculum stage {chosen.name}: {chosen.config}')
    return stage_cfg


def build_model(cfg, device: str) -> nn.Module:
    model_cfg = cfg.model.to_dict() if hasattr(cfg.model, 'to_dict') else dict(cfg.model)
    if accepts(model_cfg.get('type'), 'tokenizer_checkpoint'):
        model_cfg['tokenizer_checkpoint'] = None  # FLOPs do not depend on the weights
        model_cfg['allow_random_tokenizer'] = True
    transformer = model_cfg.get('transformer')
    if isinstance(transformer, dict) and transformer.get('compile_blocks'):
        # the counters trace the eager modules (fvcore cannot trace a compiled function)
        model_cfg['transformer'] = dict(transformer, compile_blocks=False)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope') or 'videoar'):
        with torch.device(device):
            model = MODELS.build(model_cfg)
    return model.eval()


def measure(model, device: str, cfg_scale: float, counter=None) -> dict:
    """FLOPs of one training sample and one generated video of a VideoAR-like model
    (``counter``: :func:`count_flops` (fvcore, default) or :func:`count_flops_fake`)."""
    count_flops_ = counter or count_flops
    result = {}
    video = torch.zeros(1, 3, model.num_frames, *model.resolution, device=device)
    latent = torch.zeros(
        1, model.latent_dim, model.latent_frames, *model.latent_size, device=device
    )
    label = {'label': torch.zeros(1, dtype=torch.long, device=device)}
    with torch.no_grad():
        result['train_forward'], ops = count_flops_(
            model, lambda z: model.forward_logits(latent=z, data_samples=label), (latent,)
        )
        result['train_forward_by_operator'] = ops
        result['tokenizer_encode'], _ = count_flops_(model, model.encode, (video,))

        def generate(z):
            out = sample_video(model, label, batch_size=1, cfg_scale=cfg_scale, seed=0, decode=True)
            return out['video']

        result['generate_video'], ops = count_flops_(model, generate, (latent,))
        result['generate_by_operator'] = ops
    result['sampling_steps'] = int(model.num_sampling_steps)
    result['tokens_per_video'] = int(model.layout(model.latent_frames).video_len)
    return result


def giga(value: int) -> str:
    return f'{value / 1e9:.3f} GFLOPs'


def report_parameters(model) -> dict:
    total, trainable = count_parameters(model), count_parameters(model, trainable_only=True)
    print(f'parameters: {total / 1e6:.2f}M (trainable {trainable / 1e6:.2f}M)')
    for name, child in model.named_children():
        print(f'  {name}: {count_parameters(child) / 1e6:.2f}M')
    return dict(parameters=total, trainable=trainable)


def report_flops(model, args, fake: bool) -> dict:
    """Count and print the FLOPs of one training sample and one generated video."""
    sample_cfg = dict(getattr(model, 'sample_cfg', {}) or {})
    cfg_scale = args.cfg_scale if args.cfg_scale is not None else sample_cfg.get('cfg_scale')
    cfg_scale = 1.0 if cfg_scale is None else float(cfg_scale)
    counter = 'torch FlopCounterMode on fake tensors' if fake else 'fvcore'
    flops = measure(model, 'cpu' if fake else args.device, cfg_scale,
                    count_flops_fake if fake else count_flops)  # fmt: skip
    print(f'FLOPs (counter: {counter}; one multiply-add = one FLOP):')
    print(
        f'one training sample ({model.num_frames} x {model.resolution[0]} x '
        f'{model.resolution[1]}, {flops["tokens_per_video"]} tokens): forward '
        f'{giga(flops["train_forward"])}, forward + backward ~{giga(3 * flops["train_forward"])}'
    )
    print(f'  tokenizer encode (saved by the latent cache): {giga(flops["tokenizer_encode"])}')
    print(
        f'one generated video ({flops["sampling_steps"]} steps, cfg scale {cfg_scale:g}, '
        f'with decode): {giga(flops["generate_video"])}'
    )
    return dict(flops, cfg_scale=cfg_scale, flop_counter=counter)


def main(argv=None):
    parser = argparse.ArgumentParser(description='Parameters and FLOPs (fvcore) of a model')
    parser.add_argument('config')
    parser.add_argument('--stage', help='a curriculum config: the train stage (default: last)')
    parser.add_argument(
        '--device', default='cpu', choices=['meta', 'cpu', 'cuda'],
        help='where to build the model (meta: fake tensors, no weight memory)',
    )  # fmt: skip
    parser.add_argument(
        '--cfg-scale', type=float,
        help='guidance scale of the generated video (default: the config sample_cfg, else 1)',
    )  # fmt: skip
    parser.add_argument('--params-only', action='store_true', help='count parameters only')
    parser.add_argument('--json', help='also write the numbers to this json file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    cfg = model_config(launch.load_config(args.config, args.cfg_options), args.stage)
    if cfg.get('model') is None:
        raise ConfigError(f'config {args.config} has no model.')
    fake = args.device == 'meta'
    with FakeTensorMode(allow_non_fake_inputs=True) if fake else contextlib.nullcontext():
        model = build_model(cfg, 'cpu' if fake else args.device)
        result = dict(config=osp.abspath(args.config), **report_parameters(model))
        if not args.params_only and hasattr(model, 'forward_logits'):
            result.update(report_flops(model, args, fake))
        elif not args.params_only:
            print('FLOPs: this model is not a VideoAR generator; parameters only.')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    launch.run_main(main)
