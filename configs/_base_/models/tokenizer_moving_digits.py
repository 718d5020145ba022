# The tiny causal video tokenizer for MovingDigits (17 x 32 x 32 clips), CPU-trainable: the
# architecture of ./tokenizer_arch_moving_digits.py (shared with the AR model) trained with
# reconstruction and quantizer losses.
_base_ = ['./tokenizer_arch_moving_digits.py']

model = dict(
    type='VideoTokenizer',
    input_size=(17, 32, 32),  # checked at build time against the strides and the last scale
    l1_weight=1.0,
    l2_weight=1.0,
    perceptual=None,  # no local feature network on the CPU path
    discriminator=None,  # reconstruction + quantizer losses only
)

val_evaluator = [dict(type='PSNR'), dict(type='SSIM')]
test_evaluator = val_evaluator
