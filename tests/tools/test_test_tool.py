"""tools/test.py scores a generator checkpoint with evaluate_generation, as its hook would."""

import json
import os

import torch

from videoar.evaluation import evaluate_generation
from videoar.pipelines import init_model

HOOK = dict(
    type='GenerationEvaluationHook',
    metrics=[dict(type='PSNR')],
    interval=0,
    num_samples=4,
    batch_size=2,
    conditions='balanced',
    seed=3,
    real_dataloader=dict(
        dataset=dict(type='MovingDigits', split='val', length=8, num_frames=9, height=16, width=24)
    ),
)


def _write_config(path, tiny_videoar_config, with_hook=True):
    lines = [
        "default_scope = 'videoar'",
        f'model = {tiny_videoar_config()!r}',
        f'custom_hooks = {[HOOK] if with_hook else []!r}',
    ]
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def test_a_generator_config_is_scored_by_its_generation_evaluation_hook(
    tmp_path, tiny_videoar_config, randomise_head, run_tool
):
    config = _write_config(tmp_path / 'gen.py', tiny_videoar_config)
    torch.manual_seed(0)
    model = randomise_head(init_model(config), seed=1)
    checkpoint = tmp_path / 'iter_1.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {'iter': 1}}, checkpoint)

    run_tool('tools/test.py', config, checkpoint, '--work-dir', tmp_path / 'work', check=True)
    record = json.loads((tmp_path / 'work' / 'metrics.json').read_text())

    settings = {k: v for k, v in HOOK.items() if k not in ('type', 'interval')}
    expected = evaluate_generation(init_model(config, str(checkpoint)), progress=False, **settings)
    assert record['metrics']['psnr'] == expected.metrics['psnr']  # the same loop, same videos
    assert record['protocol']['num_samples'] == 4 and record['protocol']['seed'] == 3
    assert record['checkpoint'].endswith('iter_1.pth') and 'psnr' in record['protocols']


def test_a_config_with_nothing_to_measure_says_so(tmp_path, tiny_videoar_config, run_tool):
    config = _write_config(tmp_path / 'bare.py', tiny_videoar_config, with_hook=False)
    torch.manual_seed(0)
    checkpoint = tmp_path / 'model.pth'
    torch.save(init_model(config).state_dict(), checkpoint)
    proc = run_tool('tools/test.py', config, checkpoint, '--work-dir', tmp_path / 'work')
    assert proc.returncode != 0
    assert 'GenerationEvaluationHook' in proc.stderr and 'test_dataloader' in proc.stderr


def test_a_run_work_dir_gets_its_metrics_beside_it(
    tmp_path, tiny_videoar_config, randomise_head, run_tool, repo_root
):
    config = _write_config(tmp_path / 'gen_rundir.py', tiny_videoar_config)
    torch.manual_seed(0)
    model = randomise_head(init_model(config), seed=1)
    run = tmp_path / 'run'
    run.mkdir()
    torch.save({'state_dict': model.state_dict(), 'meta': {'iter': 1}}, run / 'iter_1.pth')
    (run / 'last_checkpoint').write_text(str(run / 'iter_1.pth'))

    proc = run_tool('tools/test.py', config, run, check=True)
    out = run / 'test' / 'metrics.json'
    assert f'metrics written to {out}' in proc.stdout
    assert json.loads(out.read_text())['checkpoint'] == str(run / 'iter_1.pth')
    assert not os.path.exists(os.path.join(repo_root, 'work_dirs', 'gen_rundir'))
