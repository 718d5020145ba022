"""Training hooks (``HOOKS``): stage hand-over, video samples, generation metrics.

Importing this package also registers the video-capable visualizer backends
(``videoar.engine.visualization``).
"""

from .. import visualization  # noqa: F401  (VISBACKENDS: VideoLocalVisBackend, ...)
from .generation_evaluation_hook import GenerationEvaluationHook
from .init_from_stage_hook import InitFromStageHook
from .stage_finished_hook import StageFinishedHook
from .video_visualization_hook import VideoVisualizationHook

__all__ = [
    'GenerationEvaluationHook',
    'InitFromStageHook',
    'StageFinishedHook',
    'VideoVisualizationHook',
]
