# The tiny VideoAR (./models/videoar_tiny.py) trained on MovingDigits pixels with the constant
# AdamW schedule, train only (tools/test.py adds metrics). The ablation arms
# (configs/ablations/) and the text-to-video config build on it.
_base_ = [
    './models/videoar_tiny.py',
    './datasets/moving_digits.py',
    './schedules/adamw_constant_iters.py',
    './default_runtime.py',
]

# the clip settings of ./datasets/moving_digits_clips.py (num_frames, img_size): changing them
# there changes both the data and the model
model = dict(num_frames=_base_.num_frames, resolution=(_base_.img_size, _base_.img_size))

val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
