# Curriculum stage 2: higher resolution (32 x 32 -> 4 x 4 latents, scales (1, 2, 3, 4)), short
# clips (9 frames, 3 latent frames). Initialised from stage 1's final checkpoint: the scale
# embedding table grows from 2 to 4 scales, Multi-scale Temporal RoPE has no parameters.
#   python tools/train.py configs/videoar_stage2.py
# Needs stage 1 (python tools/train.py configs/videoar_stage1.py) or
#   --cfg-options custom_hooks.0.checkpoint=PATH
_base_ = ['./_base_/videoar_movingdigits_ar.py']

max_iters = 300
model = dict(num_frames=9, resolution=(32, 32), max_frames=5)
train_dataloader = dict(dataset=dict(num_latent_frames=3))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters + 1)
custom_hooks = [
    dict(
        type='InitFromStageHook',
        stage_work_dir='./work_dirs/videoar_stage1',
        command='python tools/train.py configs/videoar_stage1.py',
    ),
    dict(type='StageFinishedHook'),
]
