# The paper's UCF-101 tokenizer (VideoAR-L tokenizer; docs/method.md, "Tokenizer"), trained on
# UCF-101; the architecture (17 x 128 x 128 -> 5 x 8 x 8 latents, d = 48, scales 1, 2, 3, 4,
# 6, 8: 650 tokens per clip) is ../_base_/models/tokenizer_arch_ucf101.py, shared with the paper's AR models.
# Loss (Eq. 4; the paper gives no weights, these are ours): L1 reconstruction + perceptual + BSQ
# commitment and entropy + 3D PatchGAN (hinge, LeCAM) from disc_start_iter.
# Initialisation (paper §4.1): inflated from the 2D image tokenizer of the same architecture,
# trained first with ./videoar-image-tokenizer_ucf101-128x128.py; the time slices the 2D kernels
# do not fill start random (inflate_init='random', the paper's words; 'zero' reproduces the image
# tokenizer on frame 0 exactly). model.inflate_from=None trains from scratch. Then fine-tune on
# UCF-101 for 2000 epochs at batch 128.
# Perceptual loss (Eq. 4): a frozen timm ResNet-18 read from a local file, nothing is downloaded.
# Put its weights (a timm / torchvision resnet18 state dict, .pth or .safetensors) at
# perceptual_weights below; without the file the build stops with an error naming this path
# (or train without it: --cfg-options model.perceptual=None).
# Paths: see configs/_base_/datasets/ucf101.py.
_base_ = [
    '../_base_/models/tokenizer_arch_ucf101.py',
    '../_base_/datasets/ucf101.py',
    '../_base_/schedules/adamw_cosine_iters.py',
    '../_base_/default_runtime.py',
]

perceptual_weights = 'data/weights/resnet18.pth'  # PLACEHOLDER: local timm resnet18 weights
image_tokenizer_config = 'configs/tokenizer/videoar-image-tokenizer_ucf101-128x128.py'
image_tokenizer_run = dict(
    work_dir='./work_dirs/videoar-image-tokenizer_ucf101-128x128',
    command='python tools/train.py ' + image_tokenizer_config,
)

model = dict(
    type='VideoTokenizer',
    # the clip settings of the dataset base (num_frames = 17, img_size = 128 there): changing
    # them there changes both the data and the size the model checks at build time
    input_size=(_base_.num_frames, _base_.img_size, _base_.img_size),
    l1_weight=1.0,
    l2_weight=0.0,
    perceptual=dict(type='PerceptualLoss', model_name='resnet18', weights_path=perceptual_weights),
    perceptual_weight=0.1,
    discriminator=dict(
        type='PatchDiscriminator3D', base_channels=64, num_layers=3, temporal_downsample=1
    ),
    gan_weight=0.1,
    disc_start_iter=20000,
    lecam_weight=0.001,
    lecam_decay=0.999,
    inflate_from=image_tokenizer_run,
    inflate_init='random',
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
