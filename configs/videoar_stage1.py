# Curriculum stage 1 (VideoAR §5.1 in miniature): images and short low-resolution clips, jointly.
# 16 x 16 pixels -> 2 x 2 latents, scales (1, 2); clips of 9 frames (3 latent frames) and single
# frames (1 latent frame), one modality per batch (30% image batches).
#   python tools/train.py configs/videoar_stage1.py
# Needs the trained tokenizer (see configs/_base_/videoar_movingdigits_ar.py).
_base_ = ['./_base_/videoar_movingdigits_ar.py']

max_iters = 300
model = dict(
    num_frames=9,
    resolution=(16, 16),
    max_frames=5,
    quantizer=dict(scale_sizes=[1, 2]),
)
train_dataloader = dict(
    _delete_=True,
    batch_size=32,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='ModalityBatchSampler', image_ratio=0.3, seed=0),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='JointImageVideoDataset',
        dataset=dict(
            type='LatentCacheDataset',
            dataset=dict(
                type='MovingDigits', split='train', length=10000, num_frames=9, height=16, width=16
            ),
            tokenizer=dict(config={{_base_.tokenizer_config}}),
            checkpoint={{_base_.tokenizer_run}},
            cache_dir={{_base_.latent_cache_dir}},
            num_items={{_base_.cache_items}},
        ),
    ),
)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters + 1)
custom_hooks = [dict(type='StageFinishedHook')]
