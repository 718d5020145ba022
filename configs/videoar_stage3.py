# Curriculum stage 3: long clips only (17 frames -> 5 latent frames) at 32 x 32, initialised
# from stage 2. Samples a fixed grid of classes every 200 iterations and, after training,
# generates 100 videos and measures class accuracy and the classifier Fréchet distance.
#   python tools/train.py configs/videoar_stage3.py
# After the main job (python tools/train.py configs/videoar_curriculum.py) it takes the tokenizer,
# the latent cache and stage 2's weights from work_dirs/videoar_curriculum; another run:
#   --cfg-options inputs.run=WORK_DIR (a curriculum or stage2 work dir) or inputs.init=CHECKPOINT
# The clips (model and data) are those of configs/_base_/videoar_movingdigits_ar.py.
_base_ = ['./_base_/videoar_movingdigits_ar.py']

max_iters = 1000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters + 1)
# initialised from the main job's stage2 (see `inputs` in _base_/videoar_movingdigits_ar.py)
inputs = dict(init_stage='stage2')
# the training forwards run each transformer block through torch.compile: about 15 s of
# compilation, then 1.27x faster steps (the main job's stage 3: 325 s -> 262 s on 2 CPU cores;
# docs/performance.md). Without a working C++ compiler it warns and runs eagerly.
model = dict(transformer=dict(compile_blocks=True))
custom_hooks = [
    dict(type='InitFromStageHook', command='python tools/train.py configs/videoar_curriculum.py'),
    dict(type='StageFinishedHook'),
    dict(
        type='VideoVisualizationHook', interval=200, conditions=dict(label=list(range(10))), fps=8
    ),
    dict(
        type='GenerationEvaluationHook',
        metrics=_base_.generation_metrics,
        interval=0,
        num_samples=100,
        batch_size=25,
        conditions='balanced',
        real_dataloader=_base_.real_val_dataloader,
    ),
    # the evaluation and the checkpoint's state_dict use the average of the weights (about the
    # last 100 steps); with the decay below it raised the main job's class accuracy from 0.81 to
    # 0.88 in one run each (docs/tokenizer.md)
    dict(type='EMAHook', momentum=0.01, priority='ABOVE_NORMAL'),
]
# warm-up, constant, then a cosine decay to a tenth of the rate over the second half
param_scheduler = [
    dict(type='LinearLR', start_factor=0.05, by_epoch=False, begin=0, end=20),
    dict(
        type='CosineAnnealingLR', eta_min=1e-4, by_epoch=False, begin=max_iters // 2, end=max_iters
    ),
]
