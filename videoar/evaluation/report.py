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
from collections.abc import Iterable, Mapping

from videoar.io.records import to_jsonable, write_json
from videoar.version import __version__


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
    record['videoar_version'] = __version__
    record['created'] = datetime.datetime.now().isoformat(timespec='seconds')
    for key, value in (extra or {}).items():
        record[key] = to_jsonable(value)
    write_json(path, record)
    return record
