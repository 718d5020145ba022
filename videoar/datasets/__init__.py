"""Datasets and transforms (video files are read with :mod:`videoar.io.video`).

Every module that registers something (``DATASETS``, ``TRANSFORMS``) is imported here, so the
registries' ``locations=['videoar.datasets']`` resolve ``type='Name'`` lazily.
"""

from videoar.structures import VideoBatch, video_collate  # noqa: F401  (registers the collate)

from .joint import JointImageVideoDataset, ModalityBatchSampler
from .latent_cache import LatentCacheDataset
from .moving_digits import MovingDigits, digit_sprites, load_source_digits, split_sources
from .samplers import VisitIndex, VisitInfiniteSampler, split_visit
from .shards import ShardDataset, ShardWriter
from .transforms import (
    ResizeShortSide,
    VideoCenterCrop,
    VideoRandomCrop,
    VideoRandomFlip,
    center_crop,
    random_crop,
    resize_and_crop,
    resize_short_side,
    resize_video,
)
from .ucf101 import UCF101, class_name_to_words
from .video_folder import VideoFolderDataset

__all__ = [
    'LatentCacheDataset',
    'ShardDataset',
    'ShardWriter',
    'JointImageVideoDataset',
    'ModalityBatchSampler',
    'VisitIndex',
    'VisitInfiniteSampler',
    'split_visit',
    'MovingDigits',
    'digit_sprites',
    'load_source_digits',
    'split_sources',
    'VideoFolderDataset',
    'UCF101',
    'class_name_to_words',
    'ResizeShortSide',
    'VideoCenterCrop',
    'VideoRandomCrop',
    'VideoRandomFlip',
    'center_crop',
    'random_crop',
    'resize_and_crop',
    'resize_short_side',
    'resize_video',
]
