"""Engine: mmengine/torch compatibility, hooks, optimizer wrappers, the curriculum runner."""

from . import (
    compat,  # noqa: F401  (applies the mmengine/torch fixes on import)
    exact_resume,  # noqa: F401  (registers ExactResumeHook)
    finite_guard,  # noqa: F401
    fsdp,  # noqa: F401  (FSDP2ModelWrapper, FSDP2Runner)
    hooks,  # noqa: F401
)
from .compat import (
    PortableAmpOptimWrapper,
    UnsafeCheckpointError,
    allow_checkpoint_globals,
    load_checkpoint_safe,
)

__all__ = [
    'PortableAmpOptimWrapper',
    'UnsafeCheckpointError',
    'allow_checkpoint_globals',
    'load_checkpoint_safe',
]
