# Table 4, row 3 ("+ error inheritance", the full method): row 2 (./table4_row2_time-ramp.py)
# with cross-frame error inheritance: the first scale of frame t draws its flip probability from
# U(p of frame t-1's last scale, p_max + delta t). This is the shared base unchanged.
_base_ = ['./videoar_tiny-ablation_movingdigits.py']

model = dict(corrector=dict(delta=0.01, inherit=True))
