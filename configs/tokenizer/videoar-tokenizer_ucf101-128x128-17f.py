# The paper's UCF-101 tokenizer (VideoAR-L tokenizer, §2.1 / Table 2): 17 x 128 x 128 clips ->
# 5 x 8 x 8 latents (spatial 16, temporal 4), d = 48 bits per token, multi-scale BSQ over scales
# 1, 2, 3, 4, 6, 8 -> 5 x 130 = 650 tokens per clip.
# Loss (Eq. 4; the paper gives no weights, these are ours): L1 reconstruction + BSQ commitment and
# entropy + 3D PatchGAN (hinge, LeCAM) from disc_start_iter. Paper recipe: inflate the encoder and
# decoder from a 2D image tokenizer (CausalVideoTokenizer.inflate_from_2d), then fine-tune on
# UCF-101 for 2000 epochs at batch 128.
# Perceptual loss: needs a local feature network, e.g.
#   model = dict(perceptual=dict(type='PerceptualLoss', model_name='resnet18',
#                                weights_path='/path/to/resnet18.pth'))
# Paths: see configs/_base_/datasets/ucf101.py.
_base_ = [
    '../_base_/datasets/ucf101.py',
    '../_base_/schedules/adamw_cosine_iters.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='VideoTokenizer',
    input_size=(17, 128, 128),
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
    l1_weight=1.0,
    l2_weight=0.0,
    perceptual=None,
    perceptual_weight=0.1,
    discriminator=dict(
        type='PatchDiscriminator3D', base_channels=64, num_layers=3, temporal_downsample=1
    ),
    gan_weight=0.1,
    disc_start_iter=20000,
    lecam_weight=0.001,
    lecam_decay=0.999,
)

# generator (tokenizer + quantizer) and discriminator each get their own AdamW
optim_wrapper = dict(
    _delete_=True,
    constructor='GANOptimWrapperConstructor',
    generator=dict(
        type='OptimWrapper',
        optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.95), weight_decay=0.0),
        clip_grad=dict(max_norm=1.0),
    ),
    discriminator=dict(
        type='OptimWrapper',
        optimizer=dict(type='AdamW', lr=1e-4, betas=(0.5, 0.9), weight_decay=0.0),
    ),
)
max_iters = 150000  # ~2000 epochs of UCF-101 train split 1 (9.5k clips) at batch 128
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=5000)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=1000),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=1000, end=max_iters, eta_min_ratio=0.1),
]
default_hooks = dict(checkpoint=dict(interval=5000))
val_evaluator = [dict(type='PSNR'), dict(type='SSIM')]
test_evaluator = val_evaluator
