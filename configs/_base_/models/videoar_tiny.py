# The tiny VideoAR model for CPU runs on MovingDigits (17 x 32 x 32 clips), with the paper's
# components (VideoAR, arXiv 2601.05966):
#   prefix conditioning (the class token leads the sequence), Multi-scale Temporal RoPE, the
#   block-causal mask, Cross-Frame Error Correction (p_min 0, p_max 0.25, delta 0.01) and the
#   multi-scale BSQ quantizer (bitwise labels, bitwise CE).
# Sizes: 17 frames -> 5 latent frames of 4 x 4 (tokenizer stride 8 / 4); scales 1,2,3,4
# -> 5 x 4 = 20 sampling steps per video; transformer 128 wide, 4 blocks, 4 heads.
#
# The tokenizer and quantizer (frozen) come from ./tokenizer_arch_moving_digits.py, the file the
# tokenizer training config uses, so a checkpoint of
#   python tools/train.py configs/tokenizer/videoar-tokenizer_tiny_1xb8-1200iters_movingdigits-32x32-17f.py
# loads strictly: --cfg-options model.tokenizer_checkpoint=work_dirs/<that config>/iter_1200.pth.
# None keeps a random-init tokenizer (fine for tests and smoke runs, not for real samples).
# num_frames / resolution below are this file's defaults; the configs that add a dataset
# (configs/_base_/videoar_tiny_movingdigits.py, configs/_base_/videoar_movingdigits_ar.py) set
# them from the dataset's clip settings.
_base_ = ['./tokenizer_arch_moving_digits.py']

model = dict(
    type='VideoAR',
    num_frames=17,
    resolution=(32, 32),
    tokenizer_checkpoint=None,
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
