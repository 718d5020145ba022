"""The NaN policy: non-finite steps are skipped, the run stops after N, no NaN checkpoint.

The end-to-end tests run tools/train.py on the toy plugin config in a subprocess with NaN
injected by ``tests/fixtures/nan_fault.py`` (loaded with ``custom_imports``).
"""

import json
import math
import os

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper
from torch import nn

from videoar.engine import PortableAmpOptimWrapper
from videoar.engine.finite_guard import (
    FiniteStepGuard,
    NonFiniteCheckpointError,
    first_nonfinite,
    optimizer_state_tensors,
)
from videoar.registry import MODELS

# ------------------------------------------------------------------ the step guard in-process


def _wrapper(kind: str, model: nn.Module):
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    if kind == 'fp32':
        return OptimWrapper(optimizer, clip_grad=dict(max_norm=1.0))
    return PortableAmpOptimWrapper(
        optimizer=optimizer, dtype='bfloat16', device_type='cpu', clip_grad=dict(max_norm=1.0)
    )


def _step(wrapper, model, x, grad_hook=None):
    with wrapper.optim_context(model):
        loss = model(x).float().pow(2).mean()
    handle = model.weight.register_hook(grad_hook) if grad_hook else None
    wrapper.update_params(loss)
    if handle:
        handle.remove()


def _snapshot(model, wrapper):
    params = [p.detach().clone() for p in model.parameters()]
    state = [t.clone() for _, t in optimizer_state_tensors(wrapper.optimizer.state_dict())]
    return params, state


@pytest.mark.parametrize('kind', ['fp32', 'bf16'])
@pytest.mark.parametrize('fault', ['loss', 'grad'])
def test_a_nonfinite_step_changes_nothing_and_a_finite_one_steps(kind, fault):
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    wrapper = _wrapper(kind, model)
    guard = FiniteStepGuard.install(wrapper)
    assert FiniteStepGuard.install(wrapper) is guard  # idempotent
    x = torch.randn(8, 4)
    _step(wrapper, model, x)  # a good step: AdamW state exists
    assert guard.drain() == (1, [])
    before = _snapshot(model, wrapper)

    if fault == 'loss':
        _step(wrapper, model, x.clone().fill_(float('nan')))
    else:  # finite loss, NaN gradient
        _step(wrapper, model, x, grad_hook=lambda g: g * float('nan'))
    taken, reasons = guard.drain()
    assert taken == 0 and len(reasons) == 1
    assert ('loss is not finite' in reasons[0]) == (fault == 'loss')
    assert 'gradient norm is nan' in reasons[0]
    assert math.isnan(wrapper.message_hub.get_scalar('train/grad_norm').current())  # not stale
    after = _snapshot(model, wrapper)
    for a, b in zip(before[0] + before[1], after[0] + after[1]):
        assert torch.equal(a, b)  # parameters and optimizer state (exp_avg, step, ...) unchanged
    assert all(p.grad is None or not p.grad.any() for p in model.parameters())

    _step(wrapper, model, x)  # training goes on
    assert guard.drain() == (1, [])
    assert not torch.equal(model.weight, before[0][0])
    guard.uninstall()
    assert 'step' not in wrapper.__dict__ and 'backward' not in wrapper.__dict__


def test_float16_loss_scaling_leaves_gradient_overflow_to_the_grad_scaler():
    model = nn.Linear(4, 3)
    wrapper = PortableAmpOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1), dtype='float16', device_type='cpu'
    )
    if not wrapper.loss_scaler.is_enabled():
        pytest.skip('GradScaler is not enabled for float16 on this CPU build')
    assert FiniteStepGuard.install(wrapper).check_grads is False


def test_first_nonfinite_names_the_tensor_and_counts():
    named = [
        ('a', torch.ones(3)),
        ('steps', torch.tensor([1, 2])),
        ('b', torch.tensor([1.0, float('nan'), float('inf')])),
    ]
    assert first_nonfinite(named) == ('b', '1 NaN and 1 inf values of 3')
    assert first_nonfinite(named[:2]) is None
    state = {'state': {0: {'exp_avg': torch.zeros(2)}}, 'param_groups': [{'lr': 0.1}]}
    assert [n for n, _ in optimizer_state_tensors(state)] == ['optimizer.state.0.exp_avg']


# ------------------------------------------------------------------ any save is checked


@MODELS.register_module(force=True)
class FiniteGuardToyModel(BaseModel):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(inputs.float().mean(dim=(2, 3, 4))).squeeze(-1)
        return dict(loss=(out - 1).pow(2).mean()) if mode == 'loss' else out


@pytest.mark.parametrize('where', ['weight', 'optimizer', 'ema'])
def test_a_direct_save_with_nonfinite_state_is_refused(tmp_path, toy_runner, where):
    runner = toy_runner(
        tmp_path / 'work', dict(type='FiniteGuardToyModel'), dict(type='ToyClips'), batch_size=4,
        lr=0.01, max_iters=2,
        custom_hooks=[dict(type='FiniteGuardHook'), dict(type='EMAHook', momentum=0.5)],
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=0.01)),
    )  # fmt: skip
    runner.train()
    runner.save_checkpoint(str(tmp_path), 'good.pth')  # finite: written
    with torch.no_grad():
        if where == 'weight':
            runner.model.linear.bias.fill_(float('inf'))
        elif where == 'ema':  # the model is finite, its running average is not
            ema = next(h for h in runner.hooks if type(h).__name__ == 'EMAHook').ema_model
            ema.module.linear.bias.fill_(float('nan'))
        else:
            state = runner.optim_wrapper.optimizer.state[runner.model.linear.weight]
            state['exp_avg_sq'][0, 1] = float('nan')
    with pytest.raises(NonFiniteCheckpointError) as info:
        runner.save_checkpoint(str(tmp_path), 'bad.pth')
    # an EMAHook puts the averaged weights in 'state_dict' and the raw ones in 'ema_state_dict'
    name = dict(weight='linear.bias', ema='linear.bias')
    name = name.get(where, 'optimizer.state.0.exp_avg_sq')
    assert f'{name} is not finite' in str(info.value)
    assert (tmp_path / 'good.pth').is_file() and not (tmp_path / 'bad.pth').exists()
    if where == 'ema':  # the check that runs before the checkpoint hook rotates old files
        guard = next(h for h in runner.hooks if type(h).__name__ == 'FiniteGuardHook')
        with pytest.raises(NonFiniteCheckpointError, match='ema_model.module.linear.bias'):
            guard._refuse_nonfinite_model(runner, 'iteration 3')


# ------------------------------------------------------------------ tools/train.py end to end

CONFIG = """
_base_ = [{base!r}]
custom_imports = dict(imports=['videoar_toy', 'nan_fault'], allow_failed_imports=False)
default_hooks = dict(
    finite_guard=dict(type='FiniteGuardHook', max_consecutive={n}),
    checkpoint=dict(interval={interval}, max_keep_ckpts=1),
    logger=dict(interval=1),
)
custom_hooks = [dict(type='InjectNaNHook', at_iter={at}, target={target!r}, record={record!r},
                     rank={rank!r})]
train_cfg = dict(max_iters={iters})
"""


def _run(
    tmp_path,
    repo_root,
    run_tool,
    *extra,
    n=3,
    interval=4,
    at=5,
    target='param',
    iters=12,
    rank=None,
    launch=(),
):
    record = str(tmp_path / 'record.jsonl')
    config = tmp_path / 'nan_config.py'
    base = os.path.join(repo_root, 'tests', 'fixtures', 'toy_train_config.py')
    config.write_text(CONFIG.format(base=base, n=n, interval=interval, at=at, target=target,
                                    record=record, iters=iters, rank=rank))  # fmt: skip
    work = tmp_path / 'work'
    proc = run_tool(*launch, 'tools/train.py', config, '--work-dir', work, *extra)
    sums = {}
    if os.path.isfile(record):
        with open(record) as handle:
            sums = {e['iter']: e['sums'] for e in map(json.loads, handle)}
    return proc, work, sums


def _checkpoints(work):
    return sorted(f for f in os.listdir(work) if f.endswith('.pth'))


def _all_finite(path):
    ckpt = torch.load(path, weights_only=False)
    tensors = list(ckpt['state_dict'].items()) + list(optimizer_state_tensors(ckpt['optimizer']))
    return first_nonfinite(tensors) is None


def _last_checkpoint(work):
    with open(os.path.join(work, 'last_checkpoint')) as handle:
        return os.path.basename(handle.read().strip())


def test_a_nan_parameter_is_skipped_then_stops_the_run(tmp_path, repo_root, run_tool):
    proc, work, sums = _run(tmp_path, repo_root, run_tool, n=3, interval=4, at=5)
    assert proc.returncode != 0
    assert 'NonFiniteTrainingError: training stopped at iteration 7' in proc.stderr
    assert '(5 to 7)' in proc.stderr and 'iter_4.pth' in proc.stderr
    assert 'iteration 5: optimizer step skipped because the loss is not finite' in proc.stdout
    assert sorted(sums) == list(range(1, 8))  # stopped at 7 of 12
    assert sums[5][1] == sums[6][1] == sums[7][1] == sums[4][1]  # the bias: no update while bad
    assert _checkpoints(work) == ['iter_4.pth'] and _last_checkpoint(work) == 'iter_4.pth'
    assert _all_finite(work / 'iter_4.pth')


def test_a_nan_checkpoint_is_never_written_and_the_last_good_one_is_kept(
    tmp_path, repo_root, run_tool
):
    # max_keep_ckpts=1: mmengine would delete iter_4 before writing iter_6
    proc, work, _ = _run(tmp_path, repo_root, run_tool, n=5, interval=2, at=5)
    assert proc.returncode != 0
    assert 'NonFiniteCheckpointError: not saving the checkpoint of iteration 6' in proc.stderr
    assert 'linear.weight is not finite (4 NaN and 0 inf values of 4)' in proc.stderr
    assert _checkpoints(work) == ['iter_4.pth'] and _last_checkpoint(work) == 'iter_4.pth'
    assert _all_finite(work / 'iter_4.pth')


def test_a_transient_nan_step_is_skipped_and_training_goes_on(tmp_path, repo_root, run_tool):
    # bf16 autocast (PortableAmpOptimWrapper) with gradient clipping
    proc, work, sums = _run(
        tmp_path, repo_root, run_tool, '--amp', '--cfg-options',
        'optim_wrapper.clip_grad.max_norm=1.0', n=2, interval=4, at=3, target='input', iters=8,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'PortableAmpOptimWrapper' in proc.stdout + proc.stderr
    assert 'iteration 3: optimizer step skipped because the loss is not finite' in proc.stdout
    assert sums[3] == sums[2] and sums[4] != sums[3]  # skipped, then trained again
    assert _checkpoints(work) == ['iter_8.pth'] and _all_finite(work / 'iter_8.pth')


def test_a_diverging_learning_rate_stops_without_a_nonfinite_checkpoint(
    tmp_path, repo_root, run_tool
):
    proc, work, _ = _run(
        tmp_path, repo_root, run_tool, '--cfg-options', 'optim_wrapper.optimizer.lr=1e6',
        n=3, interval=2, at=1000, iters=30,
    )  # fmt: skip
    assert proc.returncode != 0
    assert 'NonFiniteTrainingError' in proc.stderr or 'NonFiniteCheckpointError' in proc.stderr
    assert all(_all_finite(work / name) for name in _checkpoints(work))


@pytest.mark.dist
def test_a_nan_on_one_rank_skips_the_step_on_every_rank(tmp_path, repo_root, run_tool):
    launch = ('-m', 'torch.distributed.run', '--nproc-per-node', '2', '--master-port', '29533')
    proc, work, sums = _run(
        tmp_path, repo_root, run_tool, '--launcher', 'pytorch', n=2, interval=6, at=3,
        target='input', iters=6, rank=1, launch=launch,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'iteration 3: optimizer step skipped' in proc.stdout + proc.stderr
    assert _checkpoints(work) == ['iter_6.pth'] and _all_finite(work / 'iter_6.pth')


def test_a_nonfinite_model_never_replaces_the_best_checkpoint(tmp_path, toy_runner):
    runner = toy_runner(
        tmp_path / 'work', dict(type='FiniteGuardToyModel'), dict(type='ToyClips'), batch_size=4,
        lr=0.01, max_iters=1, custom_hooks=[dict(type='FiniteGuardHook')],
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=100, save_best='acc')),
    )  # fmt: skip
    runner.train()
    guard = next(h for h in runner.hooks if type(h).__name__ == 'FiniteGuardHook')
    guard.after_val_epoch(runner, dict(acc=1.0))  # finite: nothing to say
    with torch.no_grad():
        runner.model.linear.weight[0, 0] = float('nan')
    with pytest.raises(NonFiniteCheckpointError, match='best checkpoint.*linear.weight'):
        guard.after_val_epoch(runner, dict(acc=1.0))
