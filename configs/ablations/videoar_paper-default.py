# Ablation control arm: the tiny VideoAR with the paper's components, trained on MovingDigits
# (train only: tools/test.py adds metrics).
#   python tools/train.py configs/ablations/videoar_paper-default.py
# Compare with videoar_var-style.py (learned absolute positions, no correction, AdaLN).
_base_ = ['../_base_/videoar_tiny_movingdigits.py']
