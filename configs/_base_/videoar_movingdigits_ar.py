# Shared settings of the autoregressive curriculum stages on the embedded MovingDigits default
# (configs/videoar_stage{1,2,3}.py). The frozen tokenizer comes from the tokenizer run:
#   python tools/train.py configs/tokenizer/videoar-tokenizer_tiny_1xb8-600iters_movingdigits-32x32-17f.py
# and every AR stage reads tokenizer latents from a cache (encoded once, fingerprinted by the
# tokenizer checkpoint and the clip settings), not pixels.
_base_ = [
    './models/videoar_tiny.py',
    './schedules/adamw_constant_iters.py',
    './default_runtime.py',
]

tokenizer_config = (
    'configs/tokenizer/videoar-tokenizer_tiny_1xb8-600iters_movingdigits-32x32-17f.py'
)
tokenizer_run = dict(
    _delete_=True,
    work_dir='./work_dirs/videoar-tokenizer_tiny_1xb8-600iters_movingdigits-32x32-17f',
    command='python tools/train.py ' + tokenizer_config,
)
latent_cache_dir = './work_dirs/latent_cache'
cache_items = 3000  # clips encoded once per clip setting

model = dict(
    tokenizer_checkpoint=tokenizer_run,
    transformer=dict(dim=192, depth=6, num_heads=6, qk_norm=True),
    conditioner=dict(type='ClassConditioner', num_classes=10, drop_prob=0.1),
    sample_cfg=dict(cfg_scale=3.0, temperature=1.0, top_k=0, top_p=1.0, seed=0),
)

optim_wrapper = dict(
    type='PortableAmpOptimWrapper',
    dtype='bfloat16',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05),
    clip_grad=dict(max_norm=2.0),
)

# The real clips the evaluation compares with (validation split, pixels).
real_val_dataloader = dict(
    batch_size=16,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='MovingDigits', split='val', length=256, num_frames=17, height=32, width=32),
)
# Class accuracy and Fréchet distance measured with a small video classifier trained on the real
# MovingDigits training split (trained once, cached under ~/.cache/videoar).
generation_metrics = [
    dict(type='ClassAccuracy', classifier=dict(type='MovingDigitsClassifier')),
    dict(type='FVD', feature_extractor=dict(type='MovingDigitsClassifier'), name='fcd_classifier'),
]

default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=1000000, max_keep_ckpts=1))

# Training data: cached latents of 17 x 32 x 32 clips (stage 2 serves their first 3 latent
# frames, which a causal tokenizer makes exactly the latents of 9-frame clips).
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='LatentCacheDataset',
        dataset=dict(
            type='MovingDigits', split='train', length=10000, num_frames=17, height=32, width=32
        ),
        tokenizer=dict(config=tokenizer_config),
        checkpoint=tokenizer_run,
        cache_dir=latent_cache_dir,
        num_items=cache_items,
    ),
)
# AR stages train only; the evaluation runs from hooks (GenerationEvaluationHook) or the
# curriculum's evaluate stage.
val_dataloader = None
val_cfg = None
val_evaluator = None
test_cfg = None
