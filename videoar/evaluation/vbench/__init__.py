"""VBench: exact aggregation, native dimensions, export and delegation to the vbench package."""

from .export import export_for_vbench, parse_vbench_results, prompt_from_filename, vbench_filename
from .native import (
    TimmImageEncoder,
    TorchvisionRAFT,
    consistency,
    consistency_sums,
    dynamic_degree,
    dynamic_degree_video,
    is_static_video,
    raft_padding,
    read_frames_cv2,
    temporal_flickering,
    temporal_flickering_score,
)
from .runner import run_vbench
from .scoring import (
    ALL_DIMENSIONS,
    QUALITY_DIMENSIONS,
    SEMANTIC_DIMENSIONS,
    IncompleteVBenchError,
    aggregate_vbench,
    normalized_score,
)

__all__ = [
    'ALL_DIMENSIONS',
    'QUALITY_DIMENSIONS',
    'SEMANTIC_DIMENSIONS',
    'IncompleteVBenchError',
    'aggregate_vbench',
    'normalized_score',
    'export_for_vbench',
    'parse_vbench_results',
    'prompt_from_filename',
    'vbench_filename',
    'run_vbench',
    'TimmImageEncoder',
    'TorchvisionRAFT',
    'consistency',
    'consistency_sums',
    'dynamic_degree',
    'dynamic_degree_video',
    'is_static_video',
    'raft_padding',
    'read_frames_cv2',
    'temporal_flickering',
    'temporal_flickering_score',
]
