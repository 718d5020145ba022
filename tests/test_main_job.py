"""The main job end to end: the quick curriculum through tools/train.py, an interrupted stage
resumed, weights passed from stage to stage, and tools/generate.py on the result."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from videoar.io.video import probe_video, read_video

CONFIG = 'configs/videoar_curriculum_quick.py'
pytestmark = pytest.mark.slow


def _state(path):
    return torch.load(path, map_location='cpu', weights_only=False)['state_dict']


def test_quick_curriculum_interrupt_resume_and_generate(
    tmp_path, repo_root, subprocess_env, run_tool
):
    work = str(tmp_path / 'curriculum')
    # stage 2 trains with lr 0: its final weights must then be exactly what stage 1 handed over
    # stage 3 runs 12 iterations here (checkpoints every 2), long enough to be interrupted
    frozen_stage2 = ['--cfg-options', 'stages.stage2.cfg_options.optim_wrapper.optimizer.lr=0.0',
                     'stages.stage3.cfg_options.train_cfg.max_iters=12']  # fmt: skip

    # 1. start the curriculum and kill it once stage 3 has written its first checkpoint
    cmd = [sys.executable, 'tools/train.py', CONFIG, '--work-dir', work, *frozen_stage2]
    log = open(tmp_path / 'first_run.log', 'w')  # a file, not a pipe: nobody reads it meanwhile
    proc = subprocess.Popen(cmd, env=subprocess_env, cwd=repo_root, start_new_session=True,
                            stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    stage3 = os.path.join(work, 'stage3')
    deadline = time.time() + 900
    while proc.poll() is None and time.time() < deadline:
        if os.path.isfile(os.path.join(stage3, 'last_checkpoint')):
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    log.close()
    assert os.path.isfile(os.path.join(stage3, 'last_checkpoint')), (
        tmp_path / 'first_run.log'
    ).read_text()[-4000:]
    assert not os.path.isfile(os.path.join(stage3, 'finished.json')), 'stage 3 was not interrupted'
    interrupted_at = open(os.path.join(stage3, 'last_checkpoint')).read().strip()

    # 2. the same command again: finished stages are skipped, stage 3 resumes, evaluation runs
    proc = run_tool('tools/train.py', CONFIG, '--work-dir', work, *frozen_stage2, timeout=900,
                    check=True)  # fmt: skip
    out = proc.stdout + proc.stderr
    for stage in ('tokenizer', 'stage1', 'stage2'):
        assert f'stage {stage}: finished earlier' in out
    assert 'resumed' in out.lower() and os.path.basename(interrupted_at) in out
    finished = json.load(open(os.path.join(work, 'stage3', 'finished.json')))
    assert finished['iteration'] == 12

    # 3. weights passed along: stage 2 (lr 0) holds stage 1's transformer exactly, and the
    #    scale embedding grew from stage 1's 2 scales to 4 with the first rows copied
    s1 = _state(os.path.join(work, 'stage1', 'iter_6.pth'))
    s2 = _state(os.path.join(work, 'stage2', 'iter_6.pth'))
    s3 = _state(os.path.join(work, 'stage3', 'iter_12.pth'))
    tok = _state(os.path.join(work, 'tokenizer', 'iter_4.pth'))
    block = 'transformer.blocks.0.attn.qkv.weight'
    block = block if block in s1 else next(k for k in s1 if k.startswith('transformer.blocks.0.'))
    assert torch.equal(s1[block], s2[block])
    assert not torch.equal(s2[block], s3[block])  # stage 3 trained on
    assert s1['scale_embed.weight'].shape[0] == 2 and s2['scale_embed.weight'].shape[0] == 4
    assert torch.equal(s1['scale_embed.weight'], s2['scale_embed.weight'][:2])
    tok_key = next(k for k in tok if k.startswith('tokenizer.'))
    assert torch.equal(tok[tok_key], s3[tok_key])  # the frozen tokenizer is the trained one

    # 4. the artefacts of the main job
    metrics = json.load(open(os.path.join(work, 'metrics.json')))
    text = json.dumps(metrics)
    assert 'class_accuracy' in text and 'shuffled' in text and 'real' in text
    # the reconstruction reference (real clips through the tokenizer): present, with its protocol
    scores = metrics['metrics']
    assert any(k.startswith('reconstruction/') for k in scores), sorted(scores)
    assert 'reconstruction' in metrics['protocol']['references']
    report = open(os.path.join(work, 'report.md')).read()
    assert '| reconstruction |' in report and '| generated / reconstruction |' in report
    assert probe_video(os.path.join(work, 'samples.mp4'))['num_frames'] == 17

    # 5. tools/generate.py on the final checkpoint writes a playable mp4
    out_dir = str(tmp_path / 'generated')
    run_tool('tools/generate.py', 'configs/videoar_stage3.py',
             os.path.join(work, 'stage3', 'iter_12.pth'), '--classes', '3', '--num-samples', '1',
             '--out', out_dir, '--cfg-options', 'model.transformer.dim=64',
             'model.transformer.depth=2', 'model.transformer.num_heads=2',
             timeout=600, check=True)  # fmt: skip
    mp4s = sorted(f for f in os.listdir(out_dir) if f.endswith('.mp4') and 'grid' not in f)
    frames = read_video(os.path.join(out_dir, mp4s[0]))
    assert frames.shape[0] == 17 and frames.shape[1:3] == (32, 32)
