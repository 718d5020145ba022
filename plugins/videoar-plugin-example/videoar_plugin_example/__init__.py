"""An example videoar plugin: three components, found by installation.

Installed (``pip install plugins/videoar-plugin-example``), its entry point in the group
``videoar.plugins`` makes videoar import this package before it builds a config, so a config
names the components directly, without ``custom_imports``:

* ``SinusoidalFrameScalePE`` (POS_ENCODINGS): fixed sinusoids of frame, scale, row, column;
* ``RecentFramesKeepMask`` (MASKINGS): keeps the recent frames, drops older ones at random;
* ``ScaleRampCorrection`` (CORRECTORS): bit flips ramped over scales instead of frames.

``configs/videoar_plugin-example_movingdigits.py`` uses all three.
"""

from .recent_frames_mask import RecentFramesKeepMask
from .scale_ramp_correction import ScaleRampCorrection
from .sinusoidal_pe import SinusoidalFrameScalePE

__version__ = '0.2.0'
__all__ = ['RecentFramesKeepMask', 'ScaleRampCorrection', 'SinusoidalFrameScalePE']
