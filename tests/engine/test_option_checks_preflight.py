"""Pre-flight checks of datasets and hooks: one ConfigError with the fix, before any build."""

import os
import subprocess
import sys

import pytest
from torch.utils.data import Dataset

from videoar.engine import launch
from videoar.engine.option_checks import preflight_components
from videoar.registry import DATASETS
from videoar.utils import ConfigError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STAGE3 = os.path.join(REPO, 'configs', 'videoar_stage3.py')


def _cfg(**options):
    cfg = launch.load_config(STAGE3)
    cfg.merge_from_dict(options)
    return cfg


def test_the_shipped_stage_config_passes():
    preflight_components(_cfg())


@pytest.mark.parametrize(
    'options, message',
    [
        ({'train_dataloader.dataset.type': 'MovingDigit'},
         "train_dataloader.dataset.type='MovingDigit' is not a registered dataset; did you mean "
         "['MovingDigits']?"),
        ({'train_dataloader.dataset.dataset.lenght': 8},
         "train_dataloader.dataset.dataset: MovingDigits has no argument 'lenght' (did you mean "
         "'length'?)"),
        ({'custom_hooks.0.chekpoint': 'x.pth'},
         "custom_hooks.0: InitFromStageHook has no argument 'chekpoint' (did you mean "
         "'checkpoint'?)"),
        ({'custom_hooks.0.type': 'InitFromStagHook'},
         "custom_hooks.0.type='InitFromStagHook' is not a registered hook; did you mean"),
    ],
)  # fmt: skip
def test_bad_datasets_and_hooks_are_named_with_the_fix(options, message):
    with pytest.raises(ConfigError) as err:
        preflight_components(_cfg(**options))
    assert str(err.value).startswith(message)


def test_a_missing_required_argument_is_named(tmp_path):
    cfg = _cfg()
    cfg.train_dataloader.dataset = dict(type='LatentCacheDataset')  # needs its pixel dataset
    with pytest.raises(ConfigError, match=r"LatentCacheDataset needs 'dataset'; set it in the "
                                          r'config or with --cfg-options '
                                          r'train_dataloader.dataset.dataset=\.\.\.'):  # fmt: skip
        preflight_components(cfg)


def test_train_py_stops_before_the_config_dump_with_exit_code_2(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.environ.get('PYTHONPATH', '')]))
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO, 'tools', 'train.py'), STAGE3, '--work-dir',
         str(tmp_path / 'w'), '--cfg-options', 'custom_hooks.0.chekpoint=x.pth'],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith('[videoar] error:')]
    assert len(errors) == 1 and "no argument 'chekpoint'" in errors[0]
    assert 'Environment' not in proc.stdout + proc.stderr  # no environment / config dump
    assert not (tmp_path / 'w').exists() or not any((tmp_path / 'w').rglob('*.py'))


@DATASETS.register_module(force=True)
class DefaultRootClips(Dataset):
    """A dataset whose data_root has a default (so a config need not name it)."""

    def __init__(self, data_root: str = 'data/default_root_clips_nowhere', num_frames: int = 4):
        self.data_root = data_root

    def __len__(self):
        return 0


def _loader(dataset):
    return dict(batch_size=1, num_workers=0, sampler=dict(type='DefaultSampler'),
                dataset=dataset)  # fmt: skip


@pytest.mark.parametrize(
    'dataset, key',
    [
        (dict(type='VideoFolderDataset', data_root='data/no_such_videos'), 'data_root'),
        (dict(type='VideoFolderDataset', ann_file='data/no_such_manifest.jsonl'), 'ann_file'),
        (dict(type='UCF101', root='data/no_such_ucf101'), 'root'),
        (dict(type='ShardDataset', shards='data/no_such_shards/shard-{000000..000003}.tar'),
         'shards'),
        (dict(type='DefaultRootClips'), 'data_root'),
    ],
)  # fmt: skip
def test_a_missing_input_path_is_one_line_with_the_fix(tmp_path, monkeypatch, dataset, key):
    monkeypatch.chdir(tmp_path)
    cfg = _cfg()
    cfg.val_dataloader = _loader(dataset)
    with pytest.raises(ConfigError) as err:
        preflight_components(cfg)
    _check_message(str(err.value), f'val_dataloader.dataset.{key}', tmp_path)
    _make(str(err.value), tmp_path)
    preflight_components(cfg)


def test_a_wrapped_dataset_s_missing_path_is_found(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = _cfg()  # stage 3 trains on a LatentCacheDataset wrapping the pixel dataset
    cfg.train_dataloader.dataset.dataset = dict(type='VideoFolderDataset', data_root='clips')
    with pytest.raises(ConfigError) as err:
        preflight_components(cfg)
    _check_message(str(err.value), 'train_dataloader.dataset.dataset.data_root', tmp_path)
    (tmp_path / 'clips').mkdir()
    preflight_components(cfg)


def _check_message(message, key, tmp_path):
    assert message.startswith(f'{key}='), message
    assert f'does not exist (relative to {tmp_path})' in message and '\n' not in message
    assert f'--cfg-options {key}=PATH' in message


def _make(message, tmp_path):
    """Create the path the message names (so the same config passes)."""
    value = message.split('=', 1)[1].split(':', 1)[0].strip("'")
    target = tmp_path / (value.rsplit('/', 1)[0] if '{' in value else value)
    (target.parent if target.suffix else target).mkdir(parents=True, exist_ok=True)
    if target.suffix and '{' not in value:
        target.write_text('')
