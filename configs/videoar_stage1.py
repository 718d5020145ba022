# Curriculum stage 1 (docs/method.md, "Multi-stage curriculum", in miniature): images and
# short low-resolution clips, jointly.
# 16 x 16 pixels -> 2 x 2 latents, scales (1, 2); clips of 9 frames (3 latent frames) and single
# frames (1 latent frame), one modality per batch (30% image batches).
#   python tools/train.py configs/videoar_stage1.py
# Needs a trained tokenizer: by default the main job's (`inputs` in
# configs/_base_/videoar_movingdigits_ar.py), or --cfg-options inputs.tokenizer=CHECKPOINT_OR_RUN.
_base_ = ['./_base_/videoar_movingdigits_ar.py']

# The clip settings, used by the model and the dataset below: change them here to change both
# (from the command line both must be given: model.num_frames=... and
# train_dataloader.dataset.dataset.dataset.num_frames=...).
num_frames = 9
img_size = 16

model = dict(
    num_frames=num_frames,
    resolution=(img_size, img_size),
    quantizer=dict(scale_sizes=[1, 2]),
)
train_dataloader = dict(
    batch_size=32,
    batch_sampler=dict(type='ModalityBatchSampler', image_ratio=0.3, seed=0),
    dataset=dict(
        _delete_=True,
        type='JointImageVideoDataset',
        dataset=dict(
            _base_.latent_clips,
            dataset=dict(
                _base_.train_clips, num_frames=num_frames, height=img_size, width=img_size
            ),
        ),
    ),
)
custom_hooks = [dict(type='StageFinishedHook')]
