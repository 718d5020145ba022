"""Fixtures of the evaluation tests."""

import os
import sys

import pytest

# A stand-in for the ``vbench`` package, to test the subprocess delegation without it.

FAKE_PACKAGE = """
import json, os


class VBench:
    def __init__(self, device, full_info_dir, output_path):
        self.device, self.full_info, self.output_path = device, full_info_dir, output_path
        os.makedirs(output_path, exist_ok=True)

    def evaluate(self, videos_path, name, prompt_list=[], dimension_list=None, local=False,
                 read_frame=False, mode='vbench_standard', **kwargs):
        assert local is True, 'videoar must run vbench with local=True'
        assert os.environ.get('HF_HUB_OFFLINE') == '1'
        files = sorted(f for f in os.listdir(videos_path) if f.endswith('.mp4'))
        scores = json.loads(os.environ['FAKE_VBENCH_SCORES'])
        out = {d: [scores[d], [dict(video_path=os.path.join(videos_path, f), video_results=scores[d])
                               for f in files]] for d in dimension_list}
        with open(os.path.join(self.output_path, name + '_eval_results.json'), 'w') as f:
            json.dump(out, f)
        call = dict(prompt_list=prompt_list, mode=mode, files=files, device=self.device,
                    cache=os.environ.get('VBENCH_CACHE_DIR'), full_info=self.full_info)
        with open(os.path.join(self.output_path, 'call.json'), 'w') as f:
            json.dump(call, f)
"""


def make_fake_vbench(root) -> dict:
    """Write the fake package under ``root``; returns the env to find it."""
    pkg = os.path.join(str(root), 'vbench')
    os.makedirs(pkg, exist_ok=True)
    with open(os.path.join(pkg, '__init__.py'), 'w') as f:
        f.write(FAKE_PACKAGE)
    return dict(PYTHONPATH=str(root))


@pytest.fixture
def fake_vbench(tmp_path):
    """``(python, env)`` running a fake vbench package in a subprocess."""
    return sys.executable, make_fake_vbench(tmp_path / 'fake_vbench_site')
