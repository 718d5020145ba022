# Curriculum stage 2: higher resolution (32 x 32 -> 4 x 4 latents, scales (1, 2, 3, 4)), short
# clips (9 frames, 3 latent frames). Initialised from stage 1's final checkpoint: the scale
# embedding table grows from 2 to 4 scales, Multi-scale Temporal RoPE has no parameters.
#   python tools/train.py configs/videoar_stage2.py
# Needs stage 1 (python tools/train.py configs/videoar_stage1.py) or
#   --cfg-options custom_hooks.0.checkpoint=PATH
_base_ = ['./_base_/videoar_movingdigits_ar.py']

max_iters = 300
model = dict(num_frames=9, resolution=(32, 32), max_frames=5)
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='LatentCacheDataset',
        dataset=dict(
            type='MovingDigits', split='train', length=10000, num_frames=17, height=32, width=32
        ),
        tokenizer=dict(config={{_base_.tokenizer_config}}),
        checkpoint={{_base_.tokenizer_run}},
        cache_dir={{_base_.latent_cache_dir}},
        num_items={{_base_.cache_items}},
        num_latent_frames=3,
    ),
)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters + 1)
val_dataloader = None
val_cfg = None
val_evaluator = None
test_cfg = None
custom_hooks = [
    dict(
        type='InitFromStageHook',
        stage_work_dir='./work_dirs/videoar_stage1',
        command='python tools/train.py configs/videoar_stage1.py',
    ),
    dict(type='StageFinishedHook'),
]
