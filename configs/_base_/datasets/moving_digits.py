# MovingDigits dataloaders (the clips: ./moving_digits_clips.py), batches of the typed
# dict(inputs=(B, 3, F, H, W), data_samples=VideoBatch) made by video_collate.
#
# The clip settings are baked into the dicts when the base is loaded: a child config that changes
# them restates the dataset fields, e.g.
#   num_frames = 9
#   train_dataloader = dict(dataset=dict(num_frames=num_frames))
#   val_dataloader = dict(dataset=dict(num_frames=num_frames))
#   test_dataloader = dict(dataset=dict(num_frames=num_frames))
# or use --cfg-options train_dataloader.dataset.num_frames=9 ...
_base_ = ['./moving_digits_clips.py']

train_batch_size = 8
val_batch_size = 8

train_dataloader = dict(
    batch_size=train_batch_size,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='video_collate'),
    dataset=_base_.train_clips,
)
# the same loader, in order (not shuffled), over the validation / test clips
val_dataloader = dict(
    train_dataloader,
    batch_size=val_batch_size,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=_base_.val_clips,
)
test_dataloader = dict(val_dataloader, dataset=_base_.test_clips)
# val_evaluator / test_evaluator: set by the model or experiment config.
