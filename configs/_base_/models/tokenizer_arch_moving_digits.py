# The tiny MovingDigits tokenizer and quantizer architecture, and the only place it is written:
# the tokenizer training model (./tokenizer_moving_digits.py) and the AR model that loads its
# checkpoint (./videoar_tiny.py) both inherit this partial model dict, so they cannot disagree.
#   causal 3D convs, spatial stride 8, temporal stride 4, latent dim d = 16:
#   17 x 32 x 32 -> 5 x 4 x 4 latent; multi-scale BSQ over scales 1, 2, 3, 4 (16 bits per token)
#   -> 5 x (1 + 4 + 9 + 16) = 150 tokens per clip (2400 bits). docs/tokenizer.md measures this
#   choice against 32 bits (better reconstructions, but the tiny AR model generates worse videos).
# Residual blocks are per frame (block_temporal_kernel_size=1: 3x cheaper and, measured, faster to
# train at this size); time is mixed by the stem, the resampling and the output convs.
model = dict(
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
)

# The same latent with multi-scale residual VQ instead of bitwise BSQ (the VQ-vs-BSQ ablation: the
# VQ tokenizer config and the AR arm that loads it both take this dict): one shared codebook of
# 4096 codes, 12 bits per token.
vq_quantizer = dict(
    type='MultiScaleVQ',
    # matched sizes: the latent dim and scale schedule of the BSQ quantizer above
    **{key: model['quantizer'][key] for key in ('embed_dim', 'scale_sizes')},
    codebook_size=4096,
    beta=0.25,
    phi_partitions=0,
    dead_code_threshold=0.01,
)
