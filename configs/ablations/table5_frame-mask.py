# Table 5 ("with mask"): the full method (./videoar_tiny-ablation_movingdigits.py, which uses
# the plain block-causal mask: Table 5's "without mask") with Random Frame Mask: in training each
# earlier frame is hidden from a query frame with probability 0.2 (window: all earlier frames;
# the frame before still reaches frame t through its first-scale input).
_base_ = ['./videoar_tiny-ablation_movingdigits.py']

model = dict(masking=dict(_delete_=True, type='RandomFrameMask', drop_prob=0.2, window=None))
