"""VideoFolderDataset: clip sampling, transforms, manifests, and bad files skipped with a report."""

import json
import logging

import numpy as np
import pytest
import torch

from videoar.datasets import MovingDigits, VideoFolderDataset, resize_and_crop
from videoar.io.video import from_uint8, read_video, write_video
from videoar.registry import DATASETS
from videoar.utils.validation import ConfigError


def clip(frames=12, height=48, width=64, index=0) -> torch.Tensor:
    return MovingDigits(num_frames=frames, height=height, width=width, length=16)[index]['inputs']


@pytest.fixture(scope='module')
def videos(tmp_path_factory):
    """Two good clips (mp4 and gif, 12 frames, 48x64) and a 5-frame one."""
    root = tmp_path_factory.mktemp('videos')
    (root / 'cats').mkdir()
    (root / 'dogs').mkdir()
    paths = dict(
        a=write_video(root / 'cats' / 'a.mp4', clip(index=0), fps=8),
        b=write_video(root / 'dogs' / 'b.gif', clip(index=1), fps=8),
        short=write_video(root / 'short.mp4', clip(frames=5, index=2), fps=8),
    )
    return root, paths


def make_bad_files(folder, good_path):
    data = open(good_path, 'rb').read()
    (folder / 'zero.mp4').write_bytes(b'')
    (folder / 'truncated.mp4').write_bytes(data[: len(data) // 2])
    (folder / 'notes.mp4').write_text('meeting notes, definitely not a video\n' * 20)
    (folder / 'readme.txt').write_text('not listed: wrong extension')
    return {'zero.mp4': 'empty file', 'truncated.mp4': 'not a readable video',
            'notes.mp4': 'not a readable video'}  # fmt: skip


def test_good_clips_load_and_bad_files_are_reported(tmp_path, videos, caplog):
    _, paths = videos
    folder = tmp_path / 'mixed'
    folder.mkdir()
    for name in ('a', 'b'):
        target = folder / paths[name].split('/')[-1]
        target.write_bytes(open(paths[name], 'rb').read())
    bad = make_bad_files(folder, paths['a'])
    with caplog.at_level(logging.WARNING, logger='videoar.datasets'):
        dataset = VideoFolderDataset(data_root=str(folder), num_frames=8, offset='start')
    assert len(dataset) == 2
    assert sorted(p.split('/')[-1] for p in (e['path'] for e in dataset.entries)) == [
        'a.mp4',
        'b.gif',
    ]
    assert dataset.num_skipped == 3
    reported = {path.split('/')[-1]: reason for path, reason in dataset.skipped}
    assert set(reported) == set(bad)
    for name, reason in bad.items():
        assert reason in reported[name]
        assert any(name in r.getMessage() and reason in r.getMessage() for r in caplog.records)
    assert any('3 file(s) skipped so far' in r.getMessage() for r in caplog.records)
    for i in range(2):
        item = dataset[i]
        assert item['inputs'].shape == (3, 8, 48, 64)
        # the content is the file's first 8 frames
        expected = from_uint8(read_video(item['data_samples']['path'], start=0, num_frames=8))
        assert torch.equal(item['inputs'], expected)
        assert item['data_samples']['label'] == -1 and item['data_samples']['caption'] == ''


def test_a_file_that_breaks_after_indexing_is_replaced_and_reported(tmp_path, videos, caplog):
    _, paths = videos
    for name in ('x', 'y', 'z'):
        (tmp_path / f'{name}.mp4').write_bytes(open(paths['a'], 'rb').read())
    dataset = VideoFolderDataset(data_root=str(tmp_path), num_frames=4, offset='center')
    assert len(dataset) == 3 and dataset.num_skipped == 0
    (tmp_path / 'y.mp4').write_bytes(b'\x00' * 100)  # corrupted after the index was built
    with caplog.at_level(logging.WARNING, logger='videoar.datasets'):
        item = dataset[1]
    assert item['data_samples']['index'] == 2  # the next good entry, deterministically
    assert item['data_samples']['path'].endswith('z.mp4')
    assert [p.split('/')[-1] for p, _ in dataset.skipped] == ['y.mp4']
    assert any('y.mp4' in r.getMessage() for r in caplog.records)
    again = dataset[1]
    assert again['data_samples']['index'] == 2 and dataset.num_skipped == 1  # reported once
    assert torch.equal(again['inputs'], item['inputs'])


def test_clip_sampling_offsets_stride_and_determinism(videos):
    root, paths = videos
    full = from_uint8(read_video(paths['a']))  # (3, 12, 48, 64)
    manifest = root / 'only_a.jsonl'
    manifest.write_text(json.dumps({'path': 'cats/a.mp4', 'label': 3, 'caption': 'a cat'}) + '\n')

    def first(**kwargs):
        return VideoFolderDataset(ann_file=str(manifest), num_frames=4, **kwargs)[0]

    assert torch.equal(first(offset='start')['inputs'], full[:, 0:4])
    assert torch.equal(first(offset='center')['inputs'], full[:, 4:8])  # (12 - 4) // 2
    assert torch.equal(first(offset='start', frame_stride=3)['inputs'], full[:, 0:12:3])
    meta = first(offset='start')['data_samples']
    assert meta['label'] == 3 and meta['caption'] == 'a cat' and meta['path'] == paths['a']

    fixed = VideoFolderDataset(ann_file=str(manifest), num_frames=4, offset='random', seed=1)
    starts = set()
    for _ in range(3):
        video = fixed[0]['inputs']
        starts.add(next(s for s in range(9) if torch.equal(video, full[:, s : s + 4])))
    assert len(starts) == 1  # deterministic: the same clip on every call
    fresh = VideoFolderDataset(
        ann_file=str(manifest), num_frames=4, offset='random', deterministic=False, seed=1
    )
    visits = set()
    for _ in range(12):
        video = fresh[0]['inputs']
        visits.add(next(s for s in range(9) if torch.equal(video, full[:, s : s + 4])))
    assert len(visits) > 1  # training: a new clip at each visit


def test_short_videos_skip_or_pad(videos, caplog):
    root, paths = videos
    manifest = root / 'short.csv'
    manifest.write_text('path,label\nshort.mp4,1\ncats/a.mp4,2\n')
    with caplog.at_level(logging.WARNING, logger='videoar.datasets'):
        skipping = VideoFolderDataset(ann_file=str(manifest), num_frames=8)
    assert len(skipping) == 1 and skipping[0]['data_samples']['label'] == 2
    assert (
        skipping.skipped[0][0].endswith('short.mp4')
        and 'too short: 5 frames' in skipping.skipped[0][1]
    )
    padding = VideoFolderDataset(ann_file=str(manifest), num_frames=8, short_clip='pad')
    assert len(padding) == 2
    video = padding[0]['inputs']
    full = from_uint8(read_video(paths['short']))
    assert torch.equal(video[:, :5], full)
    assert all(torch.equal(video[:, t], full[:, 4]) for t in range(5, 8))


def test_resize_crop_manifest_paths_and_subdir_labels(videos):
    root, paths = videos
    resized = VideoFolderDataset(data_root=str(root), num_frames=4, height=32, width=32, offset='start',
                                 label_from_subdir=True)  # fmt: skip
    assert resized.classes == ('cats', 'dogs')
    labels = {e['path'].split('/')[-1]: e['label'] for e in resized.entries}
    assert labels == {'a.mp4': 0, 'b.gif': 1, 'short.mp4': -1}  # short.mp4 is not in a subfolder
    item = resized[0]
    assert item['inputs'].shape == (3, 4, 32, 32)
    full = from_uint8(read_video(item['data_samples']['path'], num_frames=4))
    assert torch.allclose(item['inputs'], resize_and_crop(full, (32, 32)), atol=1e-6)
    # 48x64 -> shorter side 32 -> 32x43 -> a central 32x32 window (different from the left)
    resized_full = torch.nn.functional.interpolate(
        full.permute(1, 0, 2, 3), size=(32, 43), mode='bilinear', antialias=True
    ).permute(1, 0, 2, 3)
    assert torch.allclose(item['inputs'], resized_full[..., 5:37], atol=1e-5)
    # random crops are deterministic per item
    randomly = VideoFolderDataset(data_root=str(root), num_frames=4, height=24, width=24,
                                  crop='random', short_side=40, offset='start')  # fmt: skip
    assert torch.equal(randomly[1]['inputs'], randomly[1]['inputs'])
    assert randomly[1]['inputs'].shape == (3, 4, 24, 24)
    # a manifest: relative paths from its folder (an absolute path with the flag), missing files
    # reported, bad rows explained
    manifest = root / 'list.jsonl'
    rows = [{'path': 'cats/a.mp4', 'label': 0, 'caption': 'first'},
            {'path': str(paths['b']), 'caption': 'second'},
            {'path': 'nowhere/missing.mp4', 'label': 5}]  # fmt: skip
    manifest.write_text('\n'.join(json.dumps(r) for r in rows) + '\n')
    listed = DATASETS.build(dict(type='VideoFolderDataset', ann_file=str(manifest), num_frames=4,
                                 allow_absolute_paths=True))  # fmt: skip
    assert [e['caption'] for e in listed.entries] == ['first', 'second']
    assert [e['label'] for e in listed.entries] == [0, -1]
    assert listed.skipped[0][0].endswith('missing.mp4') and 'no such file' in listed.skipped[0][1]
    (root / 'broken.jsonl').write_text('{"path": "a.mp4"}\n{oops\n')
    with pytest.raises(ConfigError, match=r'broken\.jsonl:2'):
        VideoFolderDataset(ann_file=str(root / 'broken.jsonl'))
    (root / 'nopath.csv').write_text('file,label\na.mp4,1\n')
    with pytest.raises(ConfigError, match='"path" column'):
        VideoFolderDataset(ann_file=str(root / 'nopath.csv'))


def test_pipeline_transforms_and_argument_checks(videos):
    root, paths = videos
    manifest = root / 'a.jsonl'
    manifest.write_text(json.dumps({'path': 'cats/a.mp4'}) + '\n')
    plain = VideoFolderDataset(ann_file=str(manifest), num_frames=4, offset='start')[0]['inputs']
    flipped = VideoFolderDataset(
        ann_file=str(manifest), num_frames=4, offset='start',
        pipeline=[dict(type='VideoRandomFlip', prob=1.0), dict(type='VideoCenterCrop', size=16)],
    )[0]['inputs']  # fmt: skip
    assert torch.equal(flipped, plain.flip(-1)[..., 16:32, 24:40])
    with pytest.raises(ConfigError, match='unknown key'):
        VideoFolderDataset(ann_file=str(manifest), pipeline=[dict(type='VideoRandomFlip', p=1)])
    with pytest.raises(ConfigError, match='both height and width'):
        VideoFolderDataset(ann_file=str(manifest), height=32)
    with pytest.raises(ConfigError, match='offset must be one of'):
        VideoFolderDataset(ann_file=str(manifest), offset='middle')
    with pytest.raises(ConfigError, match='needs data_root'):
        VideoFolderDataset()
    empty = root / 'nothing'
    empty.mkdir(exist_ok=True)
    (empty / 'z.mp4').write_bytes(b'')
    with pytest.raises(ConfigError, match=r'no usable video.*z\.mp4: empty file'):
        VideoFolderDataset(data_root=str(empty))
    assert np.isfinite(plain.numpy()).all()


def test_manifest_entries_must_stay_inside_the_dataset_root(videos, tmp_path):
    root, paths = videos
    outside = tmp_path / 'outside.mp4'
    outside.write_bytes(open(paths['short'], 'rb').read())  # a readable video outside the root
    manifest = root / 'escape.jsonl'
    lines = [
        {'path': 'cats/a.mp4', 'label': 1},
        {'path': '../outside.mp4', 'label': 2},
        {'path': 'cats/../../outside.mp4', 'label': 3},
        {'path': str(outside), 'label': 4},
    ]
    manifest.write_text(''.join(json.dumps(line) + '\n' for line in lines))
    dataset = VideoFolderDataset(ann_file=str(manifest), num_frames=4)
    assert [e['label'] for e in dataset.entries] == [1]
    reasons = [reason for _, reason in dataset.skipped]
    assert sum('leaves the dataset root' in r for r in reasons) == 2
    assert any('absolute paths are not served' in r for r in reasons)
    trusting = VideoFolderDataset(ann_file=str(manifest), num_frames=4, allow_absolute_paths=True)
    assert sorted(e['label'] for e in trusting.entries) == [1, 4]
