# Table 4, row 1 ("+ Multi-scale Temporal RoPE"): row 0 (./table4_row0_learned-pe.py) with
# Multi-scale Temporal RoPE instead of learned absolute positions; corruption still does not
# depend on time (delta = 0, no inheritance).
_base_ = ['./videoar_tiny-ablation_movingdigits.py']

model = dict(corrector=dict(delta=0.0, inherit=False))
