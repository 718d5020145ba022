# The tiny VideoAR on MovingDigits with the three components of this plugin and nothing else
# changed. No custom_imports: the installed plugin's entry point makes videoar import it.
#   pip install plugins/videoar-plugin-example
#   python tools/train.py plugins/videoar-plugin-example/configs/videoar_plugin-example_movingdigits.py
_base_ = ['../../../configs/_base_/videoar_tiny_movingdigits.py']

model = dict(
    pos_encoding=dict(_delete_=True, type='SinusoidalFrameScalePE', base=100.0),
    masking=dict(_delete_=True, type='RecentFramesKeepMask', keep_recent=1, drop_prob=0.3),
    corrector=dict(_delete_=True, type='ScaleRampCorrection', p_coarse=0.3, p_fine=0.0),
)
