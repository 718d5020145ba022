# The tiny VideoAR model for CPU runs on MovingDigits (17 x 32 x 32 clips), with the paper's
# components (VideoAR, arXiv 2601.05966):
#   prefix conditioning (the class token leads the sequence), Multi-scale Temporal RoPE, the
#   block-causal mask, Cross-Frame Error Correction (p_min 0, p_max 0.25, delta 0.01) and the
#   multi-scale BSQ quantizer (bitwise labels, bitwise CE).
# Sizes: 17 frames -> 5 latent frames of 4 x 4 (tokenizer stride 8 / 4); scales 1,2,3,4
# -> 5 x 4 = 20 sampling steps per video; transformer 128 wide, 4 blocks, 4 heads.
#
# The tokenizer and quantizer are frozen. Point tokenizer_checkpoint at a trained VideoTokenizer
# checkpoint of the same tokenizer/quantizer config, e.g. the output of
#   python tools/train.py configs/tokenizer/videoar-tokenizer_tiny_1xb8-600iters_movingdigits-32x32-17f.py
# (--cfg-options model.tokenizer_checkpoint=work_dirs/<that config>/iter_600.pth); None keeps a
# random-init tokenizer (fine for tests and smoke runs, not for real samples).
# (Values are written inline: a config that also inherits a dataset base may not define the same
# top-level names, e.g. num_frames, twice. Keep num_frames/resolution equal to the dataset's.)
model = dict(
    type='VideoAR',
    num_frames=17,
    resolution=(32, 32),
    tokenizer_checkpoint=None,
    # the same tokenizer/quantizer as configs/_base_/models/tokenizer_moving_digits.py, so that a
    # checkpoint of configs/tokenizer/videoar-tokenizer_tiny_*movingdigits* loads strictly
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
    transformer=dict(
        type='ARTransformer',
        dim=128,
        depth=4,
        num_heads=4,
        qk_norm=True,
        cond_mode='prefix',
        grad_checkpointing=False,
    ),
    conditioner=dict(type='ClassConditioner', num_classes=10, drop_prob=0.1),
    corrector=dict(type='CrossFrameErrorCorrection', p_min=0.0, p_max=0.25, delta=0.01),
    masking=dict(type='BlockCausalMask'),
    pos_encoding=dict(type='MultiScaleTemporalRoPE'),
    word_embed_norm=False,
    scale_embed_every_block=False,
    reweight_loss_by_scale=False,
    sample_cfg=dict(cfg_scale=3.0, temperature=1.0, top_k=0, top_p=1.0, seed=0),
)
