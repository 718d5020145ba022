"""The base dataset configs build working dataloaders (MovingDigits) or are valid templates."""

import os

from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from videoar.datasets import VisitInfiniteSampler
from videoar.registry import DATA_SAMPLERS, DATASETS
from videoar.structures import VideoBatch

BASE = os.path.join(os.path.dirname(__file__), '..', '..', 'configs', '_base_', 'datasets')


def test_moving_digits_base_config_builds_dataloaders():
    cfg = Config.fromfile(os.path.join(BASE, 'moving_digits.py'))
    assert cfg.num_frames == 17 and cfg.img_size == 32
    assert cfg.train_dataloader.sampler.type == 'InfiniteSampler'
    assert cfg.val_dataloader.sampler == dict(type='DefaultSampler', shuffle=False)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[key].collate_fn == dict(type='video_collate')
    splits = {
        cfg[k].dataset.split for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    }
    assert splits == {'train', 'val', 'test'}
    with DefaultScope.overwrite_default_scope('videoar'):
        train = Runner.build_dataloader(cfg.train_dataloader, seed=0)
        batch = next(iter(train))
        val = Runner.build_dataloader(cfg.val_dataloader)
        first = next(iter(val))
    assert batch['inputs'].shape == (8, 3, 17, 32, 32)
    # video_collate: the metadata arrive as one typed VideoBatch
    assert isinstance(batch['data_samples'], VideoBatch)
    assert batch['data_samples'].label.shape == (8,) and batch['data_samples'].has_labels
    assert len(batch['data_samples'].caption) == 8
    # val is not shuffled: its first batch is items 0..7 in order
    assert first['data_samples'].index.tolist() == list(range(8))
    assert first['data_samples'].caption[0] == val.dataset[0]['data_samples']['caption']


def test_overriding_the_frame_count_in_a_child_config(tmp_path):
    child = tmp_path / 'child.py'
    child.write_text(
        f'_base_ = [{os.path.abspath(os.path.join(BASE, "moving_digits.py"))!r}]\n'
        'num_frames = 9\n'
        'train_dataloader = dict(dataset=dict(num_frames=num_frames))\n'
    )
    cfg = Config.fromfile(str(child))
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    assert dataset[0]['inputs'].shape == (3, 9, 32, 32)


def test_real_video_templates_reference_registered_datasets():
    for name, kind in (('video_folder.py', 'VideoFolderDataset'), ('ucf101.py', 'UCF101')):
        cfg = Config.fromfile(os.path.join(BASE, name))
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            assert cfg[key].dataset.type == kind
        assert DATASETS.get(kind).__name__ == kind
        # a new clip per visit: the sampler hands out the visits (exact, fast resume)
        assert cfg.train_dataloader.dataset.deterministic is False
        assert cfg.train_dataloader.sampler.type == 'VisitInfiniteSampler'
        assert DATA_SAMPLERS.get('VisitInfiniteSampler') is VisitInfiniteSampler
