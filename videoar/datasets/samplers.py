"""Samplers whose indices carry their visit number, so per-visit randomness needs no counter.

A training dataset that draws a new random clip at every visit of an item
(``VideoFolderDataset(deterministic=False)``) needs the visit number of each request. Counting
visits inside the dataset breaks in two ways: each DataLoader worker process holds its own copy
of the counts (and non-persistent workers start from zero every epoch), and a resumed run must
load every skipped item to rebuild them. :class:`VisitInfiniteSampler` yields
:class:`VisitIndex` ``(index, visit)`` pairs instead, where ``visit`` is the epoch of the shuffled
index stream (every item appears once per epoch). The draw is then a pure function of
``(seed, index, visit)``: identical in any worker, and a resumed run reaches any position by
drawing indices only (``set_start``), never loading an item.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import NamedTuple

import torch
from mmengine.dataset import InfiniteSampler

from videoar.registry import DATA_SAMPLERS


class VisitIndex(NamedTuple):
    """An item request: dataset ``index`` on its ``visit``-th visit (0-based)."""

    index: int
    visit: int


def split_visit(request) -> tuple[int, int | None]:
    """``(index, visit)`` of a sampler's request; ``visit`` is None for a plain integer index."""
    if isinstance(request, tuple):
        index, visit = request
        return int(index), int(visit)
    return int(request), None


@DATA_SAMPLERS.register_module()
class VisitInfiniteSampler(InfiniteSampler):
    """mmengine's ``InfiniteSampler`` (same index order, same rank split) tagging each index.

    Yields :class:`VisitIndex` ``(index, visit)`` with ``visit`` = the epoch of the index stream.
    Datasets that accept such requests (``VideoFolderDataset``) seed their per-visit random
    draws with it; ``tags_visits`` tells the exact-resume machinery so.

    Args:
        dataset: the dataset (its length).
        shuffle: a new permutation every epoch (seeded by ``seed``), else ``0..N-1`` repeated.
        seed: the permutation seed (None: synchronised random seed, as mmengine).
    """

    tags_visits = True

    def __init__(self, dataset, shuffle: bool = True, seed: int | None = None) -> None:
        super().__init__(dataset, shuffle=shuffle, seed=seed)

    def _infinite_indices(self) -> Iterator[VisitIndex]:
        generator = torch.Generator()
        generator.manual_seed(self.seed)
        for epoch in itertools.count():
            if self.shuffle:
                order = torch.randperm(self.size, generator=generator).tolist()
            else:
                order = range(self.size)
            for index in order:
                yield VisitIndex(index, epoch)

    def set_start(self, position: int) -> None:
        """Continue after ``position`` requests of this rank (indices are drawn, nothing loads)."""
        stream = self._indices_of_rank()
        next(itertools.islice(stream, position, position), None)
        self.indices = stream
