"""tools/generate.py end to end: playable files, settings.json, refusals before any work."""

import hashlib
import json
import os

import numpy as np
import pytest
import torch
from mmengine.config import Config

from videoar.io.video import probe_video, read_video
from videoar.pipelines import init_model
from videoar.pipelines import long_video as long_video_module

TOKENIZER = dict(type='CausalVideoTokenizer', latent_dim=4, spatial_stride=8, temporal_stride=4,
                 base_channels=4, channel_mult=(1, 1, 1))  # fmt: skip
CLASS_CONFIG = f"""
model = dict(
    type='VideoAR',
    tokenizer={TOKENIZER!r},
    quantizer=dict(type='MultiScaleBSQ', embed_dim=4, scale_sizes=[(1, 1), (1, 2), (2, 3)]),
    transformer=dict(type='ARTransformer', dim=32, depth=2, num_heads=2),
    conditioner=dict(type='ClassConditioner', num_classes=10),
    pos_encoding=dict(type='MultiScaleTemporalRoPE'),
    num_frames=9,
    resolution=(16, 24),
    sample_cfg=dict(cfg_scale=2.0),
)
train_dataloader = dict(dataset=dict(type='MovingDigits', split='train', length=8, num_frames=9,
                                     height=16, width=24))
"""
TEXT_CONFIG = CLASS_CONFIG.replace(
    "dict(type='ClassConditioner', num_classes=10)",
    "dict(type='CharTextConditioner', max_length=28, width=32, depth=1, num_heads=2)",
)


def _write_tiny(tmp_path, name, text):
    """A config file and a checkpoint in mmengine's format for it."""
    config = tmp_path / f'{name}.py'
    config.write_text(text)
    torch.manual_seed(0)
    model = init_model(Config.fromfile(str(config)))
    with torch.no_grad():
        model.head.weight.normal_(std=0.3)
    ckpt = tmp_path / f'{name}.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    return str(config), str(ckpt)


def test_generate_tool_writes_playable_files_and_settings(tmp_path, run_tool):
    config, ckpt = _write_tiny(tmp_path, 'tiny_class', CLASS_CONFIG)
    out = tmp_path / 'out'
    proc = run_tool('tools/generate.py', config, ckpt, '--classes', '3', '7', '--num-samples', '2',
                    '--cfg-schedule', 'TemporalSpatialCFG', '--cfg', 'max_scale=6', '--seed', '5',
                    '--out', out, check=True)  # fmt: skip
    assert str(out) in proc.stdout and 'wrote 4 videos' in proc.stdout
    assert 'sampling steps' in proc.stderr  # the progress bar
    names = sorted(os.listdir(out))
    assert names == sorted(
        [f'{i:03d}_class-{c}.{ext}' for i, c in enumerate('3377') for ext in ('mp4', 'gif')]
        + ['grid.mp4', 'grid.gif', 'grid_labels.txt', 'settings.json']
    )
    # the grid's tiles, row by row (2 samples per condition per row)
    assert (out / 'grid_labels.txt').read_text().splitlines()[:3] == [
        'row 0, column 0: class 3',
        'row 0, column 1: class 3',
        'row 1, column 0: class 7',
    ]
    for name in ('000_class-3.mp4', '003_class-7.gif'):
        frames = read_video(out / name)
        assert frames.shape == (9, 16, 24, 3), name
    grid = probe_video(out / 'grid.mp4', exact=True)
    assert grid['num_frames'] == 9
    # 2 x 2, padding 2, a 12-row label band above each tile (the class written in it)
    assert (grid['height'], grid['width']) == (2 * (12 + 16) + 3 * 2, 2 * 24 + 3 * 2)
    settings = json.loads((out / 'settings.json').read_text())
    with open(ckpt, 'rb') as handle:
        assert settings['checkpoint_sha256'] == hashlib.sha256(handle.read()).hexdigest()[:16]
    assert settings['config'] == os.path.abspath(config)
    assert settings['classes'] == [3, 7] and settings['num_samples'] == 2
    assert settings['seed'] == 5 and settings['num_frames'] == 9
    assert settings['cfg_schedule'] == dict(type='TemporalSpatialCFG', first_start=1.0,
                                            first_end=5.0, max_scale=6.0)  # fmt: skip
    assert settings['windows']['num_windows'] == 1 and len(settings['files']) == 4
    assert settings['command'][1:3] == [config, ckpt]


def test_generate_tool_text_prompts_file_and_a_long_video(tmp_path, capsys, load_tool):
    tool = load_tool('tools/generate.py')
    config, ckpt = _write_tiny(tmp_path, 'tiny_text', TEXT_CONFIG)
    prompts = tmp_path / 'prompts.txt'
    prompts.write_text('digit 3 moving up-left\n\ndigit 7 moving down\n')
    out = tmp_path / 'long'
    code = tool.main([config, ckpt, '--prompts-file', str(prompts), '--frames', '17',
                      '--overlap', '1', '--cfg-schedule', 'DecreasingCFG', '--out', str(out),
                      '--no-progress'])  # fmt: skip
    assert code == 0
    # 5 latent frames from windows of 3: [0, 3) then [2, 5), joined at latent 3 = pixel 9
    assert '2 windows join at pixel frames [9] (latent frames [3])' in capsys.readouterr().out
    frames = read_video(out / '001_digit-7-moving-down.mp4')
    assert frames.shape == (17, 16, 24, 3)
    settings = json.loads((out / 'settings.json').read_text())
    assert settings['prompts'] == ['digit 3 moving up-left', 'digit 7 moving down']
    assert settings['windows']['joins'] == dict(pixel=[9], latent=[3])
    assert settings['long_video'] and settings['overlap'] == 1


@pytest.mark.parametrize(
    'extra, message',
    [
        (['--classes', '3', '12'], "unknown class '12'; valid classes are the indices 0..9"),
        (['--prompts', 'digit 3'], 'class-conditional'),
        (['--classes', '1', '--init-video', 'nope.mp4'],
         "cannot read init video 'nope.mp4': no such file"),
        (['--classes', '1', '--cfg', 'max_scale=3'], '--cfg sets parameters of --cfg-schedule'),
        (['--classes', '1', '--frames', '8'], 'num_frames=8 is not of the form'),
    ],
    ids=['unknown-class', 'prompt-on-class-model', 'missing-init-video', 'cfg-without-schedule',
         'bad-frames'],
)  # fmt: skip
def test_generate_tool_refuses_bad_requests_before_any_work(
    tmp_path, capsys, monkeypatch, extra, message, load_tool
):
    tool = load_tool('tools/generate.py')
    config, ckpt = _write_tiny(tmp_path, 'tiny_class', CLASS_CONFIG)
    # the pipeline's only call of the sampler is in its window loop
    monkeypatch.setattr(long_video_module, 'sample_video', lambda *a, **k: pytest.fail('sampled'))
    out = tmp_path / 'never'
    with pytest.raises(SystemExit) as exit_info:
        tool.main([config, ckpt, '--out', str(out), '--no-progress'] + extra)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert 'generate.py: error:' in err and message in err
    assert not out.exists()


def test_generate_tool_refuses_an_empty_prompt_and_an_unreadable_video(tmp_path, capsys, load_tool):
    tool = load_tool('tools/generate.py')
    config, ckpt = _write_tiny(tmp_path, 'tiny_text', TEXT_CONFIG)
    with pytest.raises(SystemExit) as exit_info:
        tool.main([config, ckpt, '--prompts', 'digit 3', '', '--no-progress'])
    assert exit_info.value.code == 2 and 'prompt 1 is empty' in capsys.readouterr().err
    broken = tmp_path / 'broken.mp4'
    broken.write_bytes(b'\x00' * 64)
    with pytest.raises(SystemExit):
        tool.main([config, ckpt, '--prompts', 'digit 3', '--init-video', str(broken)])
    err = capsys.readouterr().err
    assert 'broken.mp4' in err and 'not a readable video container' in err


def test_generate_tool_refuses_a_checkpoint_of_another_config(tmp_path, capsys, load_tool):
    tool = load_tool('tools/generate.py')
    _, class_ckpt = _write_tiny(tmp_path, 'tiny_class', CLASS_CONFIG)
    text_config, _ = _write_tiny(tmp_path, 'tiny_text', TEXT_CONFIG)
    with pytest.raises(SystemExit) as exit_info:
        tool.main([text_config, class_ckpt, '--prompts', 'digit 3', '--no-progress'])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert 'tiny_class.pth' in err and 'does not match the config' in err


def test_generate_tool_grid_labels_switch(tmp_path, load_tool):
    tool = load_tool('tools/generate.py')
    torch.manual_seed(0)
    videos = torch.rand(2, 3, 3, 16, 24) * 2 - 1
    before = videos.clone()
    result = dict(
        videos=videos,
        conditions=[dict(prompt='a digit moving right'), dict(**{'class': 3, 'class_name': '3'})],
    )
    _, labelled = tool.write_videos(str(tmp_path / 'on'), result, 1, 8.0)
    _, plain = tool.write_videos(str(tmp_path / 'off'), result, 1, 8.0, labels=False)
    assert torch.equal(videos, before)
    on, off = read_video(labelled['mp4']), read_video(plain['mp4'])
    assert on.shape[1] == off.shape[1] + 2 * 12  # one label band per row (one tile per row)
    # the per-video files are the same with or without labels: no label band (same shape) and
    # the same pixels up to the encoder (one CI run saw a few pixel values differ between two
    # encodings of the same frames; a drawn label would change whole rows)
    assert sorted(os.listdir(tmp_path / 'on')) == sorted(os.listdir(tmp_path / 'off'))
    for name in os.listdir(tmp_path / 'on'):
        if name.endswith('.mp4') and not name.startswith('grid'):
            a, b = read_video(tmp_path / 'on' / name), read_video(tmp_path / 'off' / name)
            assert a.shape == b.shape == (3, 16, 24, 3)
            assert np.abs(a.astype(np.int16) - b.astype(np.int16)).mean() < 2.0
    assert 'grid_labels.txt' in os.listdir(tmp_path / 'on')
