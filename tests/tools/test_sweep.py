"""tools/sweep.py end to end: a two-setting, two-seed sweep of a tiny config (two iterations);
table, plot and paired differences; re-running skips; an interrupted sweep finishes only what is
missing; a failing setting is reported; the --grid shortcut and the up-front config check."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

TINY = """
_base_ = [{base!r}]
model = dict(num_frames=5, resolution=(16, 16), tokenizer=dict(base_channels=8, latent_dim=4),
             quantizer=dict(embed_dim=4, scale_sizes=[1, 2]),
             transformer=dict(dim=32, depth=1, num_heads=2))
train_dataloader = dict(batch_size=2, dataset=dict(num_frames=5, height=16, width=16, length=8))
train_cfg = dict(max_iters={iters}, val_interval=1000)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=1))
custom_hooks = [dict(type='GenerationEvaluationHook', metrics=[dict(type='PSNR')],
                     evaluate_at_end=False, num_samples=2, batch_size=2, seed=0,
                     real_dataloader=dict(dataset=dict(type='MovingDigits', split='val',
                                          length=4, num_frames=5, height=16, width=16)))]
"""


def write_tiny_config(tmp_path, repo_root, iters=2):
    path = tmp_path / 'tiny.py'
    base = os.path.join(repo_root, 'configs/_base_/videoar_tiny_movingdigits.py')
    path.write_text(TINY.format(base=base, iters=iters))
    return str(path)


def write_sweep(
    tmp_path, config, work_dir, failing=False, max_parallel=2, executor=None, seeds=(0, 1)
):
    settings = [dict(name='lr-low', options={'optim_wrapper.optimizer.lr': 1e-4}),
                dict(name='lr-high', options={'optim_wrapper.optimizer.lr': 1e-2})]  # fmt: skip
    if failing:  # 32 channels cannot be split into 3 heads: fails when the model is built
        settings.append(dict(name='broken', options={'model.transformer.num_heads': 3}))
    executor = executor or dict(type='local', max_parallel=max_parallel, threads_per_run=1)
    path = tmp_path / 'sweep.py'
    path.write_text(
        f'config = {config!r}\nsettings = {settings!r}\nseeds = {list(seeds)!r}\n'
        f"control = 'lr-low'\nmetrics = ['psnr']\nexecutor = {executor!r}\n"
        f'work_dir = {str(work_dir)!r}\n'
    )
    return str(path)


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def run_dirs(work):
    return {f'{s}/{d}': work / 'runs' / s / d for s in os.listdir(work / 'runs')
            for d in os.listdir(work / 'runs' / s)}  # fmt: skip


def test_sweep_tables_resume_and_failures(tmp_path, repo_root, run_tool, subprocess_env):
    config = write_tiny_config(tmp_path, repo_root)
    work = tmp_path / 'sweep'
    sweep = write_sweep(tmp_path, config, work, failing=True, max_parallel=1)

    # 1. interrupted: kill the sweep (and its worker) once the first run is done
    proc = subprocess.Popen([sys.executable, 'tools/sweep.py', sweep], cwd=repo_root,
                            env=subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip
    first = work / 'runs' / 'lr-low' / 'seed0' / 'metrics.json'
    status = first.parent / 'sweep_status.json'
    deadline = time.time() + 400
    while time.time() < deadline and proc.poll() is None:
        if status.exists() and json.loads(status.read_text())['state'] == 'done':
            break
        time.sleep(0.2)
    assert first.exists(), proc.stdout.read().decode()[-3000:]
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    first_mtime = first.stat().st_mtime
    assert not (work / 'runs' / 'lr-high' / 'seed1' / 'metrics.json').exists()

    # 2. re-run: only the missing runs; the broken setting is retried once, then reported
    done = run_tool('tools/sweep.py', sweep, '--max-parallel', '2', timeout=900)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]  # a run failed
    assert '1 already done, 5 to run' in done.stdout
    assert first.stat().st_mtime == first_mtime  # not trained or evaluated again
    assert 'broken/seed0 failed' in done.stdout and 'retrying (1/1)' in done.stdout
    assert 'NOT DONE broken/seed0 (failed)' in done.stdout

    runs = {(r['setting'], r['seed']): r for r in read_csv(work / 'runs.csv')}
    assert len(runs) == 6
    broken = runs[('broken', '0')]
    assert broken['state'] == 'failed' and broken['attempts'] == '2'
    assert 'num_heads' in broken['error'] or 'divisible' in broken['error']
    for setting in ('lr-low', 'lr-high'):
        for seed in (0, 1):
            path = work / 'runs' / setting / f'seed{seed}' / 'metrics.json'
            record = json.loads(path.read_text())
            assert record['protocol']['num_samples'] == 2 and 'psnr' in record['protocols']
            assert record['run']['options']['randomness.seed'] == seed
            assert float(runs[(setting, str(seed))]['psnr']) == record['metrics']['psnr']

    # the table: mean and sd per setting, paired differences against the control
    summary = {r['setting']: r for r in read_csv(work / 'sweep.csv')}
    low = [float(runs[('lr-low', s)]['psnr']) for s in '01']
    high = [float(runs[('lr-high', s)]['psnr']) for s in '01']
    assert float(summary['lr-low']['mean']) == pytest.approx(sum(low) / 2)
    paired = (high[0] - low[0] + high[1] - low[1]) / 2
    assert float(summary['lr-high']['diff_mean']) == pytest.approx(paired)
    assert summary['lr-high']['diff_n'] == '2' and summary['broken']['n'] == '0'
    md = (work / 'sweep.md').read_text()
    assert '## psnr' in md and 'Runs not done' in md and 'broken/seed1 | failed' in md
    assert '95% Student-t interval' in md
    assert (work / 'sweep_psnr.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'

    # 3. once more, without the broken setting: every run is skipped, nothing starts
    write_sweep(tmp_path, config, work)
    again = run_tool('tools/sweep.py', sweep, timeout=600)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert '4 already done, 0 to run' in again.stdout and 'started' not in again.stdout
    assert first.stat().st_mtime == first_mtime


def test_submitit_local_executor_runs_the_sweep(tmp_path, repo_root, run_tool):
    pytest.importorskip('submitit')
    config = write_tiny_config(tmp_path, repo_root, iters=1)
    work = tmp_path / 'sweep'
    executor = dict(type='submitit', cluster='local', timeout_min=10, threads_per_run=1)
    sweep = write_sweep(tmp_path, config, work, executor=executor, seeds=[0])
    proc = run_tool('tools/sweep.py', sweep, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'submitted 2 job(s)' in proc.stdout
    assert len(os.listdir(work / 'submitit')) > 0  # submitit's job folder (logs, pickles)
    rows = read_csv(work / 'runs.csv')
    assert [r['state'] for r in rows] == ['done'] * 2 and all(r['psnr'] for r in rows)


def test_grid_shortcut_and_upfront_check(tmp_path, repo_root, run_tool):
    config = write_tiny_config(tmp_path, repo_root)
    ok = run_tool('tools/sweep.py', config, '--grid', 'optim_wrapper.optimizer.lr=0.001,0.01',
                  '--seeds', '0', '1', '--dry-run', '--work-dir', tmp_path / 'grid')  # fmt: skip
    assert ok.returncode == 0, ok.stderr[-2000:]
    plans = [line for line in ok.stdout.splitlines() if 'tools/train.py' in line]
    assert len(plans) == 4 and 'lr=0.01/seed1' in plans[-1] and 'randomness.seed=1' in plans[-1]
    bad = run_tool('tools/sweep.py', config, '--grid', 'custom_hooks.EMAHok.momentum=0.1,0.2',
                   '--work-dir', tmp_path / 'bad')  # fmt: skip
    assert bad.returncode != 0 and "no hook of type 'EMAHok'" in bad.stderr
    assert not (tmp_path / 'bad').exists()  # nothing was started
