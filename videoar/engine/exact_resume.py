"""Exact resume: restore the random states and fast-forward the sampler without decoding.

mmengine 0.10.7 re-seeds on ``--resume`` (``randomness.seed``) instead of restoring the random
state, so the corrector's flips and the condition dropout replay the draws of iteration 1; and
``IterBasedTrainLoop.run`` reaches the resumed position by fetching (decoding) every skipped
batch. :class:`ExactResumeHook` fixes both:

* ``before_save_checkpoint`` stores ``checkpoint['resume_state']``: the random states of
  ``videoar/engine/random_state.py`` (python, numpy, torch CPU/CUDA and the generators the model
  and data own), the iteration and the sampler position (indices this rank has consumed);
* ``after_load_checkpoint`` keeps it; ``before_train`` (only when the loop resumes at that very
  iteration, never for ``load_from`` fine-tuning) positions the sampler at the saved index and
  replaces the loop's dataloader iterator by a :class:`FastForwardIterator`: the ``iter``
  batches the loop discards are placeholders (nothing is loaded), and the random states are
  restored just before the first real batch is fetched, i.e. where the uninterrupted run was
  when it wrote the checkpoint;
* validation inside training runs on a copy of the random state (``before_val`` /
  ``after_val``), so evaluating at a checkpoint iteration cannot make the continuation differ.

Fast-forward needs a sampler whose position can be set: one with ``set_start(position)`` or
mmengine's ``InfiniteSampler`` (its shared index stream is rebuilt and advanced), under torch's
stateless ``BatchSampler`` (or a batch sampler with ``set_start(num_batches)``). A dataset that
draws anew at each visit (``VideoFolderDataset(deterministic=False)``) is fast-forwarded when its
sampler hands it the visit numbers (``VisitInfiniteSampler``, ``videoar/datasets/samplers.py``).
Otherwise (visits counted where items are loaded, in worker copies), the hook falls back to
mmengine's skipping by loading (exact, slow) and says so.

Item randomness in worker processes is not captured (the workers' copies own it): it must be
seeded per item, as ``MovingDigits`` and ``VideoFolderDataset(deterministic=True)`` do.

Distributed: the checkpoint holds rank 0's state (mmengine saves on rank 0 only); every rank
restores it, which is exact when the ranks share a seed (``randomness.diff_rank_seed=False``,
the default). With ``diff_rank_seed=True`` the hook refuses to pretend and warns.
"""

from __future__ import annotations

import itertools
import logging

from mmengine.dataset import InfiniteSampler
from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner.loops import _InfiniteDataloaderIterator
from torch.utils.data import BatchSampler

from videoar.registry import HOOKS

from .random_state import capture_random_state, restore_random_state

RESUME_STATE_KEY = 'resume_state'


# ---- sampler fast-forward ------------------------------------------------------------------
def advance_infinite_sampler(sampler: InfiniteSampler, position: int) -> None:
    """Restart ``sampler``'s index stream and consume ``position`` indices of this rank.

    Only indices are drawn (one ``randperm`` per epoch); no item is loaded.
    """
    stream = sampler._indices_of_rank()
    next(itertools.islice(stream, position, position), None)
    sampler.indices = stream


def set_sampler_position(dataloader, position: int, batch_size: int) -> str | None:
    """Position ``dataloader``'s sampling at ``position`` consumed indices (this rank).

    Returns None on success, else why the position cannot be set without loading items.
    """
    dataset = dataloader.dataset
    batch_sampler = getattr(dataloader, 'batch_sampler', None)
    sampler = dataloader.sampler
    visits_from_sampler = getattr(sampler, 'tags_visits', False)
    if (
        getattr(dataset, 'deterministic', True) is False
        and not visits_from_sampler
        and (not callable(getattr(dataset, 'state_dict', None)) or dataloader.num_workers > 0)
    ):
        return (
            f'{type(dataset).__name__}(deterministic=False) draws per visit, and the visits '
            'are counted where the items are loaded; the skipped items must be visited (use '
            "sampler=dict(type='VisitInfiniteSampler') to skip them without loading)"
        )
    if batch_sampler is not None and type(batch_sampler) is not BatchSampler:
        if not callable(getattr(batch_sampler, 'set_start', None)):
            return f'the batch sampler {type(batch_sampler).__name__} has no set_start()'
        if position % batch_size:
            return f'position {position} is not a whole number of batches of {batch_size}'
        batch_sampler.set_start(position // batch_size)
        return None
    if callable(getattr(sampler, 'set_start', None)):
        sampler.set_start(position)
    elif type(sampler) is InfiniteSampler:
        advance_infinite_sampler(sampler, position)
    else:
        return f'the sampler {type(sampler).__name__} has no set_start()'
    return None


def rank_position(saved: dict) -> int:
    """This rank's sampler position from a saved state: the per-rank position is rescaled when
    the world size changed (a sharded checkpoint resumed on more or fewer ranks), so that the
    same number of samples of the shared index stream counts as consumed."""
    position = int(saved['sampler_position'])
    world = get_world_size()
    saved_world = int(saved.get('world_size', world))  # absent in older checkpoints
    if saved_world == world:
        return position
    return position * saved_world // world


class FastForwardIterator:
    """The train loop's dataloader iterator on resume.

    The first ``placeholders`` calls return None without loading anything (the loop discards
    them); after them, the first ``passthrough`` calls fetch from ``inner`` (the slow fallback);
    then ``on_first_batch`` runs once, and every call returns ``inner``'s next batch.
    """

    def __init__(self, inner, placeholders: int, passthrough: int, on_first_batch) -> None:
        self.inner = inner
        self.placeholders = int(placeholders)
        self.passthrough = int(passthrough)
        self._on_first_batch = on_first_batch

    def __iter__(self):
        return self

    def __next__(self):
        if self.placeholders > 0:
            self.placeholders -= 1
            return None
        if self.passthrough > 0:
            self.passthrough -= 1
            return next(self.inner)
        if self._on_first_batch is not None:
            callback, self._on_first_batch = self._on_first_batch, None
            callback()
        return next(self.inner)

    @property
    def pending(self) -> bool:
        """True until the first real batch has been fetched."""
        return self._on_first_batch is not None


# ---- the hook ------------------------------------------------------------------------------
@HOOKS.register_module()
class ExactResumeHook(Hook):
    """Make ``--resume`` continue the uninterrupted run bit for bit (see the module docstring).

    Args:
        fast_forward: skip the consumed batches by positioning the sampler (True) or by
            letting mmengine load them (False).
        isolate_validation: run validation inside training on a copy of the random state.
    """

    priority = 'VERY_LOW'

    def __init__(self, fast_forward: bool = True, isolate_validation: bool = True) -> None:
        self.fast_forward = fast_forward
        self.isolate_validation = isolate_validation
        self._loaded: dict | None = None
        self._val_state: dict | None = None
        self._iterator: FastForwardIterator | None = None

    @staticmethod
    def _dataloader(runner):
        loop = getattr(runner, '_train_loop', None)
        if loop is None or isinstance(loop, dict):
            return None
        return getattr(loop, 'dataloader', None)

    @staticmethod
    def _batch_size(dataloader) -> int:
        size = getattr(dataloader, 'batch_size', None)
        if size is None:
            size = getattr(getattr(dataloader, 'batch_sampler', None), 'batch_size', None)
        if size is None:
            raise RuntimeError(
                'ExactResumeHook needs the train dataloader batch size (dataloader.batch_size '
                'or batch_sampler.batch_size) to record the sampler position.'
            )
        return int(size)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        dataloader = self._dataloader(runner)
        iteration = int(checkpoint['meta']['iter'])
        state = dict(
            iter=iteration,
            sampler_position=iteration * self._batch_size(dataloader) if dataloader else 0,
            world_size=get_world_size(),
            # a checkpoint written during validation (save_best) holds the training state
            random=self._val_state or capture_random_state(runner.model, dataloader),
        )
        checkpoint[RESUME_STATE_KEY] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._loaded = checkpoint.get(RESUME_STATE_KEY)

    def before_train(self, runner) -> None:
        loop = runner.train_loop
        saved, self._loaded = self._loaded, None
        if loop.iter == 0:
            return
        if saved is None:
            print_log(
                f'Resuming at iteration {loop.iter} from a checkpoint without '
                f"'{RESUME_STATE_KEY}' (written without ExactResumeHook): the random state is "
                're-seeded, so the run will not continue exactly.',
                logger='current',
                level=logging.WARNING,
            )
            return
        if int(saved['iter']) != loop.iter:
            return  # the loaded checkpoint is not the one this loop resumes from
        if not hasattr(loop, 'dataloader_iterator'):
            self._restore(runner, saved)  # an epoch-based loop restarts at an epoch boundary
            return
        self._install_iterator(runner, loop, saved)

    def _install_iterator(self, runner, loop, saved: dict) -> None:
        dataloader = loop.dataloader
        reason = 'disabled (fast_forward=False)'
        if self.fast_forward:
            reason = set_sampler_position(
                dataloader, rank_position(saved), self._batch_size(dataloader)
            )
        if reason is None:
            inner = _InfiniteDataloaderIterator(dataloader)  # after the sampler is positioned
            placeholders, passthrough = loop.iter, 0
            print_log(
                f'Exact resume: sampler positioned at index {rank_position(saved)} '
                f'(iteration {loop.iter}) without loading the skipped items.',
                logger='current',
            )
        else:
            inner, placeholders, passthrough = loop.dataloader_iterator, 0, loop.iter
            print_log(
                f'Exact resume: cannot fast-forward ({reason}); the {loop.iter} consumed '
                'batches are loaded to reach the position.',
                logger='current',
                level=logging.WARNING,
            )
        self._iterator = FastForwardIterator(
            inner, placeholders, passthrough, lambda: self._restore(runner, saved)
        )
        loop.dataloader_iterator = self._iterator

    def _restore(self, runner, saved: dict) -> None:
        randomness = getattr(runner, '_randomness_cfg', None) or {}
        if randomness.get('diff_rank_seed') and get_rank() != 0:
            print_log(
                'Exact resume: randomness.diff_rank_seed=True but the checkpoint holds only '
                "rank 0's random state; this rank keeps its re-seeded state.",
                logger='current',
                level=logging.WARNING,
            )
            return
        restore_random_state(saved['random'], runner.model, self._dataloader(runner))
        print_log(
            f'Exact resume: random states restored (iteration {saved["iter"]}).',
            logger='current',
        )

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        it = self._iterator
        if it is not None:
            if it.placeholders or it.passthrough or it.pending:
                raise RuntimeError(
                    'ExactResumeHook: the train loop started iterating before consuming the '
                    f'{runner.train_loop.iter} skipped batches; this loop type '
                    f'({type(runner.train_loop).__name__}) does not skip like mmengine '
                    "0.10.7's IterBasedTrainLoop. Set ExactResumeHook(fast_forward=False)."
                )
            self._iterator = None

    def before_val(self, runner) -> None:
        if self.isolate_validation:
            self._val_state = capture_random_state(runner.model, self._dataloader(runner))

    def after_val(self, runner) -> None:
        if self._val_state is not None:
            restore_random_state(self._val_state, runner.model, self._dataloader(runner))
            self._val_state = None


__all__ = [
    'RESUME_STATE_KEY',
    'ExactResumeHook',
    'FastForwardIterator',
    'advance_infinite_sampler',
    'rank_position',
    'set_sampler_position',
]
