# The image-tokenizer stage of the tokenizer recipe (paper §4.1: the 3D tokenizer is initialised by
# inflating a 2D image tokenizer): the tiny MovingDigits tokenizer architecture with 2D
# convolutions (ImageTokenizer2D, same channels, strides and quantizer), trained on single
# 32 x 32 frames. Then the video tokenizer starts from it:
#   python tools/train.py configs/tokenizer/videoar-image-tokenizer_tiny_1xb32-400iters_movingdigits-32x32.py
#   python tools/train.py configs/tokenizer/videoar-tokenizer_tiny_1xb8-1200iters_movingdigits-32x32-17f.py \
#       --cfg-options model.inflate_from=work_dirs/videoar-image-tokenizer_tiny_1xb32-400iters_movingdigits-32x32
# (model.inflate_init='random' keeps the random init of the time slices the 2D kernels do not
# fill; the default 'zero' makes the video tokenizer reproduce the image tokenizer on frame 0).
# The curriculum does both with configs/videoar_curriculum_inflate.py.
_base_ = [
    '../_base_/models/tokenizer_moving_digits.py',
    '../_base_/datasets/moving_digits.py',
    '../_base_/schedules/adamw_constant_iters.py',
    '../_base_/default_runtime.py',
]

max_iters = 400
num_frames = 1  # still images: MovingDigits renders one frame per item
model = dict(
    input_size=(num_frames, _base_.img_size, _base_.img_size),
    tokenizer=dict(type='ImageTokenizer2D'),
)
train_dataloader = dict(batch_size=32, dataset=dict(num_frames=num_frames))
val_dataloader = dict(dataset=dict(num_frames=num_frames))
test_dataloader = dict(dataset=dict(num_frames=num_frames))
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.0))
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=max_iters))
# single frames: the MovingDigits video classifier of the base's evaluator scores 17-frame clips
val_evaluator = [dict(type='PSNR'), dict(type='SSIM')]
test_evaluator = val_evaluator
