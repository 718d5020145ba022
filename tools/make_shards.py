"""Write WebDataset tar shards (``videoar/datasets/shards.py``) of a dataset or a video folder.

    # the clips a config's dataset serves (decoded, uint8 frames; any videoar dataset)
    python tools/make_shards.py --config CONFIG [--split train|val|test] OUT_DIR
        [--samples-per-shard 1000] [--limit N] [--cfg-options k=v ...]
    # the video files under a folder, copied as they are (decoded when read); the label is the
    # index of the first sub-folder (sorted), as VideoFolderDataset(label_from_subdir=True)
    python tools/make_shards.py --folder DIR OUT_DIR [--samples-per-shard 1000]

Then train from them with ``dict(type='ShardDataset', shards=OUT_DIR, num_frames=..., height=...,
width=..., infinite=True)`` as the train dataset and ``sampler=None`` (README, "Scaling out").
"""

import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import DictAction  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

from videoar.datasets import ShardWriter  # noqa: E402
from videoar.engine import launch  # noqa: E402
from videoar.io.video import VIDEO_EXTENSIONS, to_uint8  # noqa: E402
from videoar.registry import DATASETS  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Write WebDataset shards of videos')
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--config', help='a config whose <split>_dataloader.dataset is written')
    source.add_argument('--folder', help='a folder of video files (copied, not decoded)')
    parser.add_argument('out_dir')
    parser.add_argument('--split', choices=['train', 'val', 'test'], default='train')
    parser.add_argument('--samples-per-shard', type=int, default=1000)
    parser.add_argument('--limit', type=int, help='write only the first N samples')
    parser.add_argument('--prefix', default='shard')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def write_dataset(dataset, writer: ShardWriter, limit: int | None) -> int:
    count = len(dataset) if limit is None else min(limit, len(dataset))
    for index in range(count):
        item = dataset[index]
        meta = item['data_samples']
        writer.write(index, label=meta.get('label', -1), caption=meta.get('caption', ''),
                     frames=to_uint8(item['inputs']))  # fmt: skip
    return count


def folder_videos(folder: str) -> list[tuple[str, int]]:
    """``(path, label)`` of every video under ``folder``, sorted; label = sub-folder index."""
    subdirs = sorted(d for d in os.listdir(folder) if osp.isdir(osp.join(folder, d)))
    found = []
    for root, _, files in os.walk(folder):
        rel = osp.relpath(root, folder).split(os.sep)[0]
        label = subdirs.index(rel) if rel in subdirs else -1
        for name in files:
            if name.lower().endswith(VIDEO_EXTENSIONS):
                found.append((osp.join(root, name), label))
    return sorted(found)


def write_folder(folder: str, writer: ShardWriter, limit: int | None) -> int:
    videos = folder_videos(folder)[:limit]
    for index, (path, label) in enumerate(videos):
        with open(path, 'rb') as handle:
            data = handle.read()
        writer.write(index, label=label, video_bytes=data, video_ext=osp.splitext(path)[1])
    return len(videos)


def main(argv=None) -> int:
    args = parse_args(argv)
    with ShardWriter(args.out_dir, args.prefix, args.samples_per_shard) as writer:
        if args.folder:
            count = write_folder(args.folder, writer, args.limit)
        else:
            cfg = launch.load_config(args.config, args.cfg_options)
            dataset_cfg = cfg[f'{args.split}_dataloader']['dataset']
            with DefaultScope.overwrite_default_scope('videoar'):
                dataset = DATASETS.build(dataset_cfg)
            count = write_dataset(dataset, writer, args.limit)
    print(f'[videoar] wrote {count} samples into {len(writer.shards)} shard(s) in {args.out_dir}')
    return count


if __name__ == '__main__':
    main()
