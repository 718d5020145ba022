import torch
from mmengine.dataset import InfiniteSampler
from torch.utils.data import DataLoader

from videoar.datasets import JointImageVideoDataset, ModalityBatchSampler
from videoar.registry import DATASETS


def _joint():
    return JointImageVideoDataset(
        dict(type='MovingDigits', split='train', length=64, num_frames=9, height=16, width=16)
    )


def test_image_item_is_the_first_frame_of_the_clip():
    joint = _joint()
    clip = joint[3]
    image = joint[(3, 'image')]
    assert clip['inputs'].shape == (3, 9, 16, 16)
    assert image['inputs'].shape == (3, 1, 16, 16)
    assert torch.equal(image['inputs'][:, 0], clip['inputs'][:, 0])
    assert image['data_samples']['label'] == clip['data_samples']['label']
    assert 'moving' in clip['data_samples']['caption']
    assert 'moving' not in image['data_samples']['caption']


def test_latent_items_are_cut_to_one_latent_frame():
    class Latents(torch.utils.data.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return dict(
                inputs=torch.zeros(0), data_samples=dict(label=i, latent=torch.randn(8, 3, 2, 2))
            )

    joint = JointImageVideoDataset(Latents())
    assert joint[(1, 'image')]['data_samples']['latent'].shape == (8, 1, 2, 2)
    assert joint[1]['data_samples']['latent'].shape == (8, 3, 2, 2)


def test_batches_are_homogeneous_at_the_requested_ratio_and_reproducible():
    joint = _joint()
    sampler = ModalityBatchSampler(InfiniteSampler(joint, seed=0), batch_size=4, image_ratio=0.3)
    loader = DataLoader(joint, batch_sampler=sampler, collate_fn=torch.utils.data.default_collate)
    frames = []
    for n, batch in enumerate(loader):
        frames.append(batch['inputs'].shape[2])
        if n == 59:
            break
    assert set(frames) == {1, 9}
    assert 0.15 < frames.count(1) / len(frames) < 0.45
    again = ModalityBatchSampler(InfiniteSampler(joint, seed=0), batch_size=4, image_ratio=0.3)
    assert [again.modality_of(n) for n in range(60)] == [
        'image' if f == 1 else 'video' for f in frames
    ]


def test_registered_for_configs():
    assert DATASETS.get('JointImageVideoDataset') is JointImageVideoDataset


def test_set_start_continues_a_run_without_loading_the_skipped_batches():
    joint = _joint()
    full = ModalityBatchSampler(InfiniteSampler(joint, seed=0), batch_size=4, image_ratio=0.3)
    batches = [b for _, b in zip(range(12), full)]
    resumed = ModalityBatchSampler(InfiniteSampler(joint, seed=0), batch_size=4, image_ratio=0.3)
    resumed.set_start(7)  # only index draws, no item: the sampler never touches the dataset
    assert [b for _, b in zip(range(5), resumed)] == batches[7:]
