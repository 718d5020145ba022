# The paper's UCF-101 tokenizer and quantizer architecture (VideoAR-L tokenizer; docs/method.md,
# "Tokenizer"), and the only place it is written: the tokenizer training config
# (configs/tokenizer/videoar-tokenizer_ucf101-128x128-17f.py) and the paper's AR models
# (configs/paper/) inherit this partial model dict, so the AR model loads that checkpoint.
#   17 x 128 x 128 clips -> 5 x 8 x 8 latents (spatial 16, temporal 4), d = 48 bits per token;
#   multi-scale BSQ over scales 1, 2, 3, 4, 6, 8 -> 5 x 130 = 650 tokens per clip.
model = dict(
    tokenizer=dict(
        type='CausalVideoTokenizer',
        latent_dim=48,
        spatial_stride=16,
        temporal_stride=4,
        base_channels=64,  # ~50M parameters (base 128 would be ~200M)
        channel_mult=(1, 2, 4, 4),
        num_res_blocks=2,
        temporal_kernel_size=3,
        pad_mode='replicate',
    ),
    quantizer=dict(
        type='MultiScaleBSQ',
        embed_dim=48,
        scale_sizes=[1, 2, 3, 4, 6, 8],
        commit_weight=0.25,
        entropy_weight=0.1,
        learn_scales=True,
    ),
)
