"""StageFinishedHook and InitFromStageHook with real mmengine Runners and a toy model."""

import json
import os

import pytest
import torch
from mmengine.model import BaseModel
from torch import nn
from torch.utils.data import Dataset

import videoar.engine  # noqa: F401  (registers the hooks)
from videoar.io.checkpoint import CheckpointNotFoundError, find_final_checkpoint
from videoar.registry import DATASETS, MODELS


@MODELS.register_module(force=True)
class StageToyModel(BaseModel):
    """A per-scale embedding (grows with ``num_scales``) and a linear layer."""

    def __init__(self, num_scales: int = 2, dim: int = 4) -> None:
        super().__init__()
        self.scale_embed = nn.Embedding(num_scales, dim)
        self.linear = nn.Linear(dim, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        pred = self.linear(inputs + self.scale_embed.weight.mean(0)).squeeze(-1)
        if mode == 'loss':
            return dict(loss=((pred - data_samples['target']) ** 2).mean())
        return [dict(pred=p) for p in pred]


@DATASETS.register_module(force=True)
class StageToyData(Dataset):
    def __init__(self, length: int = 32, dim: int = 4) -> None:
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(length, dim, generator=gen)
        self.y = self.x.sum(-1)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return dict(inputs=self.x[i], data_samples=dict(target=self.y[i]))


@pytest.fixture
def make_runner(toy_runner):
    """``make_runner(work_dir, ...)``: a Runner training StageToyModel on StageToyData."""

    def make(work_dir, max_iters=4, num_scales=2, custom_hooks=(), resume=False, ckpt_every=100):
        model = dict(type='StageToyModel', num_scales=num_scales)
        return toy_runner(work_dir, model, dict(type='StageToyData'), batch_size=8, lr=0.1,
                          max_iters=max_iters, custom_hooks=custom_hooks,
                          checkpoint_interval=ckpt_every, resume=resume)  # fmt: skip

    return make


def test_stage_finished_hook_writes_marker_and_final_checkpoint(tmp_path, make_runner):
    work = tmp_path / 'stage1'
    # checkpoint interval larger than the run: the hook must save the final weights itself
    runner = make_runner(work, max_iters=3, custom_hooks=[dict(type='StageFinishedHook')])
    runner.train()
    record = json.loads((work / 'finished.json').read_text())
    assert record['iteration'] == 3 and record['max_iters'] == 3
    assert record['checkpoint'] == os.path.abspath(work / 'iter_3.pth')
    assert record['wall_time_s'] >= 0 and record['resumed_from_iter'] == 0
    assert find_final_checkpoint(str(work), require_finished=True) == record['checkpoint']
    saved = torch.load(record['checkpoint'], weights_only=False)
    assert saved['meta']['iter'] == 3
    assert torch.equal(saved['state_dict']['linear.weight'], runner.model.linear.weight)


def test_init_from_stage_loads_adapts_and_resyncs_ema(tmp_path, make_runner):
    stage1 = tmp_path / 'stage1'
    make_runner(stage1, max_iters=2, custom_hooks=[dict(type='StageFinishedHook')]).train()
    previous = torch.load(find_final_checkpoint(str(stage1)), weights_only=False)['state_dict']

    # stage 2 has more scales; lr 0 so the weights after training are the loaded ones
    runner = make_runner(
        tmp_path / 'stage2',
        max_iters=1,
        num_scales=3,
        custom_hooks=[
            dict(type='InitFromStageHook', stage_work_dir=str(stage1)),
            dict(type='EMAHook', momentum=0.5),
        ],
    )
    runner.optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.0))
    fresh_row = runner.model.scale_embed.weight[2].detach().clone()
    runner.train()
    model = runner.model
    assert torch.equal(model.linear.weight, previous['linear.weight'])
    assert torch.equal(model.scale_embed.weight[:2], previous['scale_embed.weight'])
    assert torch.equal(model.scale_embed.weight[2], fresh_row)
    ema = [h for h in runner.hooks if type(h).__name__ == 'EMAHook'][0]
    # the EMA copy follows the loaded weights (not the random init it was built from)
    assert torch.allclose(ema.ema_model.module.linear.weight, previous['linear.weight'])


def test_init_from_stage_errors_before_training_with_the_command(tmp_path, make_runner):
    hook = dict(
        type='InitFromStageHook',
        stage_work_dir=str(tmp_path / 'missing_stage1'),
        command='python tools/train.py configs/videoar_stage1.py',
    )
    runner = make_runner(tmp_path / 'stage2', custom_hooks=[hook])
    with pytest.raises(CheckpointNotFoundError) as err:
        runner.train()
    message = str(err.value)
    assert 'run `python tools/train.py configs/videoar_stage1.py` first' in message
    assert 'custom_hooks.InitFromStageHook.checkpoint=PATH' in message
    assert runner.iter == 0 and not (tmp_path / 'stage2' / 'last_checkpoint').exists()

    runner = make_runner(
        tmp_path / 'stage2b', custom_hooks=[dict(type='InitFromStageHook', checkpoint='nope.pth')]
    )
    with pytest.raises(CheckpointNotFoundError, match="'nope.pth' does not exist"):
        runner.train()


def test_init_from_stage_skips_when_resumed(tmp_path, make_runner):
    stage1 = tmp_path / 'stage1'
    make_runner(stage1, max_iters=2, custom_hooks=[dict(type='StageFinishedHook')]).train()
    init = [
        dict(type='InitFromStageHook', stage_work_dir=str(stage1)),
        dict(type='StageFinishedHook'),
    ]
    stage2 = tmp_path / 'stage2'
    make_runner(stage2, max_iters=2, custom_hooks=init, ckpt_every=2).train()
    os.remove(stage2 / 'finished.json')
    # the previous stage's checkpoint disappears: a resumed run must not need it
    os.remove(find_final_checkpoint(str(stage1)))
    runner = make_runner(stage2, max_iters=4, custom_hooks=init, resume=True, ckpt_every=2)
    runner.train()  # would raise if it tried to load the deleted stage-1 checkpoint
    assert runner.iter == 4
    init_hook = [h for h in runner.hooks if type(h).__name__ == 'InitFromStageHook'][0]
    assert init_hook.loaded_checkpoint is None and init_hook.report is None
    record = json.loads((stage2 / 'finished.json').read_text())
    assert record['resumed_from_iter'] == 2 and record['iteration'] == 4
