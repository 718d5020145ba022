"""Encode a dataset with the frozen tokenizer into latent shards, across ranks, resumably.

    python tools/extract_latents.py CONFIG OUT_DIR [--split train] [--samples-per-shard 1000]
        [--batch-size 16] [--tokenizer-checkpoint PATH] [--limit N] [--cfg-options k=v ...]
    torchrun --nproc-per-node 8 tools/extract_latents.py CONFIG OUT_DIR --launcher pytorch

The tokenizer is the config's ``model.tokenizer`` (weights from ``--tokenizer-checkpoint``, else
``model.tokenizer_checkpoint``); the clips are ``<split>_dataloader.dataset``. Shard ``s`` holds
the dataset items ``[s n, (s + 1) n)`` (``n = --samples-per-shard``) and is written by rank
``s mod R`` into a temporary file renamed when complete, so a shard that exists is whole. Run
the same command again after a kill (at any world size): finished shards are skipped, the rest
are encoded. Rank 0 writes ``shards.json`` at the end. Train on the result with
``dict(type='ShardDataset', shards=OUT_DIR, kind='latent', infinite=True)``.
"""

import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

from videoar.datasets import ShardWriter  # noqa: E402
from videoar.datasets.latent_cache import load_tokenizer_weights  # noqa: E402
from videoar.datasets.shards import write_index  # noqa: E402
from videoar.engine import launch  # noqa: E402
from videoar.engine.compat import setup_cpu_distributed  # noqa: E402
from videoar.registry import DATASETS, TOKENIZERS  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Encode a dataset into latent shards')
    parser.add_argument('config')
    parser.add_argument('out_dir')
    parser.add_argument('--split', choices=['train', 'val', 'test'], default='train')
    parser.add_argument('--samples-per-shard', type=int, default=1000)
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--tokenizer-checkpoint')
    parser.add_argument('--limit', type=int, help='encode only the first N items')
    parser.add_argument('--max-shards', type=int, help='stop after writing N shards (this rank)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def shard_name(shard: int) -> str:
    return f'latent-{shard:06d}.tar'


def build_parts(cfg, split: str, checkpoint: str | None):
    """The dataset of ``split`` and the frozen tokenizer of ``cfg.model`` (built after
    ``torch.manual_seed(0)``: without a checkpoint every rank has the same random init)."""
    with DefaultScope.overwrite_default_scope('videoar'):
        dataset = DATASETS.build(cfg[f'{split}_dataloader']['dataset'])
        torch.manual_seed(0)
        tokenizer = TOKENIZERS.build(dict(cfg.model.tokenizer))
    checkpoint = checkpoint or cfg.model.get('tokenizer_checkpoint')
    if checkpoint:
        load_tokenizer_weights(tokenizer, checkpoint)
    return dataset, tokenizer.eval().requires_grad_(False)


@torch.no_grad()
def encode_shard(dataset, tokenizer, indices, batch_size: int, out_dir: str, shard: int) -> None:
    """Encode ``dataset[indices]`` into shard ``shard`` (a temporary file, then renamed)."""
    device = next(tokenizer.parameters()).device
    tmp_prefix = f'.tmp-{shard_name(shard)[:-4]}'
    writer = ShardWriter(out_dir, prefix=tmp_prefix, samples_per_shard=len(indices) + 1)
    for start in range(0, len(indices), batch_size):
        items = [dataset[i] for i in indices[start : start + batch_size]]
        video = torch.stack([item['inputs'] for item in items]).to(device)
        latents = tokenizer.encode(video).float().cpu()
        for index, item, latent in zip(indices[start:], items, latents, strict=False):
            meta = item.get('data_samples') or {}
            writer.write(index, meta.get('label', -1), meta.get('caption', ''), latent=latent)
    if writer.writer is not None:
        writer.writer.close()
    os.replace(osp.join(out_dir, f'{tmp_prefix}-000000.tar'), osp.join(out_dir, shard_name(shard)))


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = launch.load_config(args.config, args.cfg_options)
    if args.launcher != 'none' and not setup_cpu_distributed(args.launcher):
        if not dist.is_initialized():
            dist.init_process_group('nccl')
            torch.cuda.set_device(int(os.environ.get('LOCAL_RANK', 0)))
    rank, world = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
    dataset, tokenizer = build_parts(cfg, args.split, args.tokenizer_checkpoint)
    if torch.cuda.is_available():
        tokenizer = tokenizer.cuda()
    total = len(dataset) if args.limit is None else min(args.limit, len(dataset))
    per = args.samples_per_shard
    os.makedirs(args.out_dir, exist_ok=True)
    written = 0
    for shard in range(rank, -(-total // per), world):
        if osp.isfile(osp.join(args.out_dir, shard_name(shard))):
            continue  # finished by an earlier run
        if args.max_shards is not None and written >= args.max_shards:
            break
        indices = list(range(shard * per, min((shard + 1) * per, total)))
        encode_shard(dataset, tokenizer, indices, args.batch_size, args.out_dir, shard)
        written += 1
    if dist.is_initialized():
        dist.barrier()
    done = [s for s in range(-(-total // per)) if osp.isfile(osp.join(args.out_dir, shard_name(s)))]
    if rank == 0:
        write_index(args.out_dir, [
            dict(name=shard_name(s), num_samples=min((s + 1) * per, total) - s * per) for s in done
        ])  # fmt: skip
        print(f'[videoar] {len(done)} of {-(-total // per)} latent shard(s) in {args.out_dir} '
              f'({written} written by rank 0 in this run)')  # fmt: skip
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    return written


if __name__ == '__main__':
    main()
