"""Evaluation: metrics (``METRICS``), feature extractors (``FEATURE_EXTRACTORS``), Fréchet math,
streaming statistics, VBench and the ``metrics.json`` report. See ``docs/evaluation.md``.

Importing this package registers every metric and feature extractor (the registries'
``locations=`` point here), so ``type='FVD'`` / ``type='I3D'`` resolve lazily. mmengine's own
``Evaluator`` is used as is (``EVALUATOR`` resolves it through its parent registry).
"""

from . import feature_extractors, metrics  # noqa: F401  (registering modules)
from .frechet import FrechetResult, frechet_distance, frechet_distance_from_stats
from .generation import GenerationResult, build_evaluator, evaluate_generation
from .report import write_metrics_json
from .stats import StreamingGaussianStats

__all__ = [
    'GenerationResult',
    'build_evaluator',
    'evaluate_generation',
    'FrechetResult',
    'StreamingGaussianStats',
    'frechet_distance',
    'frechet_distance_from_stats',
    'write_metrics_json',
]
