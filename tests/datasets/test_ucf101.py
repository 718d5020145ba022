"""UCF101 over a tiny fake copy of the official layout and split files."""

import logging

import pytest
import torch

from videoar.datasets import UCF101, MovingDigits, class_name_to_words
from videoar.io.video import write_video
from videoar.registry import DATASETS
from videoar.utils.validation import ConfigError

CLASSES = ['ApplyEyeMakeup', 'HandstandPushups', 'YoYo']


@pytest.fixture(scope='module')
def ucf_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('ucf')
    digits = MovingDigits(num_frames=6, height=24, width=32, length=8)
    layout = {
        'ApplyEyeMakeup': ['v_ApplyEyeMakeup_g01_c01.avi', 'v_ApplyEyeMakeup_g08_c01.avi'],
        'HandstandPushups': ['v_HandStandPushups_g01_c01.avi', 'v_HandStandPushups_g08_c01.avi'],
        'YoYo': ['v_YoYo_g01_c01.avi', 'v_YoYo_g08_c01.avi'],
    }
    n = 0
    for name, files in layout.items():
        (root / 'UCF-101' / name).mkdir(parents=True)
        for file in files:
            write_video(root / 'UCF-101' / name / file, digits[n]['inputs'], fps=25)
            n += 1
    lists = root / 'ucfTrainTestlist'
    lists.mkdir()
    (lists / 'classInd.txt').write_text(''.join(f'{i + 1} {c}\n' for i, c in enumerate(CLASSES)))
    (lists / 'trainlist01.txt').write_text(
        'ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\n'
        'HandstandPushups/v_HandStandPushups_g08_c01.avi 2\n'
        'YoYo/v_YoYo_g08_c01.avi 3\n'
        'YoYo/v_YoYo_g09_c01.avi 3\n'  # listed but not on disk
    )
    (lists / 'testlist01.txt').write_text(
        'ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi\n'
        'handstandpushups/v_HandStandPushups_g01_c01.avi\n'  # class matched case-insensitively
        'YoYo/v_YoYo_g01_c01.avi\n'
    )
    return root


def test_class_names_become_captions():
    assert class_name_to_words('ApplyEyeMakeup') == 'apply eye makeup'
    assert class_name_to_words('YoYo') == 'yo yo'
    assert class_name_to_words('HandstandPushups') == 'handstand pushups'


def test_train_and_test_subsets_follow_the_split_files(ucf_root, caplog):
    with caplog.at_level(logging.WARNING, logger='videoar.datasets'):
        train = DATASETS.build(dict(type='UCF101', root=str(ucf_root), split=1, subset='train',
                                    num_frames=4, height=16, width=16))  # fmt: skip
    assert train.classes == tuple(CLASSES) and train.metainfo['classes'] == tuple(CLASSES)
    assert len(train) == 3
    assert [e['label'] for e in train.entries] == [0, 1, 2]  # 1-based in the file, 0-based here
    assert [e['caption'] for e in train.entries] == [
        'apply eye makeup',
        'handstand pushups',
        'yo yo',
    ]
    assert [p.split('/')[-1] for p, _ in train.skipped] == ['v_YoYo_g09_c01.avi']
    assert 'no such file' in train.skipped[0][1]
    assert any('v_YoYo_g09_c01.avi' in r.getMessage() for r in caplog.records)
    item = train[2]
    assert item['inputs'].shape == (3, 4, 16, 16) and item['inputs'].dtype == torch.float32
    assert item['data_samples']['label'] == 2 and item['data_samples']['caption'] == 'yo yo'
    assert item['data_samples']['path'].endswith('YoYo/v_YoYo_g08_c01.avi')

    test = UCF101(root=str(ucf_root), split=1, subset='test', num_frames=4)
    assert [e['label'] for e in test.entries] == [0, 1, 2]
    assert all('_g01_' in e['path'] for e in test.entries)
    assert not {e['path'] for e in test.entries} & {e['path'] for e in train.entries}


def test_missing_split_files_and_bad_arguments_are_explained(ucf_root, tmp_path):
    with pytest.raises(ConfigError, match=r'trainlist02\.txt.*not found'):
        UCF101(root=str(ucf_root), split=2)
    with pytest.raises(ConfigError, match='split must be one of'):
        UCF101(root=str(ucf_root), split=4)
    with pytest.raises(ConfigError, match='subset must be one of'):
        UCF101(root=str(ucf_root), subset='val')
    with pytest.raises(ConfigError, match='does not exist'):
        UCF101(root=str(tmp_path))
    with pytest.raises(ConfigError, match="sets 'data_root' itself"):
        UCF101(root=str(ucf_root), data_root='x')
