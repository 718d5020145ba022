"""An example videoar plugin: registering this package adds ``ScaleRampCorrection`` to CORRECTORS.

Activate it from any config with::

    custom_imports = dict(imports=['videoar_plugin_example'], allow_failed_imports=False)
    model = dict(corrector=dict(type='ScaleRampCorrection', p_coarse=0.3, p_fine=0.05))
"""

from .scale_ramp_correction import ScaleRampCorrection

__all__ = ['ScaleRampCorrection']
