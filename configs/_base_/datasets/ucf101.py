# TEMPLATE: UCF-101 (official split 1) at 128x128, 17 frames. Point ucf_root at a folder holding
# UCF-101/<Class>/v_*.avi and ucfTrainTestlist/{classInd,trainlist01,testlist01}.txt.
# Tests never load this file's data.
num_frames = 17
img_size = 128
frame_stride = 1
ucf_split = 1
train_batch_size = 4
val_batch_size = 4

ucf_root = 'data/ucf101/'  # PLACEHOLDER

ucf_dataset = dict(
    type='UCF101',
    root=ucf_root,
    split=ucf_split,
    num_frames=num_frames,
    frame_stride=frame_stride,
    height=img_size,
    width=img_size,
    short_side=img_size,
)

train_dataloader = dict(
    batch_size=train_batch_size,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='VisitInfiniteSampler', shuffle=True),  # per-visit clips, fast resume
    collate_fn=dict(type='video_collate'),
    dataset=dict(
        **ucf_dataset, subset='train', offset='random', crop='random', deterministic=False
    ),
)
val_dataloader = dict(
    batch_size=val_batch_size,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='video_collate'),
    dataset=dict(**ucf_dataset, subset='test', offset='center', crop='center'),
)
test_dataloader = val_dataloader
