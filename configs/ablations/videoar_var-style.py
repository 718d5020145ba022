# Ablation: the tiny VideoAR with VAR-style choices instead of the paper's (the control arm,
# videoar_paper-default.py, is ../_base_/videoar_tiny_movingdigits.py as it is):
#   learned absolute positions (VAR pos_1LC + a frame table) instead of Multi-scale Temporal RoPE,
#   no label corruption instead of Cross-Frame Error Correction,
#   AdaLN conditioning (VAR's shared AdaLN, zero-initialised gates) instead of a prefix token.
#   python tools/train.py configs/ablations/videoar_var-style.py
_base_ = ['../_base_/videoar_tiny_movingdigits.py']

model = dict(
    transformer=dict(cond_mode='adaln', adaln_mode='shared'),
    corrector=dict(_delete_=True, type='NoCorrection'),
    pos_encoding=dict(_delete_=True, type='LearnedAbsolutePE'),
)
