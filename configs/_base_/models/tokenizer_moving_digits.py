# The tiny causal video tokenizer for MovingDigits (17 x 32 x 32 clips), CPU-trainable:
#   encoder/decoder of causal 3D convs, spatial stride 8, temporal stride 4, latent dim d = 16
#   17 x 32 x 32 -> 5 x 4 x 4 latent; multi-scale BSQ over scales 1, 2, 3, 4 (16 bits per token)
#   -> 5 x (1 + 4 + 9 + 16) = 150 tokens per clip (2400 bits).
# Residual blocks are per frame (block_temporal_kernel_size=1: 3x cheaper and, measured, faster to
# train at this size); time is mixed by the stem, the resampling and the output convs.
# The AR configs (configs/_base_/models/videoar_tiny.py) must use the same tokenizer/quantizer
# dicts to load its checkpoint.
model = dict(
    type='VideoTokenizer',
    input_size=(17, 32, 32),  # checked at build time against the strides and the last scale
    tokenizer=dict(
        type='CausalVideoTokenizer',
        latent_dim=16,
        spatial_stride=8,
        temporal_stride=4,
        base_channels=16,
        channel_mult=(1, 2, 2),
        num_res_blocks=1,
        temporal_kernel_size=3,
        block_temporal_kernel_size=1,
        pad_mode='replicate',
    ),
    quantizer=dict(
        type='MultiScaleBSQ',
        embed_dim=16,
        scale_sizes=[1, 2, 3, 4],
        commit_weight=0.25,
        entropy_weight=0.1,
        learn_scales=True,
    ),
    l1_weight=1.0,
    l2_weight=1.0,
    perceptual=None,  # no local feature network on the CPU path
    discriminator=None,  # reconstruction + quantizer losses only
)

val_evaluator = [dict(type='PSNR'), dict(type='SSIM')]
test_evaluator = val_evaluator
