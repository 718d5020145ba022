# Shared settings of the autoregressive curriculum stages on the embedded MovingDigits default
# (configs/videoar_stage{1,2,3}.py). Every AR stage needs a trained tokenizer (frozen) and reads
# its latents from a cache (encoded once, fingerprinted by the tokenizer checkpoint and the clip
# settings), not pixels.
#
# Where those come from is said once, in `inputs` (videoar/engine/runs.py): by default the main
# job's work dir (python tools/train.py configs/videoar_curriculum.py), whose tokenizer stage,
# latent cache and (for stages 2 and 3) previous stage the standalone stage configs use. Point
# it elsewhere from the command line, e.g.
#   --cfg-options inputs.run=work_dirs/videoar_stage1        (a stage's work dir)
#   --cfg-options inputs.tokenizer=work_dirs/videoar-tokenizer_tiny_1xb8-1200iters_movingdigits-32x32-17f
# The tokenizer checkpoint then reaches the model, the latent cache and the init hook alike.
_base_ = [
    './models/videoar_tiny.py',
    './datasets/moving_digits_clips.py',
    './schedules/adamw_constant_iters.py',
    './default_runtime.py',
]

# an absolute path (the config's own directory), so the config works from any directory
tokenizer_config = (
    '{{ fileDirname }}/../tokenizer/videoar-tokenizer_tiny_1xb8-1200iters_movingdigits-32x32-17f.py'
)
inputs = dict(
    run='./work_dirs/videoar_curriculum',  # a curriculum work dir or a stage work dir
    init_stage=None,  # the stage of that run to initialise from (set by stages 2 and 3)
    tokenizer=None,  # explicit overrides: a checkpoint file or a run's work dir ...
    init=None,
    latent_cache=None,  # ... and a latent cache directory
    command='python tools/train.py configs/videoar_curriculum.py',  # what makes `run`
)
# the MovingDigits classes, for tools/generate.py --classes (without building the latent cache)
class_names = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']
latent_cache_dir = './work_dirs/latent_cache'  # used when `inputs` names no latent cache
cache_items = 3000  # clips encoded once per clip setting

model = dict(
    # the clip settings of ./datasets/moving_digits_clips.py (17 frames of 32 x 32), which the
    # datasets below use too; a stage that trains on other clips restates both
    num_frames=_base_.num_frames,
    resolution=(_base_.img_size, _base_.img_size),
    max_frames=5,
    tokenizer_checkpoint=None,  # from `inputs`
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
    checkpoint=None,  # from `inputs`
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
