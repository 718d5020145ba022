"""Curriculum stage 2 trains on images and videos at its higher resolution (the paper's stage II),
through stage 1's joint image/video sampler."""

import os

from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

import videoar.datasets  # noqa: F401  (registers the datasets, samplers and collate)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_stage2_batches_hold_images_and_videos(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    cfg = Config.fromfile('configs/videoar_stage2.py')
    loader_cfg = cfg.train_dataloader
    assert loader_cfg.dataset.type == 'JointImageVideoDataset'
    assert loader_cfg.batch_sampler.type == 'ModalityBatchSampler'
    latents = loader_cfg.dataset.dataset
    # an untrained tokenizer and 8 cached clips are enough to see the batches' shapes
    latents.update(checkpoint=None, cache_dir=str(tmp_path), num_items=8)
    loader_cfg.batch_size = 4
    with DefaultScope.overwrite_default_scope('videoar'):
        loader = Runner.build_dataloader(loader_cfg, seed=0)
    frames = []
    for _, batch in zip(range(12), loader):
        latent = batch['data_samples'].latent  # (B, d, T', h, w)
        assert latent.shape[0] == 4 and tuple(latent.shape[-2:]) == (4, 4)  # stage 2's 32 x 32
        frames.append(latent.shape[2])
    assert set(frames) == {1, 3}, frames  # image batches (1 latent frame) and 3-frame clips
    assert cfg.model.num_frames == 9 and cfg.image_ratio == 0.3
