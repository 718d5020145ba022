# TEMPLATE: clips from your own videos (a folder, or a .jsonl/.csv manifest with path, optional
# label and caption). Replace the placeholder paths; tests never load this file's data.
num_frames = 17
img_size = 128
frame_stride = 1
train_batch_size = 4
val_batch_size = 4

data_root = 'data/my_videos/'  # PLACEHOLDER: a folder of .mp4/.avi/.webm/.gif/.mkv/.mov
train_ann_file = 'data/my_videos/train.jsonl'  # PLACEHOLDER (or None to use every file)
val_ann_file = 'data/my_videos/val.jsonl'  # PLACEHOLDER

video_dataset = dict(
    type='VideoFolderDataset',
    data_root=data_root,
    num_frames=num_frames,
    frame_stride=frame_stride,
    height=img_size,
    width=img_size,
    short_clip='skip',
)

train_dataloader = dict(
    batch_size=train_batch_size,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='VisitInfiniteSampler', shuffle=True),  # per-visit clips, fast resume
    collate_fn=dict(type='video_collate'),
    dataset=dict(
        **video_dataset,
        ann_file=train_ann_file,
        offset='random',
        crop='random',
        deterministic=False,
    ),
)
val_dataloader = dict(
    batch_size=val_batch_size,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='video_collate'),
    dataset=dict(**video_dataset, ann_file=val_ann_file, offset='center', crop='center'),
)
test_dataloader = val_dataloader
