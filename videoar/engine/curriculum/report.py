"""The curriculum's markdown report: metrics (generated / references), protocol, files, stages."""

from __future__ import annotations

import datetime
import os.path as osp

from mmengine.dist import is_main_process

#: metric-key prefixes of the reference passes and their column titles
COLUMNS = (
    ('', 'generated'),
    ('real/', 'real clips'),
    ('reconstruction/', 'reconstruction'),
    ('shuffled/', 'shuffled conditions'),
)
#: ratio columns ``generated / reference`` (the share of the reference that generation reaches)
RATIOS = (('real/', 'generated / real'), ('reconstruction/', 'generated / reconstruction'))
REFERENCES_NOTE = (
    '(real: real clips scored as if generated, the best a generator can reach; reconstruction: '
    "the same real clips through the tokenizer at the model's scale schedule, the ceiling of the "
    'AR model; shuffled: generated with another class and scored against the original one, the '
    'accuracy of a model that ignores its condition. Its Frechet distance is no reference: the '
    'shuffled set has the same class mix, so it differs from the generated one by sampling noise '
    'only)'
)


def _fmt(value) -> str:
    if value is None:
        return ''
    if isinstance(value, float):
        return f'{value:.4g}'
    return str(value)


def _ratio(value, reference) -> str:
    if not isinstance(value, (int, float)) or not isinstance(reference, (int, float)):
        return ''
    return _fmt(value / reference) if reference else ''


def _metrics_table(metrics: dict) -> list[str]:
    """One row per metric, one column per pass (generated, and the references present), then
    the ratios generated / reference."""
    present = [c for c in COLUMNS if c[0] == '' or any(k.startswith(c[0]) for k in metrics)]
    ratios = [c for c in RATIOS if any(k.startswith(c[0]) for k in metrics)]
    base = [k for k in metrics if '/' not in k and isinstance(metrics[k], (int, float))]
    titles = [title for _, title in present + ratios]
    lines = ['| metric | ' + ' | '.join(titles) + ' |', '|---|' + '---|' * len(titles)]
    for key in base:
        cells = [_fmt(metrics.get(prefix + key)) for prefix, _ in present]
        cells += [_ratio(metrics[key], metrics.get(prefix + key)) for prefix, _ in ratios]
        lines.append(f'| {key} | ' + ' | '.join(cells) + ' |')
    notes = [f'- {k}: {v}' for k, v in metrics.items() if not isinstance(v, (int, float))]
    return lines + ([''] + notes if notes else [])


def _protocol_lines(protocol: dict) -> list[str]:
    metric_types = ', '.join(m.get('type', '?') for m in protocol.get('metrics', []))
    references = ', '.join(protocol.get('references') or []) or 'none'
    return [
        '## Protocol',
        '',
        f'- {protocol.get("num_samples")} generated videos of {protocol.get("num_frames")} frames, '
        f'conditions `{protocol.get("conditions")}` ({protocol.get("num_classes")} classes), '
        f'seed {protocol.get("seed")}',
        f'- checkpoint: `{protocol.get("checkpoint")}`',
        f'- metrics: {metric_types}',
        f'- real clips: {protocol.get("real_dataset")}; {protocol.get("real_pairs") or "none"}',
        f'- references: {references} {REFERENCES_NOTE}',
        f'- sampling settings: {protocol.get("sample_cfg") or "model defaults"}',
    ]


def _stage_table(stages, records: dict, rel) -> list[str]:
    lines = [
        '| stage | kind | status | iterations | wall time (s) | final checkpoint |',
        '|---|---|---|---|---|---|',
    ]
    for s in stages:
        record = records.get(s.name, {})
        lines.append(
            f'| {s.name} | {s.kind} | {record.get("status", "not run")} | '
            f'{record.get("iteration", "") or ""} | {_fmt(record.get("wall_time_s"))} | '
            f'`{rel(record.get("checkpoint"))}` |'
        )
    return lines


def render_report(curriculum, stage, metrics, protocol, files, records) -> str:
    """The markdown report: metrics (generated / references), protocol, files, stages.

    Args:
        curriculum: the :class:`~videoar.engine.curriculum.Curriculum` (``root``, ``filename``,
            ``stages``).
        stage: the evaluate stage.
        metrics: ``{name: value}`` of the evaluation (references prefixed ``real/``, ...).
        protocol: the evaluation protocol (``metrics.json``'s ``protocol``).
        files: ``dict(metrics=..., mp4=..., gif=..., report=...)`` paths.
        records: ``{stage name: record}`` of this run (status, iteration, wall time, checkpoint).
    """
    root = curriculum.root
    rel = lambda p: osp.relpath(p, root) if p else ''  # noqa: E731
    source = protocol.get('stage', stage.from_stage)
    lines = [
        '# VideoAR curriculum report',
        '',
        f'Config: `{curriculum.filename}`  ',
        f'Work directory: `{root}`  ',
        f'Written: {datetime.datetime.now().isoformat(timespec="seconds")}',
        '',
        f'## Metrics ({source}, {protocol.get("weights", "")} weights)',
        '',
        *_metrics_table(metrics),
        '',
        *_protocol_lines(protocol),
        '',
        '## Videos',
        '',
        f'- sample grid: `{rel(files["mp4"])}`, `{rel(files["gif"])}` '
        f'(conditioning labels, row by row: {protocol.get("grid_labels", "see metrics.json")})',
        f'- metrics: `{rel(files["metrics"])}`',
        '',
        '## Stages',
        '',
        *_stage_table(curriculum.stages, records, rel),
        '',
        'Wall times of skipped stages are those recorded when they ran (for a resumed stage, the '
        'time of the last run only).',
        '',
    ]
    return '\n'.join(lines)


def write_report(curriculum, stage, metrics: dict, protocol: dict, files: dict) -> None:
    """Write ``files['report']`` (rank 0) with the records of the curriculum run so far."""
    if not is_main_process():
        return
    records = dict(curriculum.records)
    records.setdefault(
        stage.name, dict(status='evaluated', wall_time_s=protocol.get('wall_time_s', 0))
    )
    text = render_report(curriculum, stage, metrics, protocol, files, records)
    with open(files['report'], 'w') as f:
        f.write(text)


__all__ = ['render_report', 'write_report']
