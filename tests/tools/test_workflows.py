"""The README's "After the main job" workflows end to end on the quick profile, run from a
directory outside the repository: the main job -> stage 2 on its own from the main job's
outputs -> tools/test.py on the checkpoint -> get_flops -> analyze_logs -> browse_dataset
(clip export) -> generate continuing an exported clip -> publish_model."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from videoar.io.checkpoint import load_checkpoint_safe
from videoar.io.video import read_video

pytestmark = pytest.mark.slow
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: the quick profile's AR model sizes (configs/videoar_curriculum_quick.py)
QUICK_MODEL = ['model.transformer.dim=64', 'model.transformer.depth=2',
               'model.transformer.num_heads=2']  # fmt: skip


@pytest.fixture(scope='module')
def chain(tmp_path_factory):
    """Run tools from ``cwd`` (not the repository); the quick main job is trained once."""
    repo_root = REPO
    cwd = tmp_path_factory.mktemp('elsewhere')
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = os.pathsep.join([repo_root, env.get('PYTHONPATH', '')])

    def run(tool, *args, check=True, timeout=900):
        proc = subprocess.run([sys.executable, os.path.join(repo_root, tool), *map(str, args)],
                              cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout)  # fmt: skip
        if check:
            assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
        return proc

    config = lambda name: os.path.join(repo_root, 'configs', name)  # noqa: E731
    run('tools/train.py', config('videoar_curriculum_quick.py'))
    work = os.path.join(cwd, 'work_dirs', 'videoar_curriculum_quick')
    return dict(run=run, cwd=str(cwd), work=work, config=config)


def test_stage2_alone_takes_the_main_jobs_tokenizer_cache_and_stage1(chain):
    work = chain['work']
    proc = chain['run']('tools/train.py', chain['config']('videoar_stage2.py'), '--cfg-options',
                        f'inputs.run={work}', 'train_cfg.max_iters=2',
                        'default_hooks.logger.interval=1',
                        'train_dataloader.batch_size=4', 'train_dataloader.dataset.dataset.num_items=16',
                        *QUICK_MODEL)  # fmt: skip
    out = proc.stdout + proc.stderr
    assert f'[videoar] inputs (from {work}): tokenizer {work}/tokenizer/iter_4.pth' in out
    assert 'LatentCacheDataset: reusing ' + os.path.join(work, 'latent_cache') in out
    finished = json.load(open(os.path.join(chain['cwd'], 'work_dirs/videoar_stage2/finished.json')))
    assert finished['init_checkpoint'] == os.path.join(work, 'stage1', 'iter_6.pth')
    assert finished['tokenizer_checkpoint'] == os.path.join(work, 'tokenizer', 'iter_4.pth')


def test_the_ar_stages_use_the_tokenizers_averaged_weights(chain):
    """The tokenizer config averages its weights (EMAHook): the checkpoint's state_dict holds the
    average, and the AR stages freeze exactly that tokenizer, not the last step's weights."""
    work = chain['work']
    tok = load_checkpoint_safe(os.path.join(work, 'tokenizer', 'iter_4.pth'))
    averaged, raw = tok['state_dict'], tok['ema_state_dict']  # mmengine swaps them on save
    stage1 = load_checkpoint_safe(os.path.join(work, 'stage1', 'iter_6.pth'))
    keys = [k for k in averaged if k.startswith('tokenizer.') and averaged[k].is_floating_point()]
    assert keys
    assert any(not torch.equal(averaged[k], raw['module.' + k]) for k in keys)
    for key in keys:
        torch.testing.assert_close(stage1['state_dict'][key], averaged[key], rtol=0, atol=0)


def test_test_py_reproduces_the_main_jobs_evaluation(chain):
    copied = os.path.join(chain['cwd'], 'copied_main_job')  # a main job copied elsewhere
    shutil.copytree(chain['work'], copied, symlinks=True)
    proc = chain['run']('tools/test.py', chain['config']('videoar_curriculum_quick.py'), copied)
    assert 'class_accuracy' in proc.stdout
    out = os.path.join(copied, 'test', 'metrics.json')  # beside the run it scored
    main_job = json.load(open(os.path.join(chain['work'], 'metrics.json')))['metrics']
    assert json.load(open(out))['metrics'] == main_job  # same settings, same seeds


def test_get_flops_counts_training_and_generation(chain):
    out = os.path.join(chain['cwd'], 'flops.json')
    proc = chain['run']('tools/analysis_tools/get_flops.py', chain['config']('videoar_stage3.py'),
                        '--json', out, '--cfg-options', *QUICK_MODEL)  # fmt: skip
    assert 'GFLOPs' in proc.stdout
    flops = json.load(open(out))
    assert 0 < flops['train_forward'] < flops['generate_video']
    assert flops['train_forward_by_operator'].get('scaled_dot_product_attention', 0) > 0


def test_analyze_logs_summarises_and_plots_several_runs(chain):
    stage2_alone = os.path.join(chain['cwd'], 'work_dirs', 'videoar_stage2')
    proc = chain['run']('tools/analysis_tools/analyze_logs.py', 'summary', chain['work'])
    assert 'videoar_curriculum_quick/stage3' in proc.stdout and 'loss' in proc.stdout
    png = os.path.join(chain['cwd'], 'curves.png')
    chain['run']('tools/analysis_tools/analyze_logs.py', 'plot',
                 os.path.join(chain['work'], 'stage2'), stage2_alone, '--keys', 'loss',
                 'acc_bit', '--out', png)  # fmt: skip
    assert os.path.getsize(png) > 1000


def test_an_exported_clip_feeds_generate(chain):
    clips = os.path.join(chain['cwd'], 'clips')
    chain['run']('tools/analysis_tools/browse_dataset.py', chain['config']('videoar_stage3.py'),
                 '--split', 'val', '--num', '2', '--export', '--out', clips)  # fmt: skip
    index = json.load(open(os.path.join(clips, 'clips.json')))['clips']
    clip = index[0]['file']
    assert read_video(clip).shape == (17, 32, 32, 3)
    out = os.path.join(chain['cwd'], 'continued')
    stage3 = os.path.join(chain['work'], 'stage3')
    chain['run']('tools/generate.py', os.path.join(stage3, 'videoar_stage3.py'), stage3,
                 '--classes', str(index[0]['label']), '--init-video', os.path.relpath(clip, chain['cwd']),
                 '--init-frames', '5', '--out', out, '--no-progress')  # fmt: skip
    settings = json.load(open(os.path.join(out, 'settings.json')))
    assert settings['init_video'] == clip  # absolute, though given relative
    assert settings['checkpoint'] == os.path.join(stage3, 'iter_6.pth')
    assert open(os.path.join(out, 'grid_labels.txt')).read().startswith('row 0, column 0: ')


def test_publish_model_keeps_weights_only(chain):
    proc = chain['run']('tools/analysis_tools/publish_model.py',
                        os.path.join(chain['work'], 'stage3'), 'stage3.pth')  # fmt: skip
    published = proc.stdout.split('published ')[1].split(' ')[0]
    path = os.path.join(chain['cwd'], published)
    state = torch.load(path, weights_only=True)
    assert set(state) == {'state_dict', 'meta'}
    original = torch.load(os.path.join(chain['work'], 'stage3', 'iter_6.pth'), weights_only=False)
    assert state['state_dict'].keys() == original['state_dict'].keys()
    assert 'optimizer' in original and 'optimizer' not in state
