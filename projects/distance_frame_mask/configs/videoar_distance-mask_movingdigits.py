# Stage 3 on MovingDigits with the distance-aware frame mask in place of the block-causal mask.
#   python tools/train.py projects/distance_frame_mask/configs/videoar_distance-mask_movingdigits.py
_base_ = ['../../../configs/videoar_stage3.py']

custom_imports = dict(
    imports=['projects.distance_frame_mask.distance_frame_mask'], allow_failed_imports=False
)
model = dict(masking=dict(_delete_=True, type='DistanceFrameMask', base=0.0, slope=0.1))
