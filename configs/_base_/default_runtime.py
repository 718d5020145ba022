# Runtime settings shared by every videoar config (mmengine conventions).
default_scope = 'videoar'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # written to a temporary file and renamed; old ones deleted only after the new one is complete
    checkpoint=dict(
        type='AtomicCheckpointHook', interval=500, by_epoch=False, max_keep_ckpts=2, save_last=True
    ),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # a non-finite loss or gradient skips the step; 5 in a row stop the run; a checkpoint with
    # non-finite weights is never written (videoar/engine/hooks/finite_guard_hook.py)
    finite_guard=dict(type='FiniteGuardHook', max_consecutive=5),
    # checkpoints hold the random states and the sampler position; --resume restores them and
    # positions the sampler without decoding the skipped clips (videoar/engine/exact_resume.py)
    exact_resume=dict(type='ExactResumeHook'),
)

# SIGTERM / SIGUSR1 (and one Ctrl-C) save a checkpoint at the next iteration and exit with code
# 75; `--resume` continues (videoar/engine/hooks/preemption_hook.py)
preemption = dict(signals=['SIGTERM', 'SIGUSR1'], exit_code=75)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

log_processor = dict(type='LogProcessor', window_size=20, by_epoch=False)
log_level = 'INFO'
visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])

load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
