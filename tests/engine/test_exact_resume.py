"""Exact resume (videoar/engine/exact_resume.py, videoar/engine/random_state.py).

* the paper-default tiny VideoAR (corrector and condition dropout on), trained 2k iterations
  uninterrupted vs. trained in a subprocess that is SIGKILLed after the checkpoint at k and
  resumed with ``--resume``: every trainable tensor and the optimizer state are bit-identical
  (and, as a control, they differ without ``ExactResumeHook``);
* the generators a model and a dataset own are restored too;
* fast-forward loads no skipped item; the loading fallback gives the same result.
"""

import os
import os.path as osp
import random
import signal
import subprocess
import sys
import time
import uuid

import numpy as np
import pytest
import torch
from mmengine.dataset import InfiniteSampler
from mmengine.model import BaseModel
from torch import nn
from torch.utils.data import Dataset

from videoar.datasets import split_visit
from videoar.engine.exact_resume import RESUME_STATE_KEY, advance_infinite_sampler
from videoar.engine.random_state import capture_random_state, restore_random_state
from videoar.io.checkpoint import load_checkpoint_safe
from videoar.registry import DATASETS, MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
K = 3  # the interrupted run is killed after its checkpoint at K, then resumed to 2K

PAPER_DEFAULT = f"""
_base_ = [{osp.join(REPO, 'configs/ablations/videoar_paper-default.py')!r}]
custom_imports = dict(imports=['videoar.engine.exact_resume', 'h9_sleep_hook'],
                      allow_failed_imports=False)
model = dict(transformer=dict(dim=64, depth=1, num_heads=2))
train_dataloader = dict(batch_size=2)
train_cfg = dict(max_iters={2 * K})
default_hooks = dict(
    {{hook}}
    checkpoint=dict(interval={K}, max_keep_ckpts=5),
    logger=dict(interval=1),
)
randomness = dict(seed=0, deterministic=True)
"""

# Holds the interrupted run at iteration K (after its checkpoint) until the test kills it.
SLEEP_HOOK = """
import time
from mmengine.hooks import Hook
from videoar.registry import HOOKS

@HOOKS.register_module()
class SleepAfterHook(Hook):
    priority = 'LOWEST'  # after CheckpointHook

    def __init__(self, at):
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.at:
            time.sleep(120)


@HOOKS.register_module()
class NoOpHook(Hook):
    pass  # takes the place of the default ExactResumeHook in the control run
"""


def _train(cfg, work_dir, *extra, resume=False, wait=True):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([osp.dirname(cfg), REPO]))
    cmd = [sys.executable, osp.join(REPO, 'tools/train.py'), cfg, '--work-dir', str(work_dir)]
    cmd += ['--resume'] if resume else []
    cmd += ['--cfg-options', *extra] if extra else []
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if not wait:
        return proc
    out = proc.communicate(timeout=300)[0].decode()
    assert proc.returncode == 0, out[-3000:]
    return out


def _kill_after_checkpoint(proc, work_dir, iteration):
    """SIGKILL ``proc`` once ``last_checkpoint`` names ``iter_<iteration>.pth``."""
    last = osp.join(work_dir, 'last_checkpoint')
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if osp.exists(last) and open(last).read().strip().endswith(f'iter_{iteration}.pth'):
            break
        time.sleep(0.02)
    assert proc.poll() is None, proc.communicate()[0].decode()[-3000:]
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL


def _trained_state(path):
    ckpt = load_checkpoint_safe(path, map_location='cpu')
    return ckpt['state_dict'], ckpt['optimizer']['state']


def _differences(a_path, b_path):
    (wa, oa), (wb, ob) = _trained_state(a_path), _trained_state(b_path)
    assert wa.keys() == wb.keys() and oa.keys() == ob.keys()
    names = [k for k in wa if not torch.equal(wa[k], wb[k])]
    names += [f'opt.{p}.{n}' for p in oa for n in oa[p] if not torch.equal(oa[p][n], ob[p][n])]
    return names, len(wa) + sum(len(v) for v in oa.values())


@pytest.fixture(scope='module')
def paper_default_runs(tmp_path_factory):
    """Uninterrupted 2K; killed after K and resumed; the same resumed without the hook."""
    root = tmp_path_factory.mktemp('exact_resume')
    cfg = root / 'paper_default_tiny.py'
    cfg.write_text(PAPER_DEFAULT.format(hook="exact_resume=dict(type='ExactResumeHook'),"))
    no_hook = root / 'paper_default_tiny_no_hook.py'  # the control: mmengine's own resume
    no_hook.write_text(PAPER_DEFAULT.format(hook="exact_resume=dict(type='NoOpHook'),"))
    (root / 'h9_sleep_hook.py').write_text(SLEEP_HOOK)
    _train(str(cfg), root / 'full')
    killed = root / 'killed'
    sleepy = root / 'paper_default_tiny_sleepy.py'
    sleepy.write_text(
        f"_base_ = ['./{cfg.name}']\ncustom_hooks = [dict(type='SleepAfterHook', at={K})]\n"
    )
    proc = _train(str(sleepy), killed, wait=False)
    _kill_after_checkpoint(proc, str(killed), K)
    assert not osp.exists(killed / f'iter_{2 * K}.pth')
    out = _train(str(cfg), killed, resume=True)
    control = root / 'control'
    control.mkdir()
    (control / f'iter_{K}.pth').write_bytes((killed / f'iter_{K}.pth').read_bytes())
    (control / 'last_checkpoint').write_text(str(control / f'iter_{K}.pth'))
    _train(str(no_hook), control, resume=True)
    return root, out


def test_kill_and_resume_equals_the_uninterrupted_run_bit_for_bit(paper_default_runs):
    root, out = paper_default_runs
    assert 'Exact resume: random states restored' in out
    assert 'without loading the skipped items' in out
    name = f'iter_{2 * K}.pth'
    differ, total = _differences(root / 'full' / name, root / 'killed' / name)
    assert total > 100 and differ == []
    ckpt = load_checkpoint_safe(str(root / 'killed' / f'iter_{K}.pth'), map_location='cpu')
    assert ckpt[RESUME_STATE_KEY]['iter'] == K
    assert ckpt[RESUME_STATE_KEY]['sampler_position'] == 2 * K


def test_without_the_hook_resume_is_not_exact(paper_default_runs):
    root, _ = paper_default_runs
    name = f'iter_{2 * K}.pth'
    differ, _ = _differences(root / 'full' / name, root / 'control' / name)
    assert len(differ) > 10  # the fault of issue 12 item 5: re-seeded flips and dropout


# ---- in-process: owned generators, fast-forward without loading ---------------------------
SERVED: list[int] = []


@DATASETS.register_module(force=True)
class H9NoisyDataset(Dataset):
    """Item ``i`` plus noise from a generator the dataset owns; records every load."""

    def __init__(self, length: int = 10) -> None:
        self.length = length
        self.rng = np.random.default_rng(7)

    def __len__(self):
        return self.length

    def __getitem__(self, i):
        SERVED.append(i)
        return dict(inputs=torch.tensor([i + self.rng.random()], dtype=torch.float32))


@MODELS.register_module(force=True)
class H9NoisyModel(BaseModel):
    """Draws from a generator it owns and from the global torch, numpy and python RNGs."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(3))
        self.gen = torch.Generator().manual_seed(3)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        noise = torch.rand(3, generator=self.gen) + torch.rand(3) + np.random.rand()
        noise = noise + random.random()
        return dict(loss=((self.w - inputs.mean() - noise) ** 2).sum())


def _noisy_run(make_runner, work_dir, max_iters, **extra):
    runner = make_runner(
        work_dir, dict(type='H9NoisyModel'), dict(type='H9NoisyDataset'), batch_size=3,
        lr=0.1, max_iters=max_iters, checkpoint_interval=4, **extra,
    )  # fmt: skip
    runner.train()
    return runner


def _resume_noisy(make_runner, tmp_path, name, fast_forward):
    full = _noisy_run(
        make_runner, tmp_path / 'full', 8, custom_hooks=[dict(type='ExactResumeHook')]
    )
    SERVED.clear()
    _noisy_run(make_runner, tmp_path / 'part', 4, custom_hooks=[dict(type='ExactResumeHook')])
    served_before = list(SERVED)
    SERVED.clear()
    resumed = _noisy_run(
        make_runner, tmp_path / name, 8, resume=True, load_from=str(tmp_path / 'part' / 'iter_4.pth'),
        custom_hooks=[dict(type='ExactResumeHook', fast_forward=fast_forward)],
        experiment_name=f'{name}_{uuid.uuid4().hex}',
    )  # fmt: skip
    assert torch.equal(full.model.w, resumed.model.w)
    assert torch.equal(full.model.gen.get_state(), resumed.model.gen.get_state())
    return served_before, list(SERVED)


def test_fast_forward_loads_no_skipped_item_and_restores_owned_generators(tmp_path, toy_runner):
    before, after = _resume_noisy(toy_runner, tmp_path, 'fast', fast_forward=True)
    assert len(before) == 4 * 3
    assert len(after) == 4 * 3  # only the 4 remaining batches are loaded


def test_loading_fallback_is_exact_but_loads_the_skipped_items(tmp_path, toy_runner):
    before, after = _resume_noisy(toy_runner, tmp_path, 'slow', fast_forward=False)
    assert after[: len(before)] == before  # mmengine's skipping: the same items, loaded again
    assert len(after) == 8 * 3


def test_advance_infinite_sampler_matches_iterating_it():
    reference = InfiniteSampler(list(range(7)), shuffle=True, seed=5)
    stream = iter(reference)
    expected = [next(stream) for _ in range(40)][23:]
    sampler = InfiniteSampler(list(range(7)), shuffle=True, seed=5)
    next(iter(sampler))  # a stream already consumed (e.g. by prefetching workers) is restarted
    advance_infinite_sampler(sampler, 23)
    stream = iter(sampler)
    assert [next(stream) for _ in range(17)] == expected


def test_random_state_round_trips_through_the_safe_loader(tmp_path):
    model, loader = H9NoisyModel(), torch.utils.data.DataLoader(H9NoisyDataset())
    state = capture_random_state(model, loader)
    assert set(state['owned']) == {'model.gen', 'dataset.rng'}
    torch.save({'s': state}, tmp_path / 'state.pth')
    expected = (
        torch.rand(4),
        np.random.rand(4),
        model.gen.get_state(),
        loader.dataset.rng.random(),
    )
    torch.rand(3, generator=model.gen)
    restore_random_state(load_checkpoint_safe(str(tmp_path / 'state.pth'))['s'], model, loader)
    got = (torch.rand(4), np.random.rand(4), model.gen.get_state(), loader.dataset.rng.random())
    assert torch.equal(got[0], expected[0]) and np.array_equal(got[1], expected[1])
    assert torch.equal(got[2], expected[2]) and got[3] == expected[3]


# ---- per-visit datasets: the visit comes from the sampler, so skipping loads nothing ------------
@DATASETS.register_module(force=True)
class H9VisitDataset(Dataset):
    """A new draw at each visit (``deterministic=False``), seeded by ``(index, visit)``."""

    deterministic = False

    def __init__(self) -> None:
        self.visits: dict[int, int] = {}

    def __len__(self):
        return 5

    def __getitem__(self, request):
        index, visit = split_visit(request)
        if visit is None:  # a plain index: the visits are counted here, as VideoFolderDataset
            visit = self.visits[index] = self.visits.get(index, -1) + 1
        SERVED.append(index)
        noise = np.random.default_rng([index, visit]).random()
        return dict(inputs=torch.tensor([index + noise], dtype=torch.float32))


def _visit_run(make_runner, work_dir, max_iters, sampler, **extra):
    runner = make_runner(
        work_dir, dict(type='H9NoisyModel'), dict(type='H9VisitDataset'), batch_size=3,
        lr=0.1, max_iters=max_iters, checkpoint_interval=4,
        custom_hooks=[dict(type='ExactResumeHook')], sampler=sampler, **extra,
    )  # fmt: skip
    runner.train()
    return runner


def test_per_visit_dataset_fast_forwards_with_the_visit_sampler(tmp_path, toy_runner):
    sampler = dict(type='VisitInfiniteSampler', shuffle=True)
    full = _visit_run(toy_runner, tmp_path / 'full', 8, sampler)
    _visit_run(toy_runner, tmp_path / 'part', 4, sampler)
    SERVED.clear()
    resumed = _visit_run(
        toy_runner, tmp_path / 'resumed', 8, sampler, resume=True,
        load_from=str(tmp_path / 'part' / 'iter_4.pth'),
    )  # fmt: skip
    assert torch.equal(full.model.w, resumed.model.w)
    assert len(SERVED) == 4 * 3  # the 4 skipped batches (epoch 2 included) were never loaded


def test_per_visit_dataset_without_visit_sampler_falls_back_to_loading(tmp_path, toy_runner):
    sampler = dict(type='InfiniteSampler', shuffle=True)
    _visit_run(toy_runner, tmp_path / 'part', 4, sampler)
    SERVED.clear()
    _visit_run(
        toy_runner, tmp_path / 'resumed', 8, sampler, resume=True,
        load_from=str(tmp_path / 'part' / 'iter_4.pth'),
    )  # fmt: skip
    assert len(SERVED) == 8 * 3
