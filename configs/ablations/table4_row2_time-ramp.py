# Table 4, row 2 ("+ time-dependent corruption"): row 1 (./table4_row1_ms-rope.py) with the
# flip range ramped by frame, U(p_min + delta t, p_max + delta t) with delta = 0.01; no error
# inheritance yet.
_base_ = ['./videoar_tiny-ablation_movingdigits.py']

model = dict(corrector=dict(delta=0.01, inherit=False))
