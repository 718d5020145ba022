# Curriculum stage 3: long clips only (17 frames -> 5 latent frames) at 32 x 32, initialised
# from stage 2. Samples a fixed grid of classes every 200 iterations and, after training,
# generates 100 videos and measures class accuracy and the classifier Fréchet distance.
#   python tools/train.py configs/videoar_stage3.py
# Needs stage 2 (python tools/train.py configs/videoar_stage2.py) or
#   --cfg-options custom_hooks.InitFromStageHook.checkpoint=PATH
# The clips (model and data) are those of configs/_base_/videoar_movingdigits_ar.py.
_base_ = ['./_base_/videoar_movingdigits_ar.py']

max_iters = 1000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters + 1)
custom_hooks = [
    dict(
        type='InitFromStageHook',
        stage_work_dir='./work_dirs/videoar_stage2',
        command='python tools/train.py configs/videoar_stage2.py',
    ),
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
]
