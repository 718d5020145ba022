# Table 4, row 0 ("baseline, standard positional encoding"): learned absolute positions (VAR's
# pos_1LC plus a frame table) and corruption that does not depend on time (delta = 0, no
# inheritance: Infinity's bitwise self-correction with the paper's range U(0, 0.25), on every
# frame and scale). Next row: ./table4_row1_ms-rope.py changes only the positional encoding.
_base_ = ['./videoar_tiny-ablation_movingdigits.py']

model = dict(
    pos_encoding=dict(_delete_=True, type='LearnedAbsolutePE'),
    corrector=dict(delta=0.0, inherit=False),
)
