# Curriculum stage 2: higher resolution (32 x 32 -> 4 x 4 latents, scales (1, 2, 3, 4)), images
# and short clips (9 frames, 3 latent frames) jointly, as the paper's stage II ("higher-resolution
# image and video data"): stage 1's joint sampler, one modality per batch, 30% image batches (an
# image is the first frame of a clip, i.e. latent frame 0). Initialised from stage 1's final
# checkpoint: the scale embedding table grows from 2 to 4 scales, Multi-scale Temporal RoPE has
# no parameters.
#   python tools/train.py configs/videoar_stage2.py
# After the main job (python tools/train.py configs/videoar_curriculum.py) it takes the tokenizer,
# the latent cache and stage 1's weights from work_dirs/videoar_curriculum; another run:
#   --cfg-options inputs.run=WORK_DIR (a curriculum or stage1 work dir) or inputs.init=CHECKPOINT
_base_ = ['./_base_/videoar_movingdigits_ar.py']

# The model trains on the first num_latent_frames latent frames of the cached 17-frame clips,
# which a causal tokenizer (temporal stride 4) makes the latents of 1 + 4 * (3 - 1) = 9 frames;
# both follow from num_latent_frames.
num_latent_frames = 3
model = dict(num_frames=1 + 4 * (num_latent_frames - 1))
image_ratio = 0.3  # fraction of image batches (0 = videos only, the stage before images)
train_dataloader = dict(
    batch_sampler=dict(type='ModalityBatchSampler', image_ratio=image_ratio, seed=0),
    dataset=dict(
        _delete_=True,
        type='JointImageVideoDataset',
        dataset=dict(_base_.latent_clips, num_latent_frames=num_latent_frames),
    ),
)
# initialised from the main job's stage1 (see `inputs` in _base_/videoar_movingdigits_ar.py)
inputs = dict(init_stage='stage1')
custom_hooks = [
    dict(type='InitFromStageHook', command='python tools/train.py configs/videoar_curriculum.py'),
    dict(type='StageFinishedHook'),
]
