"""VideoBatch: built once at collate time, the one place that reads untyped data_samples."""

import pytest
import torch
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from videoar.registry import FUNCTIONS
from videoar.structures import VideoBatch, video_collate


def test_collate_types_every_field_and_keeps_extra_metadata():
    items = [
        dict(inputs=torch.full((3, 2, 4, 4), float(i)),
             data_samples=dict(label=i, caption=f'digit {i}', index=10 + i, path=f'/v/{i}.mp4'))
        for i in range(3)
    ]  # fmt: skip
    batch = video_collate(items)
    assert batch['inputs'].shape == (3, 3, 2, 4, 4)
    samples = batch['data_samples']
    assert isinstance(samples, VideoBatch) and len(samples) == 3
    assert samples.label.tolist() == [0, 1, 2] and samples.index.tolist() == [10, 11, 12]
    assert samples.caption == ['digit 0', 'digit 1', 'digit 2'] and samples.latent is None
    assert samples.get('path') == ['/v/0.mp4', '/v/1.mp4', '/v/2.mp4']
    picked = samples.select([2, 0])
    assert picked.label.tolist() == [2, 0] and picked.get('path') == ['/v/2.mp4', '/v/0.mp4']


def test_latent_items_and_missing_fields():
    items = [
        dict(inputs=torch.zeros(0), data_samples=dict(latent=torch.full((4, 2, 2, 2), float(i))))
        for i in range(2)
    ]
    samples = video_collate(items)['data_samples']
    assert samples.latent.shape == (2, 4, 2, 2, 2) and samples.latent[1].eq(1).all()
    assert samples.label.tolist() == [-1, -1] and samples.caption == ['', '']
    assert samples.index.tolist() == [0, 1] and not samples.has_labels


def test_of_accepts_the_untyped_forms_once_and_checks_lengths():
    from_dict = VideoBatch.of({'label': torch.tensor([3, 7])})
    from_list = VideoBatch.of([{'label': 3}, {'label': 7}])
    assert from_dict.label.tolist() == from_list.label.tolist() == [3, 7]
    assert VideoBatch.of(from_dict) is from_dict
    assert len(VideoBatch.of(None, batch_size=4)) == 4
    with pytest.raises(ValueError, match='batch_size'):
        VideoBatch.of(None)
    with pytest.raises(ValueError, match='2 samples, batch_size=3'):
        VideoBatch.of(from_dict, batch_size=3)
    with pytest.raises(ValueError, match='lengths'):
        VideoBatch.build(label=[1, 2], caption=['a'])
    with pytest.raises(TypeError, match='VideoBatch'):
        VideoBatch.of('label')


def test_a_dataloader_config_builds_video_collate_by_name():
    assert FUNCTIONS.get('video_collate') is video_collate
    with DefaultScope.overwrite_default_scope('videoar'):
        loader = Runner.build_dataloader(
            dict(
                batch_size=2,
                num_workers=0,
                dataset=dict(type='MovingDigits', split='val', length=4, num_frames=5),
                sampler=dict(type='DefaultSampler', shuffle=False),
                collate_fn=dict(type='video_collate'),
            )
        )
    batch = next(iter(loader))
    assert batch['inputs'].shape[:3] == (2, 3, 5)
    assert isinstance(batch['data_samples'], VideoBatch) and len(batch['data_samples']) == 2


def test_the_batch_size_may_come_from_extra_metadata():
    batch = VideoBatch.of({'tokens': torch.tensor([[1, 2], [3, -1], [4, 5]]), 'note': 'x'})
    assert len(batch) == 3 and batch.get('tokens').shape == (3, 2)
    assert batch.label.tolist() == [-1, -1, -1] and batch.get('note') == 'x'
    with pytest.raises(ValueError, match='lengths'):
        VideoBatch.of({'tokens': torch.zeros(3, 2), 'label': torch.tensor([1, 2])})


def test_dict_style_reads_for_models_written_against_the_dict_form():
    batch = VideoBatch.build(label=[3, 7], caption=['a', 'b'], path=['x', 'y'])
    assert batch['label'].tolist() == [3, 7] and batch['caption'] == ['a', 'b']
    assert batch['path'] == ['x', 'y'] and 'path' in batch and 'label' in batch
    assert 'latent' not in batch and batch['latent'] is None
    with pytest.raises(KeyError):
        batch['missing']
