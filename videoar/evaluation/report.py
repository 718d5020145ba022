"""Write evaluation results and their protocols to ``metrics.json``.

Layout of the file::

    {
      "metrics":   {"fvd": 123.4, "psnr": 27.1, ...},          # the numbers mmengine returned
      "protocols": {"fvd": {...}, "psnr": {...}, ...},          # metric.protocol of each metric
      "videoar_version": "0.1.0",
      "created": "2026-01-20T12:00:00",
      ...extra (e.g. config, checkpoint)
    }

Non-finite numbers (a PSNR of identical videos is ``inf``) are written as the strings
``"inf"``, ``"-inf"``, ``"nan"`` so the file stays valid JSON.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import os.path as osp
from collections.abc import Iterable, Mapping


def to_jsonable(value):
    """Tensors, numpy values, tuples and non-finite floats -> plain JSON values."""
    if hasattr(value, 'detach'):
        value = value.detach().cpu()
        value = value.item() if value.numel() == 1 else value.tolist()
    elif hasattr(value, 'tolist') and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, float):
        if math.isnan(value):
            return 'nan'
        if math.isinf(value):
            return 'inf' if value > 0 else '-inf'
        return value
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def _metric_list(evaluator_or_metrics) -> list:
    if evaluator_or_metrics is None:
        return []
    metrics = getattr(evaluator_or_metrics, 'metrics', None)
    if metrics is not None:  # an mmengine Evaluator
        return list(metrics)
    if isinstance(evaluator_or_metrics, Iterable) and not isinstance(evaluator_or_metrics, Mapping):
        return list(evaluator_or_metrics)
    return [evaluator_or_metrics]


def collect_protocols(evaluator_or_metrics) -> dict:
    """``{name: protocol}`` for every metric that exposes a ``protocol`` dict."""
    protocols = {}
    for metric in _metric_list(evaluator_or_metrics):
        protocol = getattr(metric, 'protocol', None)
        if not protocol:
            continue
        name = getattr(metric, 'name', None) or protocol.get('metric') or type(metric).__name__
        if getattr(metric, 'prefix', None):
            name = f'{metric.prefix}/{name}'
        key, i = name, 2
        while key in protocols:
            key, i = f'{name}#{i}', i + 1
        protocols[key] = protocol
    return protocols


def write_metrics_json(
    path: str, metrics: Mapping, evaluator_or_metrics=None, extra: Mapping | None = None
) -> dict:
    """Write ``metrics`` and each metric's ``protocol`` to ``path``; returns the written dict.

    Args:
        path: the output file (its directory is created).
        metrics: the dict returned by ``runner.test()`` / ``Evaluator.evaluate``.
        evaluator_or_metrics: an mmengine ``Evaluator``, a list of metrics, one metric or None.
        extra: more top-level fields (config path, checkpoint, ...).
    """
    record = dict(
        metrics=to_jsonable(dict(metrics or {})),
        protocols=to_jsonable(collect_protocols(evaluator_or_metrics)),
    )
    try:
        from videoar import __version__ as version
    except ImportError:  # pragma: no cover
        version = None
    record['videoar_version'] = version
    record['created'] = datetime.datetime.now().isoformat(timespec='seconds')
    for key, value in (extra or {}).items():
        record[key] = to_jsonable(value)
    os.makedirs(osp.dirname(osp.abspath(path)) or '.', exist_ok=True)
    tmp = f'{path}.tmp'
    with open(tmp, 'w') as f:
        json.dump(record, f, indent=2, sort_keys=False)
        f.write('\n')
    os.replace(tmp, path)
    return record
