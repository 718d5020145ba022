import json
import os

import numpy as np
import pytest
import torch

from videoar.evaluation.vbench import native
from videoar.evaluation.vbench.export import (
    export_for_vbench,
    parse_vbench_results,
    prompt_from_filename,
    vbench_filename,
)
from videoar.evaluation.vbench.runner import run_vbench


def test_exporter_writes_the_names_vbench_expects(tmp_path):
    videos = [torch.rand(3, 5, 16, 16) * 2 - 1 for _ in range(4)]
    prompts = ['a red car', 'digit 3 moving up-left', 'a red car', 'digit 3 moving up-left']
    paths = export_for_vbench(videos, prompts, str(tmp_path), fps=8, mode='standard')
    names = [os.path.basename(p) for p in paths]
    assert names == [
        'a red car-0.mp4',
        'digit 3 moving up-left-0.mp4',
        'a red car-1.mp4',
        'digit 3 moving up-left-1.mp4',
    ]
    assert [prompt_from_filename(n) for n in names] == prompts  # VBench's prompt recovery
    assert native.read_frames_cv2(paths[0]).shape == (5, 16, 16, 3)
    mapping = json.load(open(tmp_path / 'prompts.json'))
    assert mapping['digit 3 moving up-left-1.mp4'] == 'digit 3 moving up-left'
    with pytest.raises(ValueError, match='0..4'):
        export_for_vbench(videos[:1], ['x'], str(tmp_path), mode='standard', indices=[5])
    with pytest.raises(ValueError, match='file name'):
        vbench_filename('a/b', 0)
    with pytest.raises(ValueError, match='same VBench file name'):
        export_for_vbench(videos[:2], ['x', 'x'], str(tmp_path), indices=[1, 1])


def test_parse_results(tmp_path):
    path = tmp_path / 'run_eval_results.json'
    path.write_text(
        json.dumps(
            {
                'dynamic_degree': [0.25, [{'video_path': 'a-0.mp4', 'video_results': False}]],
                'subject_consistency': [0.93, [{'video_path': 'a-0.mp4', 'video_results': 0.93}]],
            }
        )
    )
    assert parse_vbench_results(str(path)) == {'dynamic_degree': 0.25, 'subject_consistency': 0.93}


def test_delegation_runs_vbench_in_a_subprocess(tmp_path, fake_vbench):
    python, env = fake_vbench
    env['FAKE_VBENCH_SCORES'] = json.dumps({'motion_smoothness': 0.97, 'human_action': 0.9})
    frames = np.zeros((4, 16, 16, 3), np.uint8)
    export_for_vbench([frames, frames], ['a dog', 'a cat'], str(tmp_path / 'videos'))
    scores = run_vbench(
        str(tmp_path / 'videos'), ['motion_smoothness', 'human_action'], str(tmp_path / 'out'),
        python=python, cache_dir=str(tmp_path / 'cache'), device='cpu',
        prompt_file=str(tmp_path / 'videos' / 'prompts.json'), extra_env=env,
    )  # fmt: skip
    assert scores == {'motion_smoothness': 0.97, 'human_action': 0.9}
    call = json.load(open(tmp_path / 'out' / 'call.json'))
    assert call['mode'] == 'custom_input' and call['cache'] == str(tmp_path / 'cache')
    assert call['prompt_list'] == {'a dog-0.mp4': 'a dog', 'a cat-0.mp4': 'a cat'}
    assert call['full_info'].endswith('VBench_full_info.json')
    with pytest.raises(ValueError, match='custom_input'):
        run_vbench(str(tmp_path), ['scene'], str(tmp_path / 'o'), python=python)
    with pytest.raises(FileNotFoundError, match='virtualenv'):
        run_vbench(str(tmp_path), ['human_action'], str(tmp_path / 'o'), python='/nope/python')
    env['FAKE_VBENCH_SCORES'] = '{}'  # the fake raises KeyError -> a clear failure with the log
    with pytest.raises(RuntimeError, match='vbench failed'):
        run_vbench(
            str(tmp_path / 'videos'),
            ['human_action'],
            str(tmp_path / 'o2'),
            python=python,
            extra_env=env,
        )
