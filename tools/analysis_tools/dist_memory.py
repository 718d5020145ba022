"""Measured peak memory per rank and step time of DDP and FSDP2 training steps on this machine.

    torchrun --nproc-per-node 2 tools/analysis_tools/dist_memory.py CONFIG \
        [--strategy ddp|fsdp2] [--batch 4] [--steps 5] [--cfg-options k=v ...]

Each rank builds the config's model (fp32, random init), wraps it with DDP or FSDP2
(``videoar/engine/fsdp``), and runs ``--steps`` AdamW steps on cached latents of its own
micro-batch under the allocation tracker of ``memory_plan.py``; rank 0 prints the largest peak
over the ranks and the median step time (the first step excluded). CPU and gloo without CUDA.
"""

import argparse
import os.path as osp
import statistics
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from memory_plan import PeakMemory, build_model  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from torch.nn.parallel import DistributedDataParallel  # noqa: E402

from videoar.engine import launch  # noqa: E402
from videoar.engine.fsdp import shard_model  # noqa: E402


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description='Per-rank peak memory of DDP / FSDP2 steps')
    parser.add_argument('config')
    parser.add_argument('--strategy', choices=['ddp', 'fsdp2'], default='fsdp2')
    parser.add_argument('--batch', type=int, default=4, help='micro-batch per rank')
    parser.add_argument('--steps', type=int, default=5)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    dist.init_process_group('gloo')
    cfg = launch.load_config(args.config, args.cfg_options)
    torch.manual_seed(0)
    model = build_model(cfg, 'cpu').train()
    with torch.no_grad():
        torch.manual_seed(1 + dist.get_rank())
        video = torch.rand(args.batch, 3, model.num_frames, *model.resolution) * 2 - 1
        meta = {'label': torch.arange(args.batch) % 2, 'latent': model.encode(video)}
    tracker = PeakMemory([*model.parameters(), *model.buffers(), meta['latent']])
    times = []
    with tracker:
        wrapped = DistributedDataParallel(model) if args.strategy == 'ddp' else shard_model(model)
        trainable = [p for p in wrapped.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(trainable, lr=1e-4)
        for _ in range(args.steps):
            start = time.perf_counter()
            wrapped(None, meta, mode='loss')['loss'].backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            times.append(time.perf_counter() - start)
    peaks = torch.tensor([float(tracker.peak)])
    dist.all_reduce(peaks, op=dist.ReduceOp.MAX)
    result = dict(peak_mib=peaks.item() / 2**20, step_s=statistics.median(times[1:] or times))
    if dist.get_rank() == 0:
        print(f'{args.strategy} x {dist.get_world_size()} rank(s), micro-batch {args.batch}: '
              f'peak {result["peak_mib"]:.1f} MiB per rank, step {result["step_s"]:.3f} s')  # fmt: skip
    dist.barrier()
    dist.destroy_process_group()
    return result


if __name__ == '__main__':
    main()
