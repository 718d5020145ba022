# Train the tiny MovingDigits tokenizer on CPU for 1200 iterations in bf16 autocast (the first
# stage of the main job, configs/videoar_curriculum.py, runs this config as it is; the choice of
# latent size, iterations and precision is measured in docs/tokenizer.md):
#   python tools/train.py configs/tokenizer/videoar-tokenizer_tiny_1xb8-1200iters_movingdigits-32x32-17f.py
#   python tools/test.py  configs/tokenizer/videoar-tokenizer_tiny_1xb8-1200iters_movingdigits-32x32-17f.py \
#       work_dirs/<this config>/iter_1200.pth   # PSNR, SSIM, class accuracy, Fréchet
# 17 x 32 x 32 clips -> 5 x 4 x 4 latents -> 150 BSQ tokens (16 bits each) per clip.
# The training log shows usage/bits_s{k} (per-scale bit entropy, 1 = balanced, 0 = collapsed) and
# scale/alpha_s{k} (the learned per-scale code scales) next to the losses and the batch PSNR.
_base_ = [
    '../_base_/models/tokenizer_moving_digits.py',
    '../_base_/datasets/moving_digits.py',
    '../_base_/schedules/adamw_constant_iters.py',
    '../_base_/default_runtime.py',
]

max_iters = 1200
# the clip settings of the dataset base (num_frames = 17, img_size = 32 in
# ../_base_/datasets/moving_digits_clips.py): changing them there changes both the data and the
# size the model checks at build time
model = dict(input_size=(_base_.num_frames, _base_.img_size, _base_.img_size))
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
# bf16 autocast (the step is faster and reaches the fp32 PSNR: docs/tokenizer.md)
optim_wrapper = dict(
    type='PortableAmpOptimWrapper', dtype='bfloat16', optimizer=dict(lr=1e-3, weight_decay=0.0)
)
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=max_iters))
# an exponential moving average of the weights (mmengine's EMAHook: ema = 0.99 ema + 0.01 w, so
# it averages the last ~100 steps); validation and the saved checkpoint's state_dict use it, so
# the AR stages encode and decode with the averaged tokenizer (+0.55 dB PSNR, SSIM 0.82 -> 0.91
# at 1200 iterations: docs/tokenizer.md)
custom_hooks = [dict(type='EMAHook', momentum=0.01, priority='ABOVE_NORMAL')]
