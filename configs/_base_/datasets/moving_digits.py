# MovingDigits, the embedded default dataset: 17 x 32 x 32 clips of bouncing handwritten digits
# rendered deterministically from scikit-learn's bundled digits (nothing to download).
#
# The variables below are baked into the dicts when this file is loaded: a child config that
# changes them must also restate the fields that use them, e.g.
#   num_frames = 9
#   train_dataloader = dict(dataset=dict(num_frames=num_frames))
#   val_dataloader = dict(dataset=dict(num_frames=num_frames))
#   test_dataloader = dict(dataset=dict(num_frames=num_frames))
# or use --cfg-options train_dataloader.dataset.num_frames=9 ...
num_frames = 17  # 1 + T
img_size = 32
num_digits = 1
dataset_seed = 0
train_batch_size = 8
val_batch_size = 8

dataset_type = 'MovingDigits'
digits_dataset = dict(
    type=dataset_type,
    num_frames=num_frames,
    height=img_size,
    width=img_size,
    num_digits=num_digits,
    seed=dataset_seed,
)

train_dataloader = dict(
    batch_size=train_batch_size,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(**digits_dataset, split='train', length=10000),
)
val_dataloader = dict(
    batch_size=val_batch_size,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(**digits_dataset, split='val', length=256),
)
test_dataloader = dict(
    batch_size=val_batch_size,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(**digits_dataset, split='test', length=256),
)
# val_evaluator / test_evaluator: set by the model or experiment config.
