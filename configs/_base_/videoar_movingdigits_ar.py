# Shared settings of the autoregressive curriculum stages on the embedded MovingDigits default
# (configs/videoar_stage{1,2,3}.py). The frozen tokenizer comes from the tokenizer run:
#   python tools/train.py configs/tokenizer/videoar-tokenizer_tiny_1xb8-400iters_movingdigits-32x32-17f.py
# and every AR stage reads tokenizer latents from a cache (encoded once, fingerprinted by the
# tokenizer checkpoint and the clip settings), not pixels.
_base_ = [
    './models/videoar_tiny.py',
    './datasets/moving_digits_clips.py',
    './schedules/adamw_constant_iters.py',
    './default_runtime.py',
]

tokenizer_config = (
    'configs/tokenizer/videoar-tokenizer_tiny_1xb8-400iters_movingdigits-32x32-17f.py'
)
tokenizer_run = dict(
    _delete_=True,
    work_dir='./work_dirs/videoar-tokenizer_tiny_1xb8-400iters_movingdigits-32x32-17f',
    command='python tools/train.py ' + tokenizer_config,
)
latent_cache_dir = './work_dirs/latent_cache'
cache_items = 3000  # clips encoded once per clip setting

model = dict(
    # the clip settings of ./datasets/moving_digits_clips.py (17 frames of 32 x 32), which the
    # datasets below use too; a stage that trains on other clips restates both
    num_frames=_base_.num_frames,
    resolution=(_base_.img_size, _base_.img_size),
    max_frames=5,
    tokenizer_checkpoint=tokenizer_run,
    transformer=dict(dim=192, depth=6, num_heads=6),
)

optim_wrapper = dict(
    type='PortableAmpOptimWrapper',
    dtype='bfloat16',
    optimizer=dict(weight_decay=0.05),
)

# The real clips the evaluation compares with (validation split, pixels).
real_val_dataloader = dict(
    batch_size=16,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='video_collate'),
    dataset=_base_.val_clips,
)
# Class accuracy and Fréchet distance measured with a small video classifier trained on the real
# MovingDigits training split (trained once, cached under ~/.cache/videoar).
generation_metrics = [
    dict(type='ClassAccuracy', classifier=dict(type='MovingDigitsClassifier')),
    dict(type='FVD', feature_extractor=dict(type='MovingDigitsClassifier'), name='fcd_classifier'),
]

# a checkpoint every 100 iterations (two kept): an interrupted stage resumes from the newest one
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=100, max_keep_ckpts=2))

# Training data: cached latents of 17 x 32 x 32 clips (stage 2 serves their first 3 latent
# frames, which a causal tokenizer makes exactly the latents of 9-frame clips).
latent_clips = dict(
    type='LatentCacheDataset',
    dataset=_base_.train_clips,
    tokenizer=dict(config=tokenizer_config),
    checkpoint=tokenizer_run,
    cache_dir=latent_cache_dir,
    num_items=cache_items,
)
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='video_collate'),
    dataset=latent_clips,
)
max_iters = 300
train_cfg = dict(max_iters=max_iters, val_interval=max_iters + 1)
# AR stages train only; the evaluation runs from hooks (GenerationEvaluationHook) or the
# curriculum's evaluate stage.
val_dataloader = None
val_cfg = None
val_evaluator = None
test_cfg = None
