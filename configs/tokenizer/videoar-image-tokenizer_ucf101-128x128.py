# The image-tokenizer stage of the paper's UCF-101 tokenizer recipe (§4.1): the architecture of
# ./videoar-tokenizer_ucf101-128x128-17f.py with 2D convolutions (ImageTokenizer2D), trained on
# single 128 x 128 UCF-101 frames with the same losses (the paper starts from Infinity's image
# tokenizer, trained on images; no such weights are local). The video tokenizer config inflates
# its final checkpoint (model.inflate_from points at this run's work directory):
#   python tools/train.py configs/tokenizer/videoar-image-tokenizer_ucf101-128x128.py
#   python tools/train.py configs/tokenizer/videoar-tokenizer_ucf101-128x128-17f.py
_base_ = ['./videoar-tokenizer_ucf101-128x128-17f.py']

num_frames = 1  # single frames of the clips
max_iters = 50000
model = dict(
    input_size=(num_frames, _base_.img_size, _base_.img_size),
    tokenizer=dict(type='ImageTokenizer2D'),
    inflate_from=None,
)
train_dataloader = dict(batch_size=16, dataset=dict(num_frames=num_frames))
val_dataloader = dict(dataset=dict(num_frames=num_frames))
test_dataloader = dict(dataset=dict(num_frames=num_frames))
train_cfg = dict(max_iters=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=1000),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=1000, end=max_iters, eta_min_ratio=0.1),
]
