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

# PSNR / SSIM, and what the reconstructions keep of each clip's class: the MovingDigits video
# classifier's accuracy on them and the Fréchet distance of its features to the clips they came
# from (the main job's "reconstruction" row scores the same way)
val_evaluator = [
    dict(type='PSNR'),
    dict(type='SSIM'),
    dict(type='ClassAccuracy', classifier=dict(type='MovingDigitsClassifier')),
    dict(type='FVD', feature_extractor=dict(type='MovingDigitsClassifier'), name='fcd_classifier'),
]
test_evaluator = val_evaluator
