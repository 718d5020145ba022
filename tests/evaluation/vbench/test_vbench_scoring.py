import pytest

from videoar.evaluation.vbench.scoring import (
    ALL_DIMENSIONS,
    IncompleteVBenchError,
    aggregate_vbench,
    normalized_score,
)

# Published per-dimension values (percent), VBench column order; reference/videoar_method.md 7.2.
ORDER = [
    'subject_consistency', 'background_consistency', 'temporal_flickering', 'motion_smoothness',
    'dynamic_degree', 'aesthetic_quality', 'imaging_quality', 'object_class', 'multiple_objects',
    'human_action', 'color', 'spatial_relationship', 'scene', 'appearance_style', 'temporal_style',
    'overall_consistency',
]  # fmt: skip
TABLE = {
    'VideoAR-4B': (
        (81.74, 82.88, 77.15),
        [
            95.51,
            97.85,
            98.83,
            98.37,
            61.39,
            63.42,
            60.71,
            94.98,
            72.88,
            94.40,
            90.73,
            56.14,
            50.52,
            22.68,
            25.11,
            27.44,
        ],
    ),
    'LaVie': (
        (77.08, 78.78, 70.31),
        [
            91.41,
            97.47,
            98.30,
            96.38,
            49.72,
            54.94,
            61.90,
            91.82,
            33.32,
            96.80,
            86.39,
            34.09,
            52.69,
            23.56,
            25.93,
            26.41,
        ],
    ),
    'VideoCrafter-2.0': (
        (80.44, 82.20, 73.42),
        [
            96.85,
            98.22,
            98.41,
            97.73,
            42.50,
            63.13,
            67.22,
            92.55,
            40.66,
            95.00,
            92.92,
            35.86,
            55.29,
            25.13,
            25.84,
            28.23,
        ],
    ),
    'HunyuanVideo': (
        (83.24, 85.09, 75.82),
        [
            97.37,
            97.76,
            99.44,
            98.99,
            70.83,
            60.36,
            67.56,
            86.10,
            68.55,
            94.40,
            91.60,
            68.68,
            53.88,
            19.80,
            23.89,
            26.44,
        ],
    ),
}


@pytest.mark.parametrize('model', sorted(TABLE))
def test_reproduces_published_total_quality_semantic(model):
    (total, quality, semantic), values = TABLE[model]
    out = aggregate_vbench(dict(zip(ORDER, values)), percent=True)
    assert out['complete']
    # the published per-dimension values are rounded to 0.01, hence the 0.015 tolerance
    assert out['total'] * 100 == pytest.approx(total, abs=0.006)
    assert out['quality'] * 100 == pytest.approx(quality, abs=0.015)
    assert out['semantic'] * 100 == pytest.approx(semantic, abs=0.006)


def test_videoar_exact_numbers_and_raw_scale():
    values = dict(zip(ORDER, [v / 100 for v in TABLE['VideoAR-4B'][1]]))
    out = aggregate_vbench(values)
    assert round(out['total'] * 100, 2) == 81.74
    assert round(out['semantic'] * 100, 2) == 77.15
    assert normalized_score('dynamic_degree', 0.6139) == pytest.approx(0.6139 * 0.5)
    assert normalized_score('Temporal Flickering', 0.6293) == pytest.approx(0.0)
    assert normalized_score('scene', 0.8222) == pytest.approx(1.0)


def test_partial_sets_are_never_called_a_total():
    values = dict(zip(ORDER, [v / 100 for v in TABLE['VideoAR-4B'][1]]))
    del values['scene']
    with pytest.raises(IncompleteVBenchError, match='scene'):
        aggregate_vbench(values)
    out = aggregate_vbench(values, allow_partial=True)
    assert 'total' not in out and not out['complete'] and out['missing'] == ['scene']
    full = aggregate_vbench(dict(zip(ORDER, [v / 100 for v in TABLE['VideoAR-4B'][1]])))
    assert out['partial_quality'] == pytest.approx(full['quality'])  # quality dims all present
    assert out['partial_semantic'] != pytest.approx(full['semantic'])
    only = aggregate_vbench({'temporal_flickering': 1.0}, allow_partial=True)
    assert only['partial_quality'] == pytest.approx(1.0) and only['partial_semantic'] is None
    with pytest.raises(ValueError, match='percent'):
        aggregate_vbench({'temporal_flickering': 98.3}, allow_partial=True)
    with pytest.raises(KeyError, match='unknown VBench dimension'):
        aggregate_vbench({'flicker': 0.9}, allow_partial=True)
    assert len(ALL_DIMENSIONS) == 16
