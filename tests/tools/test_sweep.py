import json
import os


def test_sweep_runs_each_combination_and_summarises(tmp_path, run_tool):
    work = tmp_path / 'sweep'
    proc = run_tool('tools/sweep.py', 'tests/fixtures/toy_train_config.py',
                    '--grid', 'optim_wrapper.optimizer.lr=0.01,0.1',
                    '--cfg-options', 'train_cfg.max_iters=4', 'default_hooks.logger.interval=1',
                    '--work-dir', work)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((work / 'sweep.json').read_text())
    assert [run['settings']['optim_wrapper.optimizer.lr'] for run in summary] == ['0.01', '0.1']
    assert all(run['returncode'] == 0 for run in summary)
    # the two runs really used their own learning rate
    lrs = [run['last_scalars']['lr'] for run in summary]
    assert abs(lrs[0] - 0.01) < 1e-9 and abs(lrs[1] - 0.1) < 1e-9
    assert len(os.listdir(work)) == 4  # two run dirs + sweep.json + sweep.md


def test_sweep_merges_every_run_first_and_addresses_hooks_by_type(tmp_path, repo_root, run_tool):
    config = tmp_path / 'hooked.py'
    config.write_text(
        f'_base_ = [{os.path.join(repo_root, "tests/fixtures/toy_train_config.py")!r}]\n'
        "custom_hooks = [dict(type='EMAHook', momentum=0.01)]\n"
    )

    def sweep(*grid):
        return run_tool('tools/sweep.py', config, '--grid', *grid, '--dry-run',
                        '--work-dir', tmp_path / 'sweep')  # fmt: skip

    ok = sweep('custom_hooks.EMAHook.momentum=0.001,0.01')
    assert ok.returncode == 0, ok.stderr[-2000:]
    commands = [line for line in ok.stdout.splitlines() if 'tools/train.py' in line]
    assert len(commands) == 2 and 'custom_hooks.EMAHook.momentum=0.001' in commands[0]
    bad = sweep('custom_hooks.EMAHok.momentum=0.001,0.01')
    assert bad.returncode != 0 and "no hook of type 'EMAHok'" in bad.stderr
    assert 'tools/train.py' not in bad.stdout  # nothing was started
    assert not (tmp_path / 'sweep').exists()
