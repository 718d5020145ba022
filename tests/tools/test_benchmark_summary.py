"""The one benchmark table: a ``--quick`` run of ``tools/benchmark.py`` (default = ``summary``)
prints a row with a number for every measurement and writes the same numbers as JSON."""

import importlib
import json

import torch


def test_default_run_prints_every_row_and_writes_json(load_tool, tmp_path, capsys):
    tool = load_tool('tools/benchmark.py')
    threads = torch.get_num_threads()
    out = tmp_path / 'bench.json'
    try:
        results = tool.main(['--quick', '--threads', '1', '--out', str(out)])
    finally:
        torch.set_num_threads(threads)
    summary = importlib.import_module('tools.benchmarks.summary')
    rows = [row for row in summary.ROWS if row[1] not in summary.FULL_ONLY]
    printed = capsys.readouterr().out
    written = json.loads(out.read_text())
    assert set(results) == {'_machine', 'summary'}  # the table alone by default
    for label, key, unit in rows:
        assert isinstance(written['summary'][key], float | int), key
        row = next(line for line in printed.splitlines() if line.startswith(label))
        assert row.split()[-1] == unit.split()[-1] and ' - ' not in row, row
    for label, key, _ in summary.ROWS:  # the compiled variants: full runs only, shown as '-'
        if key in summary.FULL_ONLY:
            assert key not in written['summary'], key
            assert ' - ' in next(x for x in printed.splitlines() if x.startswith(label))
    assert written['summary']['bench_mfu_fp32'] > 0 and written['summary']['bench_mfu_bf16'] > 0
