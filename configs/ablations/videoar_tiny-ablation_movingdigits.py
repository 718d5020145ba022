# The shared base of the ablations in miniature (configs/ablations/README.md): the tiny VideoAR
# (./../_base_/models/videoar_tiny.py: 128 wide, 4 blocks) trained from scratch on cached
# tokenizer latents of MovingDigits (17 frames of 32 x 32 -> 5 latent frames of 4 x 4, scales
# 1..4), with the full method of the paper: Multi-scale Temporal RoPE, the block-causal mask and
# Cross-Frame Error Correction (p_min 0, p_max 0.25, delta 0.01, error inheritance).
# Each ablation row is a file next to this one that changes one thing (Table 4 rows state the
# whole difference from this file). Runs end with the evaluation given by the
# GenerationEvaluationHook below (its settings; the sweep calls evaluate_generation after
# training, and tools/test.py scores a checkpoint the same way):
#   python tools/sweep.py configs/ablations/sweep_table4_movingdigits.py
# Needs only the trained tokenizer of the protocol (not the whole main job), in ./work_dirs of
# the directory the sweep runs from:
#   python tools/train.py configs/tokenizer/videoar-tokenizer_tiny_1xb8-1200iters_movingdigits-32x32-17f.py
# (another one: --cfg-options inputs.tokenizer=CHECKPOINT_OR_WORK_DIR)
_base_ = ['../_base_/videoar_movingdigits_ar.py']

tokenizer_command = 'python tools/train.py ' + (
    'configs/tokenizer/videoar-tokenizer_tiny_1xb8-1200iters_movingdigits-32x32-17f.py'
)
inputs = dict(
    run=None,  # not the curriculum: the ablations train from scratch on the tokenizer's latents
    tokenizer=dict(
        _delete_=True,
        work_dir='./work_dirs/videoar-tokenizer_tiny_1xb8-1200iters_movingdigits-32x32-17f',
        command=tokenizer_command,
    ),
    command=tokenizer_command,
)

max_iters = 200
model = dict(
    transformer=dict(dim=128, depth=4, num_heads=4),
    corrector=dict(
        _delete_=True,
        type='CrossFrameErrorCorrection',
        p_min=0.0,
        p_max=0.25,
        delta=0.01,
        inherit=True,
    ),
    masking=dict(_delete_=True, type='BlockCausalMask'),
    pos_encoding=dict(_delete_=True, type='MultiScaleTemporalRoPE'),
)
train_dataloader = dict(batch_size=16)
train_cfg = dict(max_iters=max_iters, val_interval=max_iters + 1)
# a checkpoint every 100 iterations (one kept): an interrupted run resumes from it
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=100, max_keep_ckpts=1))
custom_hooks = [
    # what the sweep measures after training (evaluate_at_end=False: the sweep's worker runs it,
    # so the training itself stays comparable in time)
    dict(
        type='GenerationEvaluationHook',
        metrics=_base_.generation_metrics,
        interval=0,
        evaluate_at_end=False,
        num_samples=100,
        batch_size=25,
        conditions='balanced',
        seed=0,
        real_dataloader=dict(_base_.real_val_dataloader, batch_size=25),
    ),
]
