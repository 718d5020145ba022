# The paper's UCF-101 tokenizer (VideoAR-L tokenizer; docs/method.md, "Tokenizer"), trained on
# UCF-101; the architecture (17 x 128 x 128 -> 5 x 8 x 8 latents, d = 48, scales 1, 2, 3, 4,
# 6, 8: 650 tokens per clip) is ../_base_/models/tokenizer_arch_ucf101.py, shared with the paper's AR models.
# Loss (Eq. 4; the paper gives no weights, these are ours): L1 reconstruction + BSQ commitment and
# entropy + 3D PatchGAN (hinge, LeCAM) from disc_start_iter. Paper recipe: inflate the encoder and
# decoder from a 2D image tokenizer (CausalVideoTokenizer.inflate_from_2d), then fine-tune on
# UCF-101 for 2000 epochs at batch 128.
# Perceptual loss: needs a local feature network, e.g.
#   model = dict(perceptual=dict(type='PerceptualLoss', model_name='resnet18',
#                                weights_path='/path/to/resnet18.pth'))
# Paths: see configs/_base_/datasets/ucf101.py.
_base_ = [
    '../_base_/models/tokenizer_arch_ucf101.py',
    '../_base_/datasets/ucf101.py',
    '../_base_/schedules/adamw_cosine_iters.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='VideoTokenizer',
    # the clip settings of the dataset base (num_frames = 17, img_size = 128 there): changing
    # them there changes both the data and the size the model checks at build time
    input_size=(_base_.num_frames, _base_.img_size, _base_.img_size),
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
