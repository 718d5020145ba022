"""A toy clip dataset and a toy mmengine Runner shared by the engine tests."""

import os
import uuid

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from torch.utils.data import Dataset

from videoar.registry import DATASETS

FRAMES, SIZE, CLASSES = 3, 8, 3


@DATASETS.register_module(force=True)
class ToyClips(Dataset):
    """Clip ``i``: a constant (3, 3, 8, 8) video of value ``i / divisor``, label ``i mod 3``,
    caption ``caption.format(i=i)``."""

    def __init__(self, length: int = 12, divisor: float = 100.0, caption: str = 'clip {i}'):
        self.length, self.divisor, self.caption = length, divisor, caption

    def __len__(self):
        return self.length

    def __getitem__(self, i):
        return dict(
            inputs=torch.full((3, FRAMES, SIZE, SIZE), i / self.divisor),
            data_samples=dict(label=i % CLASSES, caption=self.caption.format(i=i), index=i),
        )


def make_toy_runner(work_dir, model, dataset, batch_size, lr, max_iters, custom_hooks=(),
                    checkpoint_interval=100, sampler=None, **extra) -> Runner:  # fmt: skip
    """A Runner training ``model`` on ``dataset`` with SGD at ``lr`` for ``max_iters``
    iterations (seed 0, ``sampler`` or an infinite shuffled one, no worker processes, quiet
    logs); ``extra`` adds or replaces top-level config entries."""
    cfg = dict(
        model=model,
        work_dir=str(work_dir),
        experiment_name=f'{os.path.basename(str(work_dir))}_{uuid.uuid4().hex}',
        train_dataloader=dict(
            batch_size=batch_size,
            num_workers=0,
            sampler=sampler or dict(type='InfiniteSampler', shuffle=True),
            collate_fn=dict(type='default_collate'),
            dataset=dataset,
        ),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=lr)),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=max_iters),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=checkpoint_interval, by_epoch=False),
            logger=dict(type='LoggerHook', interval=100),
        ),
        custom_hooks=list(custom_hooks),
        default_scope='videoar',
        randomness=dict(seed=0),
        log_level='WARNING',
    )
    cfg.update(extra)
    return Runner.from_cfg(Config(cfg))


@pytest.fixture
def toy_runner():
    """The factory :func:`make_toy_runner`."""
    return make_toy_runner
