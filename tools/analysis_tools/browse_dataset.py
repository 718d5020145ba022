"""Look at a config's training (or validation) clips, and export real clips as video files.

    python tools/analysis_tools/browse_dataset.py configs/videoar_stage3.py --out outputs/browse
    python tools/analysis_tools/browse_dataset.py configs/videoar_stage3.py --split val \\
        --num 4 --export --out outputs/clips          # clip_000_label3.mp4 ... for --init-video

Writes ``grid.mp4`` and ``grid.gif`` (``--num`` clips, ``--nrow`` per row) and ``clips.json``
(the index, label and caption of every tile, in grid order: row by row); with ``--export``,
each clip also as ``clip_<n>_label<k>.mp4`` (lossless enough to re-read:
``tools/generate.py ... --init-video outputs/clips/clip_000_label3.mp4``).

The clips are the pixels the model's data comes from: a latent cache
(``LatentCacheDataset``) or a joint image/video wrapper is looked through to the clip dataset
inside it, so nothing is encoded and no tokenizer is needed. ``--split val`` takes the
``real_val_dataloader`` (the clips the evaluation compares with) or the ``val_dataloader``.
"""

import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

from videoar.engine import launch  # noqa: E402
from videoar.evaluation.grid_labels import class_text, label_videos  # noqa: E402
from videoar.io.records import write_json  # noqa: E402
from videoar.io.video import write_grid, write_video  # noqa: E402
from videoar.registry import DATASETS  # noqa: E402
from videoar.utils import ConfigError  # noqa: E402

#: wrappers looked through to the pixel clips inside
WRAPPERS = ('LatentCacheDataset', 'JointImageVideoDataset')


def pixel_dataset_config(cfg, split: str) -> dict:
    """The config of the pixel clip dataset of ``split`` (``train`` or ``val``)."""
    if split == 'train':
        loaders = ['train_dataloader']
    else:
        loaders = ['real_val_dataloader', 'val_dataloader', 'test_dataloader']
    loader = next((cfg.get(k) for k in loaders if cfg.get(k)), None)
    if loader is None:
        raise ConfigError(f'config {cfg.filename} has none of {loaders}; try --split train.')
    dataset = loader['dataset']
    dataset = dataset.to_dict() if hasattr(dataset, 'to_dict') else dict(dataset)
    while dataset.get('type') in WRAPPERS:
        dataset = dict(dataset['dataset'])
    return dataset


def clip_of(item) -> tuple[torch.Tensor, dict]:
    """``(video (3, F, H, W) in [-1, 1], metadata)`` of a dataset item."""
    video = item['inputs']
    meta = item.get('data_samples') or {}
    if not isinstance(meta, dict):
        meta = {k: getattr(meta, k, None) for k in ('label', 'caption', 'index')}
    return video, meta


def tile_text(record: dict) -> str:
    """The text drawn into a clip's grid tile: its class label, else its caption (shortened)."""
    if record.get('label') is None and record.get('caption'):
        return str(record['caption'])
    return class_text(record.get('label'))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--split', choices=['train', 'val'], default='train')
    parser.add_argument('--num', type=int, default=20, help='clips to show (default 20)')
    parser.add_argument('--start', type=int, default=0, help='first dataset index')
    parser.add_argument('--nrow', type=int, default=10, help='clips per grid row')
    parser.add_argument('--fps', type=float, default=8)
    parser.add_argument('--export', action='store_true', help='also write each clip as mp4')
    parser.add_argument('--out', default='outputs/browse', help='output folder')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument(
        '--no-grid-labels', action='store_true', help='no label / caption text in the grid tiles'
    )
    args = parser.parse_args(argv)
    cfg = launch.load_config(args.config, args.cfg_options)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope') or 'videoar'):
        dataset = DATASETS.build(pixel_dataset_config(cfg, args.split))
    indices = list(range(args.start, min(args.start + args.num, len(dataset))))
    if not indices:
        raise ConfigError(f'--start {args.start}: the dataset has {len(dataset)} clips.')
    os.makedirs(args.out, exist_ok=True)
    videos, records = [], []
    for n, index in enumerate(indices):
        video, meta = clip_of(dataset[index])
        videos.append(video)
        label = meta.get('label')
        record = dict(tile=n, index=index, label=label, caption=meta.get('caption'))
        if args.export:
            name = f'clip_{n:03d}' + (f'_label{label}' if label is not None else '') + '.mp4'
            record['file'] = osp.abspath(write_video(osp.join(args.out, name), video, args.fps))
        records.append(record)
    tiled = videos if args.no_grid_labels else label_videos(videos, map(tile_text, records))
    for ext in ('mp4', 'gif'):
        write_grid(osp.join(args.out, f'grid.{ext}'), tiled, nrow=args.nrow, fps=args.fps)
    write_json(osp.join(args.out, 'clips.json'), dict(config=osp.abspath(args.config),
               split=args.split, dataset=repr(dataset), clips=records))  # fmt: skip
    shape = tuple(videos[0].shape)
    print(f'[videoar] {len(videos)} {args.split} clip(s) of shape {shape} from {dataset!r}')
    for record in records:
        where = f' -> {record["file"]}' if 'file' in record else ''
        print(f'  tile {record["tile"]:>3}: label {record["label"]}, {record["caption"]!r}{where}')
    print(f'[videoar] grid and clips.json written to {osp.abspath(args.out)}')
    return records


if __name__ == '__main__':
    launch.run_main(main)
