# Ablation control arm: the tiny VideoAR with the paper's components, trained on MovingDigits.
#   python tools/train.py configs/ablations/videoar_paper-default.py
# Compare with videoar_var-style.py (learned absolute positions, no correction, AdaLN).
_base_ = [
    '../_base_/models/videoar_tiny.py',
    '../_base_/datasets/moving_digits.py',
    '../_base_/schedules/adamw_constant_iters.py',
    '../_base_/default_runtime.py',
]

# no evaluator in the ablation runs yet: train only (tools/test.py adds metrics)
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
