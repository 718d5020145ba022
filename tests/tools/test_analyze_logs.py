"""tools/analysis_tools/analyze_logs.py on synthetic scalars.json files."""

import json
import os

import pytest


@pytest.fixture
def tool(load_tool):
    return load_tool('tools/analysis_tools/analyze_logs.py')


def _log(work, stamp, records):
    folder = os.path.join(work, stamp, 'vis_data')
    os.makedirs(folder)
    with open(os.path.join(folder, 'scalars.json'), 'w') as f:
        for record in records:
            f.write(json.dumps(record) + '\n')


def test_a_resumed_run_is_one_curve_and_the_last_value_of_a_step_wins(tool, tmp_path):
    work = str(tmp_path / 'run')
    _log(work, '20260101_000000', [dict(loss=1.0, time=0.5, iter=10, step=10),
                                   dict(loss=0.8, time=0.5, iter=20, step=20)])  # fmt: skip
    _log(work, '20260101_010000', [dict(loss=0.7, time=0.4, iter=20, step=20),
                                   dict(loss=0.5, time=0.4, iter=30, step=30),
                                   dict(**{'gen/class_accuracy': 0.3}, step=30)])  # fmt: skip
    curves = tool.load_run(work)
    assert curves['loss'] == [(10, 1.0), (20, 0.7), (30, 0.5)]
    assert curves['gen/class_accuracy'] == [(30, 0.3)]
    row = next(r for r in tool.summarise(curves) if r['key'] == 'loss')
    assert (row['points'], row['first'], row['last'], row['min']) == (3, 1.0, 0.5, 0.5)


def test_a_curriculum_dir_expands_to_its_stages_and_plots(tool, tmp_path, capsys):
    root = tmp_path / 'cur'
    (root / 'tokenizer').mkdir(parents=True)  # a stage without logs is left out
    _log(str(root / 'stage1'), '20260101_000000', [dict(loss=1.0, iter=1), dict(loss=0.9, iter=2)])
    with open(root / 'run.json', 'w') as f:
        json.dump(dict(kind='curriculum', stages=dict(tokenizer='train', stage1='train')), f)
    runs = tool.expand_runs([str(root)])
    assert [label for label, _ in runs] == ['cur/stage1']
    out = str(tmp_path / 'curves.png')
    tool.main(['plot', str(root), str(root / 'stage1'), '--keys', 'loss', '--out', out,
               '--legend', 'a', 'b'])  # fmt: skip
    assert os.path.getsize(out) > 1000
    with pytest.raises(SystemExit, match="no run logged 'acc'; the keys are \\['loss'\\]"):
        tool.main(['plot', str(root), '--keys', 'acc', '--out', out])
