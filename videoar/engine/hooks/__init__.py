"""Training hooks (``HOOKS``): stage hand-over, video samples, generation metrics.

Importing this package also registers the video-capable visualizer backends
(``videoar.engine.visualization``).
"""

from .. import visualization  # noqa: F401  (VISBACKENDS: VideoLocalVisBackend, ...)
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .finite_guard_hook import FiniteGuardHook
from .generation_evaluation_hook import GenerationEvaluationHook
from .init_from_stage_hook import InitFromStageHook
from .preemption_hook import PREEMPTED_EXIT_CODE, Preempted, PreemptionHook
from .stage_finished_hook import StageFinishedHook
from .video_visualization_hook import VideoVisualizationHook

__all__ = [
    'PREEMPTED_EXIT_CODE',
    'AtomicCheckpointHook',
    'Preempted',
    'PreemptionHook',
    'FiniteGuardHook',
    'GenerationEvaluationHook',
    'InitFromStageHook',
    'StageFinishedHook',
    'VideoVisualizationHook',
]
