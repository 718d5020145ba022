"""VisitInfiniteSampler: mmengine's index order tagged with visits; VideoFolderDataset uses them."""

import itertools
import json

import torch
from mmengine.dataset import InfiniteSampler
from torch.utils.data import DataLoader

from videoar.datasets import MovingDigits, VideoFolderDataset, VisitIndex, VisitInfiniteSampler
from videoar.io.video import from_uint8, read_video, write_video


def take(sampler, count):
    return list(itertools.islice(iter(sampler), count))


def test_same_order_as_infinite_sampler_and_visits_count_epochs():
    data = list(range(7))
    plain = take(InfiniteSampler(data, shuffle=True, seed=3), 30)
    tagged = take(VisitInfiniteSampler(data, shuffle=True, seed=3), 30)
    assert [t.index for t in tagged] == plain
    assert [t.visit for t in tagged] == [i // 7 for i in range(30)]
    for epoch in range(4):  # every item once per epoch
        assert sorted(t.index for t in tagged[7 * epoch : 7 * epoch + 7]) == data
    ordered = take(VisitInfiniteSampler(data, shuffle=False, seed=3), 9)
    assert ordered[7:] == [VisitIndex(0, 1), VisitIndex(1, 1)]


def test_set_start_equals_iterating_without_touching_the_dataset():
    reference = take(VisitInfiniteSampler(list(range(5)), seed=1), 40)[17:]
    sampler = VisitInfiniteSampler(list(range(5)), seed=1)
    take(sampler, 3)  # a stream already consumed is restarted
    sampler.set_start(17)
    assert take(sampler, 23) == reference


def _start_of(video, full):
    return next(s for s in range(full.shape[1]) if torch.equal(video, full[:, s : s + 4]))


def test_video_folder_draws_are_a_function_of_index_and_visit(tmp_path):
    write_video(tmp_path / 'a.mp4', MovingDigits(num_frames=12, height=32, width=32)[0]['inputs'])
    full = from_uint8(read_video(str(tmp_path / 'a.mp4')))
    (tmp_path / 'm.jsonl').write_text(json.dumps({'path': 'a.mp4'}) + '\n')

    def dataset():
        return VideoFolderDataset(
            ann_file=str(tmp_path / 'm.jsonl'), num_frames=4, offset='random',
            deterministic=False, seed=2,
        )  # fmt: skip

    starts = [_start_of(dataset()[VisitIndex(0, v)]['inputs'], full) for v in range(12)]
    assert len(set(starts)) > 1  # a new clip per visit
    shared = dataset()  # one copy, requests in another order: the same clips
    again = {v: _start_of(shared[VisitIndex(0, v)]['inputs'], full) for v in reversed(range(12))}
    assert [again[v] for v in range(12)] == starts
    # two worker processes, each with its own copy: the clips follow the visits, not the copies
    loader = DataLoader(
        dataset(), batch_size=None, num_workers=2,
        sampler=[VisitIndex(0, v) for v in range(6)],
    )  # fmt: skip
    assert [_start_of(item['inputs'], full) for item in loader] == starts[:6]
