"""VBench's Total / Quality / Semantic scores from per-dimension values (exact).

Constants from VBench ``scripts/constant.py`` and ``scripts/cal_final_score.py``: every
dimension's raw score (in ``[0, 1]``) is min-max normalised with fixed constants and weighted
(dynamic degree 0.5, others 1); Quality is the weighted mean of the 7 quality dimensions (weight
sum 6.5), Semantic the mean of the 9 semantic ones, and ``Total = (4 Quality + Semantic) / 5``.

VBench's own script silently scores a missing dimension as 0. Here a missing dimension raises
:class:`IncompleteVBenchError`, or, with ``allow_partial=True``, gives ``partial_*`` scores over the
dimensions present and never a ``total``.
"""

from __future__ import annotations

from collections.abc import Mapping

QUALITY_DIMENSIONS = (
    'subject_consistency',
    'background_consistency',
    'temporal_flickering',
    'motion_smoothness',
    'dynamic_degree',
    'aesthetic_quality',
    'imaging_quality',
)
SEMANTIC_DIMENSIONS = (
    'object_class',
    'multiple_objects',
    'human_action',
    'color',
    'spatial_relationship',
    'scene',
    'appearance_style',
    'temporal_style',
    'overall_consistency',
)
ALL_DIMENSIONS = QUALITY_DIMENSIONS + SEMANTIC_DIMENSIONS

#: (Min, Max) of the min-max normalisation of each raw dimension score
NORMALIZE = {
    'subject_consistency': (0.1462, 1.0),
    'background_consistency': (0.2615, 1.0),
    'temporal_flickering': (0.6293, 1.0),
    'motion_smoothness': (0.706, 0.9975),
    'dynamic_degree': (0.0, 1.0),
    'aesthetic_quality': (0.0, 1.0),
    'imaging_quality': (0.0, 1.0),
    'object_class': (0.0, 1.0),
    'multiple_objects': (0.0, 1.0),
    'human_action': (0.0, 1.0),
    'color': (0.0, 1.0),
    'spatial_relationship': (0.0, 1.0),
    'scene': (0.0, 0.8222),
    'appearance_style': (0.0009, 0.2855),
    'temporal_style': (0.0, 0.364),
    'overall_consistency': (0.0, 0.364),
}
DIM_WEIGHT = {name: (0.5 if name == 'dynamic_degree' else 1.0) for name in ALL_DIMENSIONS}
QUALITY_WEIGHT = 4.0
SEMANTIC_WEIGHT = 1.0


class IncompleteVBenchError(ValueError):
    """A VBench total was requested from an incomplete set of dimensions."""


def canonical_dimension(name: str) -> str:
    """``'Subject Consistency'`` / ``'subject-consistency'`` -> ``'subject_consistency'``."""
    key = name.strip().lower().replace(' ', '_').replace('-', '_')
    if key not in NORMALIZE:
        raise KeyError(f'unknown VBench dimension {name!r}; known: {list(ALL_DIMENSIONS)}.')
    return key


def normalized_score(dimension: str, raw: float) -> float:
    """``(raw - Min) / (Max - Min) * weight`` of one dimension (raw in ``[0, 1]``)."""
    dimension = canonical_dimension(dimension)
    lo, hi = NORMALIZE[dimension]
    return (float(raw) - lo) / (hi - lo) * DIM_WEIGHT[dimension]


def aggregate_vbench(
    scores: Mapping[str, float], allow_partial: bool = False, percent: bool = False
) -> dict:
    """Total / Quality / Semantic from raw per-dimension scores.

    Args:
        scores: ``{dimension: raw}`` with raw in ``[0, 1]`` (``percent=True``: in ``[0, 100]``,
            as the papers print them).
        allow_partial: if dimensions are missing, return ``partial_quality`` /
            ``partial_semantic`` (weighted means over the dimensions present) instead of raising.

    Returns:
        Fractions in ``[0, 1]`` (multiply by 100 for the published numbers):
        ``dict(total, quality, semantic, normalized, complete=True)`` or, when partial,
        ``dict(partial_quality, partial_semantic, normalized, complete=False, missing)``.
    """
    raw = {}
    for name, value in scores.items():
        value = float(value) / 100.0 if percent else float(value)
        if not -1e-6 <= value <= 1.0 + 1e-6:
            raise ValueError(
                f'VBench {name} = {value}: raw scores are in [0, 1]; pass percent=True for '
                'values in [0, 100].'
            )
        raw[canonical_dimension(name)] = value
    normalized = {name: normalized_score(name, value) for name, value in raw.items()}
    missing = [d for d in ALL_DIMENSIONS if d not in raw]

    def group_mean(dims):
        present = [d for d in dims if d in normalized]
        if not present:
            return None
        return sum(normalized[d] for d in present) / sum(DIM_WEIGHT[d] for d in present)

    if not missing:
        quality = group_mean(QUALITY_DIMENSIONS)
        semantic = group_mean(SEMANTIC_DIMENSIONS)
        total = (QUALITY_WEIGHT * quality + SEMANTIC_WEIGHT * semantic) / (
            QUALITY_WEIGHT + SEMANTIC_WEIGHT
        )
        return dict(
            total=total, quality=quality, semantic=semantic, normalized=normalized, complete=True
        )
    if not allow_partial:
        raise IncompleteVBenchError(
            f'a VBench total needs all 16 dimensions; missing {missing}. VBench would score them '
            'as 0 and print a wrong total. Evaluate them (e.g. delegate to the vbench package) or '
            'pass allow_partial=True for partial_quality / partial_semantic.'
        )
    return dict(
        partial_quality=group_mean(QUALITY_DIMENSIONS),
        partial_semantic=group_mean(SEMANTIC_DIMENSIONS),
        normalized=normalized,
        complete=False,
        missing=missing,
    )
