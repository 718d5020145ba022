"""Memory plan: bytes per GPU of a config's training for DDP and FSDP2, with and without
activation checkpointing, and the largest micro-batch that fits.

    python tools/analysis_tools/memory_plan.py CONFIG [--gpus 8] [--gpu-mem 80] [--batch 16]
        [--dtype bfloat16|float32] [--cfg-options k=v ...] [--measure]

The model is built on the meta device (exact parameter counts, no memory). Per GPU:

* parameters: fp32 master weights ``4 P`` (DDP) or ``4 P / N`` (FSDP2) of the ``P`` trainable
  parameters, plus the replicated frozen tokenizer, plus (FSDP2) two gathered blocks in the
  compute dtype (the running one and the prefetched one); bf16 autocast under DDP adds a
  ``2 P`` cache of bf16 weights;
* gradients: ``4 P`` (DDP, plus ``4 P`` of DDP's reduction buckets, which stay allocated) or
  ``4 P / N`` plus one gathered block's gradients (FSDP2);
* optimizer: AdamW's two moments, ``8 P`` or ``8 P / N``;
* activations: what backward keeps per token and block, counted from
  ``videoar/models/transformers/layers.py`` (see :data:`FP32_TERMS`): ``14 C + 4 F`` elements,
  ``3 H + 2`` norm / softmax statistics and a ``2 L``-byte attention mask expansion, times the
  ``L`` tokens (prefix + video) of a clip, the blocks and the micro-batch; plus the embedding /
  head / loss tensors. With checkpointing only each block's input is kept, and one block is
  recomputed at a time (while the gradients exist).

``--measure`` also runs two training steps of the model on this CPU (fp32, random init, the
micro-batch ``--batch``) under a tensor-allocation tracker and prints the measured peak next to
the plan's single-process figure; ``tests/tools/test_memory_plan.py`` keeps them within 15% for
the tiny and the bench model.
"""

import argparse
import os.path as osp
import sys
import weakref
from dataclasses import dataclass

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from torch.utils._python_dispatch import (  # noqa: E402
    TorchDispatchMode,
    is_traceable_wrapper_subclass,
)
from torch.utils._pytree import tree_flatten  # noqa: E402

from videoar.engine import launch  # noqa: E402
from videoar.registry import MODELS  # noqa: E402

GIB = 2**30
#: activation elements kept for backward per token and block (counted with
#: ``torch.autograd.graph.saved_tensors_hooks`` on ``TransformerBlock``): name ->
#: (elements as a function of (C, F, H), bytes per element in fp32, in bf16 autocast)
FP32_TERMS = {
    'ffn: w1, w3, silu(w1), product (4 F)': (lambda c, f, h: 4 * f, 4, 2),
    'qkv projection (3 C)': (lambda c, f, h: 3 * c, 4, 2),
    'attention output and its reshape (2 C)': (lambda c, f, h: 2 * c, 4, 2),
    'norm outputs, rotated q and k, mid-block residual (8 C)': (lambda c, f, h: 8 * c, 4, 4),
    'bf16 only: fp32 copies of the four norm inputs (4 C)': (lambda c, f, h: 4 * c, 0, 4),
    'block input (C)': (lambda c, f, h: c, 4, 4),
    'norm / softmax statistics (3 H + 2)': (lambda c, f, h: 3 * h + 2, 4, 4),
}


@dataclass
class ModelShape:
    """What the plan needs of a model: trainable / frozen parameter counts, transformer sizes,
    tokens per clip ``L`` (prefix + video) and logits per token."""

    trainable: int
    frozen: int
    block_params: int
    dim: int
    depth: int
    heads: int
    ffn: int
    tokens: int
    logits: int
    checkpointing: bool = False


def build_model(cfg, device: str = 'meta'):
    with DefaultScope.overwrite_default_scope('videoar'), torch.device(device):
        return MODELS.build(cfg.model)


def model_shape(model) -> ModelShape:
    transformer = model.transformer
    layout = model.layout(model.latent_frames)
    return ModelShape(
        trainable=sum(p.numel() for p in model.parameters() if p.requires_grad),
        frozen=sum(p.numel() for p in model.parameters() if not p.requires_grad),
        block_params=sum(p.numel() for p in transformer.blocks[0].parameters()),
        dim=transformer.dim,
        depth=transformer.depth,
        heads=transformer.num_heads,
        ffn=transformer.ffn_dim,
        tokens=layout.prefix_len + layout.video_len,
        logits=model.head.out_features,
        checkpointing=bool(transformer.grad_checkpointing),
    )


def block_bytes_per_token(shape: ModelShape, dtype: str) -> float:
    """Bytes one block keeps for backward per token (:data:`FP32_TERMS` + the mask)."""
    column = 1 if dtype == 'float32' else 2
    total = sum(
        term[0](shape.dim, shape.ffn, shape.heads) * term[column] for term in FP32_TERMS.values()
    )
    return total + 2 * shape.tokens  # the expanded attention mask of the CPU / math kernels


def activation_bytes(shape: ModelShape, batch: int, dtype: str, checkpointing: bool) -> float:
    """Activation bytes of one micro-batch of ``batch`` clips."""
    tokens = batch * shape.tokens
    size = 4 if dtype == 'float32' else 2
    outside = tokens * 4 * (4 * shape.dim + shape.logits)  # embedding, final norm, logits
    block = tokens * block_bytes_per_token(shape, dtype)
    if not checkpointing:
        return shape.depth * block + outside
    return shape.depth * tokens * shape.dim * size + block + outside


def plan(shape: ModelShape, gpus: int, strategy: str, checkpointing: bool, dtype: str,
         batch: int) -> dict:  # fmt: skip
    """Bytes per GPU: ``params``, ``grads``, ``optimizer``, ``activations`` and the ``peak``."""
    p, size = shape.trainable, 4 if dtype == 'float32' else 2
    shards = gpus if strategy == 'fsdp2' else 1
    params = 4 * p / shards + 4 * shape.frozen
    grads = 4 * p / shards
    buckets = 0.0  # DDP's reduction buckets: allocated once, kept for the whole run
    if strategy == 'fsdp2':
        params += 2 * size * shape.block_params if gpus > 1 else 0
        grads += 4 * shape.block_params if gpus > 1 else 0
    else:
        params += 2 * p if dtype != 'float32' else 0  # autocast's bf16 weight cache
        buckets = 4.0 * p if gpus > 1 else 0.0
    optimizer = 8 * p / shards
    acts = activation_bytes(shape, batch, dtype, checkpointing)
    # without checkpointing the activations are freed as the gradients appear; with it, one
    # block is recomputed while (nearly) all gradients exist
    transient = acts + grads if checkpointing else max(acts, grads)
    return dict(params=params, grads=grads + buckets, optimizer=optimizer, activations=acts,
                peak=params + optimizer + buckets + transient)  # fmt: skip


def largest_batch(shape, gpus, strategy, checkpointing, dtype, gpu_bytes, usable=0.9) -> int:
    """The largest micro-batch whose peak fits in ``usable`` of ``gpu_bytes`` (0: none)."""
    low, high = 0, 1

    def fits(batch: int) -> bool:
        peak = plan(shape, gpus, strategy, checkpointing, dtype, batch)['peak']
        return peak <= usable * gpu_bytes

    while fits(high) and high < 1 << 20:
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if fits(mid) else (low, mid)
    return low


class PeakMemory(TorchDispatchMode):
    """Bytes of the live tensor storages created under the mode (plus ``tensors`` given at the
    start), summed after every operator, and their peak: a CPU stand-in for
    ``torch.cuda.max_memory_allocated``. Storage sizes are re-read at each sum, so storages
    that FSDP2 frees or re-allocates in place (``resize_``) count at their current size."""

    def __init__(self, tensors=()) -> None:
        super().__init__()
        self.live: dict = {}
        self.current = self.peak = 0
        for tensor in tensors:
            self.track(tensor)
        self.update()

    def track(self, tensor) -> None:
        if not isinstance(tensor, torch.Tensor) or tensor.device.type == 'meta':
            return
        if is_traceable_wrapper_subclass(tensor):  # a DTensor: count its local shard only
            for name in tensor.__tensor_flatten__()[0]:
                self.track(getattr(tensor, name))
            return
        storage = tensor.untyped_storage()
        key = storage._cdata
        if key not in self.live:
            self.live[key] = weakref.ref(storage, lambda _, key=key: self.live.pop(key, None))

    def update(self) -> None:
        storages = [ref() for ref in list(self.live.values())]
        self.current = sum(s.nbytes() for s in storages if s is not None)
        self.peak = max(self.peak, self.current)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for item in tree_flatten(out)[0]:
            self.track(item)
        self.update()
        return out


def measure_peak(cfg, batch: int, steps: int = 2) -> int:
    """Peak bytes of ``steps`` AdamW training steps (fp32, cached latents) on this CPU."""
    torch.manual_seed(0)
    model = build_model(cfg, 'cpu').train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    with torch.no_grad():
        video = torch.rand(batch, 3, model.num_frames, *model.resolution) * 2 - 1
        latent = model.encode(video)
    meta = {'label': torch.arange(batch) % 2, 'latent': latent}
    tracker = PeakMemory([*model.parameters(), *model.buffers(), latent])
    with tracker:
        for _ in range(steps):
            model(None, meta, mode='loss')['loss'].backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
    return tracker.peak


def format_table(shape: ModelShape, gpus: int, gpu_mem: float, dtype: str, batch: int) -> str:
    rows = [
        f'trainable {shape.trainable / 1e6:.1f}M, frozen {shape.frozen / 1e6:.1f}M parameters; '
        f'{shape.depth} blocks x width {shape.dim}, {shape.tokens} tokens per clip; {dtype}; '
        f'{gpus} GPU(s) x {gpu_mem:g} GB; GiB per GPU at micro-batch {batch}',
        f'{"strategy":<10}{"ckpt":<6}{"params":>8}{"grads":>8}{"optim":>8}{"activ":>8}'
        f'{"peak":>8}{"max batch":>11}',
    ]
    for strategy in ('ddp', 'fsdp2'):
        for ckpt in (False, True):
            row = plan(shape, gpus, strategy, ckpt, dtype, batch)
            most = largest_batch(shape, gpus, strategy, ckpt, dtype, gpu_mem * 1e9)
            rows.append(
                f'{strategy:<10}{"yes" if ckpt else "no":<6}'
                + ''.join(f'{row[k] / GIB:>8.2f}' for k in ('params', 'grads', 'optimizer'))
                + f'{row["activations"] / GIB:>8.2f}{row["peak"] / GIB:>8.2f}{most:>11}'
            )
    return '\n'.join(rows)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description='Memory plan of a training config')
    parser.add_argument('config')
    parser.add_argument('--gpus', type=int, default=8)
    parser.add_argument('--gpu-mem', type=float, default=80.0, help='GB per GPU')
    parser.add_argument('--batch', type=int, help='micro-batch (default: the config)')
    parser.add_argument('--dtype', choices=['bfloat16', 'float32'], default='bfloat16')
    parser.add_argument('--measure', action='store_true', help='measure a CPU fp32 peak too')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    cfg = launch.load_config(args.config, args.cfg_options)
    batch = args.batch or cfg.get('train_dataloader', {}).get('batch_size', 1)
    shape = model_shape(build_model(cfg))
    print(format_table(shape, args.gpus, args.gpu_mem, args.dtype, batch))
    result = dict(shape=shape, batch=batch)
    if args.measure:
        expected = plan(shape, 1, 'ddp', shape.checkpointing, 'float32', batch)['peak']
        measured = measure_peak(cfg, batch)
        ckpt = 'with' if shape.checkpointing else 'without'
        print(f'CPU fp32, 1 process, batch {batch}, {ckpt} checkpointing: planned {expected / 2**20:.1f} MiB, '
              f'measured {measured / 2**20:.1f} MiB ({measured / expected - 1:+.1%})')  # fmt: skip
        result.update(planned=expected, measured=measured)
    return result


if __name__ == '__main__':
    main()
