# VideoAR-L on UCF-101, class-conditional (paper Table 3: 926M parameters, gFVD 90.3, 30 steps).
# Tokenizer: 17 x 128 x 128 -> 5 x 8 x 8 tokens (spatial 16, temporal 4, d = 48); scales
# (1,2,3,4,6,8) -> 5 frames x 6 scales = 30 sampling steps. Transformer: 24 layers, width 1536,
# 12 heads, SwiGLU hidden 4 x width (about 16 L C^2 parameters, LLaMA-style, no cross-attention).
# Conditioning: VAR's shared AdaLN (cond_mode='adaln', adaln_mode='shared': one 6C-wide modulation
# shared by all blocks, plus the head's 2C-wide one), the class embedding also the SOS. This is
# what the paper most likely used on UCF-101: it gives 925.25M trainable parameters against the
# paper's 926M (0.08% short), where the class as a prefix token (cond_mode='prefix', the text
# layout of the paper's Fig. 2) gives 906.44M (2.1% short): the difference is exactly the two
# modulations. The XL size does not discriminate (2.18B AdaLN, 2.15B prefix, paper 2.0B).
# tests/configs/test_paper_configs.py checks both counts exactly against their formula.
# Optimisation (supp. A): AdamW (0.9, 0.95), lr 1e-4 cosine, weight decay 0.05, bf16,
# gradient checkpointing; Cross-Frame Error Correction p_min 0, p_max 0.25, delta 0.01;
# Random Frame Mask is not used on UCF-101 (the paper: it slows convergence on a small set).
# Sampling: the temporal-spatial CFG schedule (first scale 1 -> 5 over frames, up to 10 within).
# Batch size and iterations are not given by the paper: 8 GPUs x 16 and 200k iterations here.
# UCF-101 paths: see configs/_base_/datasets/ucf101.py. The tokenizer and quantizer come from
# ../_base_/models/tokenizer_arch_ucf101.py, the architecture the tokenizer config
# configs/tokenizer/videoar-tokenizer_ucf101-128x128-17f.py trains.
_base_ = [
    '../_base_/models/tokenizer_arch_ucf101.py',
    '../_base_/datasets/ucf101.py',
    '../_base_/schedules/adamw_cosine_iters.py',
    '../_base_/default_runtime.py',
]

max_iters = 200000

model = dict(
    type='VideoAR',
    # the clip settings of the dataset base (num_frames = 17, img_size = 128 there): changing
    # them there changes both the data and the model
    num_frames=_base_.num_frames,
    resolution=(_base_.img_size, _base_.img_size),
    tokenizer_checkpoint=None,  # set to the trained UCF-101 tokenizer checkpoint
    transformer=dict(
        type='ARTransformer',
        dim=1536,
        depth=24,
        num_heads=12,
        ffn_dim=6144,
        qk_norm=True,
        cond_mode='adaln',
        adaln_mode='shared',
        grad_checkpointing=True,
    ),
    conditioner=dict(type='ClassConditioner', num_classes=101, drop_prob=0.1),
    corrector=dict(type='CrossFrameErrorCorrection', p_min=0.0, p_max=0.25, delta=0.01),
    masking=dict(type='BlockCausalMask'),
    pos_encoding=dict(type='MultiScaleTemporalRoPE'),
    sample_cfg=dict(
        cfg_schedule=dict(
            type='TemporalSpatialCFG', first_start=1.0, first_end=5.0, max_scale=10.0
        ),
        temperature=1.0,
        top_k=0,
        top_p=1.0,
        seed=0,
    ),
)

# the AdamW of the cosine schedule base (lr 1e-4, weight decay 0.05) in bf16
optim_wrapper = dict(type='PortableAmpOptimWrapper', dtype='bfloat16')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=2000),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=2000, end=max_iters, eta_min_ratio=0.01),
]
train_cfg = dict(max_iters=max_iters, val_interval=10000)
train_dataloader = dict(batch_size=16)
default_hooks = dict(checkpoint=dict(interval=5000, max_keep_ckpts=3))
custom_hooks = [dict(type='EMAHook', momentum=1e-4, priority='ABOVE_NORMAL')]
