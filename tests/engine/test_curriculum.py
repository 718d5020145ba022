"""run_curriculum with toy stages: weights pass along, finished stages are skipped, an
interrupted stage resumes, and the evaluate stage writes metrics, a sample grid and a report."""

import json
import os

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from torch import nn

import videoar.engine  # noqa: F401
from videoar.engine import launch
from videoar.engine.curriculum import Curriculum, parse_stages, run_curriculum
from videoar.io.video import probe_video
from videoar.registry import METRICS, MODELS
from videoar.utils import ConfigError

FRAMES, SIZE = 3, 8


@MODELS.register_module(force=True)
class CurToyTokenizer(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.codebook = nn.Parameter(torch.zeros(4))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return dict(
            loss=((self.codebook - inputs.mean()) ** 2).sum() + (self.codebook - 2).pow(2).sum()
        )


@MODELS.register_module(force=True)
class CurToyAR(BaseModel):
    """A per-scale table that grows between stages, a frozen 'tokenizer' buffer from a
    checkpoint, and a predict mode lighting the label's colour channel."""

    def __init__(self, num_scales: int = 2, tokenizer_checkpoint: str | None = None) -> None:
        super().__init__()
        self.scale_embed = nn.Embedding(num_scales, 4)
        self.brightness = nn.Parameter(torch.tensor(-0.2))
        self.register_buffer('tok', torch.zeros(4))
        if tokenizer_checkpoint:
            state = torch.load(tokenizer_checkpoint, weights_only=False)['state_dict']
            self.tok.copy_(state['codebook'])

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'loss':
            target = inputs.mean()
            return dict(
                loss=(self.scale_embed.weight - target).pow(2).mean() + (self.brightness - 1) ** 2
            )
        labels = data_samples['label'].tolist()
        videos = torch.full((len(labels), 3, FRAMES, SIZE, SIZE), -1.0)
        for i, label in enumerate(labels):
            videos[i, label % 3] = self.brightness.detach()
        videos = (videos + 0.02 * torch.randn_like(videos)).clamp(-1, 1)
        return [dict(pred_video=v, label=lab) for v, lab in zip(videos, labels)]


@METRICS.register_module(force=True)
class CurToyAccuracy(BaseMetric):
    default_prefix = ''

    def process(self, data_batch, data_samples):
        for s in data_samples:
            self.results.append(int(s['pred_video'].mean(dim=(1, 2, 3)).argmax()) == s['label'])

    def compute_metrics(self, results):
        return dict(acc=float(np.mean(results)), count=len(results))


COMMON = """
default_scope = 'videoar'
train_dataloader = dict(batch_size=2, num_workers=0, collate_fn=dict(type='default_collate'),
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(type='ToyClips', divisor=10.0, caption=''))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=4)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False),
                     logger=dict(type='LoggerHook', interval=100))
randomness = dict(seed=0)
log_level = 'WARNING'
"""


def _write_configs(folder):
    (folder / 'tok.py').write_text(
        COMMON + "model = dict(type='CurToyTokenizer')\n"
        "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))\n"
    )
    (folder / 'stage1.py').write_text(
        COMMON + "model = dict(type='CurToyAR', num_scales=2, tokenizer_checkpoint=None)\n"
        "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))\n"
    )
    # stage 2: one more scale, lr 0 (its final weights are the ones it was initialised with)
    (folder / 'stage2.py').write_text(
        COMMON + "model = dict(type='CurToyAR', num_scales=3)\n"
        "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.0))\n"
        "custom_hooks = [dict(type='GenerationEvaluationHook', metrics=[dict(type='CurToyAccuracy')],\n"
        "    num_samples=6, batch_size=4, references=['shuffled'], evaluate_at_end=False, num_classes=3,\n"
        "    real_dataloader=dict(dataset=dict(type='ToyClips', divisor=10.0, caption='')))]\n"
    )


def _curriculum(folder, stage2_iters=4):
    stages = [
        dict(name='tokenizer', config=str(folder / 'tok.py')),
        dict(name='stage1', config=str(folder / 'stage1.py'), tokenizer_from='tokenizer'),
        dict(
            name='stage2',
            config=str(folder / 'stage2.py'),
            init_from='stage1',
            tokenizer_from='tokenizer',
            cfg_options={'train_cfg.max_iters': stage2_iters},
        ),
        dict(name='evaluate', kind='evaluate', grid=dict(num_videos=4, nrow=2)),
    ]
    path = folder / 'curriculum.py'
    path.write_text(f'work_dir = {str(folder / "work")!r}\nstages = {stages!r}\n')
    return Config.fromfile(str(path))


def _state(path):
    return torch.load(path, weights_only=False)['state_dict']


def _finished(work, name):
    return json.loads((work / name / 'finished.json').read_text())


def test_curriculum_passes_weights_skips_and_resumes(tmp_path, monkeypatch, capsys):
    _write_configs(tmp_path)
    work = tmp_path / 'work'
    built = []
    original = launch.build_runner
    monkeypatch.setattr(
        launch, 'build_runner', lambda cfg: built.append(cfg.work_dir) or original(cfg)
    )

    # ---- a stage-2 run that gets interrupted at iteration 2 ------------------------------
    run_curriculum(_curriculum(tmp_path, stage2_iters=2))
    assert [os.path.basename(w) for w in built] == ['tokenizer', 'stage1', 'stage2']
    tok = _state(_finished(work, 'tokenizer')['checkpoint'])
    stage1 = _state(_finished(work, 'stage1')['checkpoint'])
    assert not torch.equal(tok['codebook'], torch.zeros(4))  # the tokenizer trained
    assert torch.equal(stage1['tok'], tok['codebook'])  # tokenizer_from -> tokenizer_checkpoint
    stage2_first = _state(_finished(work, 'stage2')['checkpoint'])
    assert torch.equal(stage2_first['scale_embed.weight'][:2], stage1['scale_embed.weight'])
    assert torch.equal(stage2_first['brightness'], stage1['brightness'])
    assert torch.equal(stage2_first['tok'], tok['codebook'])
    assert _finished(work, 'stage2')['init_checkpoint'] == _finished(work, 'stage1')['checkpoint']
    os.remove(work / 'stage2' / 'finished.json')  # as if killed after its iteration-2 checkpoint
    first_metrics = json.loads((work / 'metrics.json').read_text())

    # ---- the full curriculum: finished stages skipped, stage 2 resumed ----------------------
    built.clear()
    capsys.readouterr()
    summary = run_curriculum(_curriculum(tmp_path, stage2_iters=4))
    out = capsys.readouterr().out
    assert [os.path.basename(w) for w in built] == ['stage2']
    assert 'stage tokenizer: finished earlier' in out and 'stage stage1: finished earlier' in out
    assert 'stage stage2: resuming from' in out
    record = _finished(work, 'stage2')
    assert record['resumed_from_iter'] == 2 and record['iteration'] == 4
    assert record['init_checkpoint'] is None  # resumed: not re-initialised from stage 1
    stage2 = _state(record['checkpoint'])
    assert torch.equal(stage2['scale_embed.weight'][:2], stage1['scale_embed.weight'])
    assert summary['stages']['stage2']['status'] == 'resumed'
    assert summary['stages']['stage1']['status'] == 'skipped'

    # ---- the evaluate stage ran again on the new final checkpoint ---------------------------
    metrics = json.loads((work / 'metrics.json').read_text())
    assert metrics['metrics']['acc'] == 1.0 and metrics['metrics']['count'] == 6
    assert metrics['metrics']['shuffled/acc'] == 0.0
    assert metrics['protocol']['checkpoint'] == record['checkpoint']
    assert first_metrics['protocol']['checkpoint'].endswith('iter_2.pth')
    for ext in ('mp4', 'gif'):
        info = probe_video(work / f'samples.{ext}', exact=True)
        # two rows of tiles, each under a 12-row band with its class (grid.labels=True default)
        assert info['num_frames'] == FRAMES and info['height'] == 2 * (12 + SIZE) + 3 * 2
    report = (work / 'report.md').read_text()
    assert '| acc | 1 | 0 |' in report and 'samples.mp4' in report
    assert '| stage2 | train | resumed | 4 |' in report

    # ---- everything up to date: nothing runs -------------------------------------------------
    built.clear()
    capsys.readouterr()
    summary = run_curriculum(_curriculum(tmp_path, stage2_iters=4))
    assert built == [] and summary['stages']['evaluate']['status'] == 'skipped'
    out = capsys.readouterr().out
    assert 'metrics.json is up to date, skipped' in out and 'WARNING' not in out

    # ---- a retrained tokenizer makes the stages trained from it stale: a warning ------------
    marker = work / 'tokenizer' / 'finished.json'
    marker.write_text(json.dumps({**json.loads(marker.read_text()), 'finished_at': '2999-01-01'}))
    run_curriculum(_curriculum(tmp_path, stage2_iters=4))
    out = capsys.readouterr().out
    assert 'WARNING: stage tokenizer finished after stage stage1' in out
    assert 'WARNING: stage tokenizer finished after stage stage2' in out


def test_stage_list_errors(tmp_path):
    def stages(*entries):
        return Config(dict(work_dir=str(tmp_path), stages=list(entries)))

    with pytest.raises(ConfigError, match="init_from='stage2' must name an earlier train stage"):
        parse_stages(stages(dict(name='stage1', config='a.py', init_from='stage2')))
    with pytest.raises(ConfigError, match='used twice'):
        parse_stages(stages(dict(name='s', config='a.py'), dict(name='s', config='b.py')))
    with pytest.raises(ConfigError, match='needs a train stage before it'):
        parse_stages(stages(dict(name='e', kind='evaluate')))
    with pytest.raises(ConfigError, match='unknown key'):
        parse_stages(stages(dict(name='s', config='a.py', init_form='x')))
    (evaluate,) = parse_stages(
        stages(dict(name='s', config='a.py'), dict(name='e', kind='evaluate'))
    )[1:]
    assert evaluate.from_stage == 's'


def test_stages_keyed_by_name_and_a_derived_config_overrides_one_stage(tmp_path):
    (tmp_path / 'base.py').write_text(
        f'work_dir = {str(tmp_path / "work")!r}\n'
        'stages = dict(\n'
        "    tokenizer=dict(config='tok.py', cfg_options={'train_cfg.max_iters': 400}),\n"
        "    stage1=dict(config='stage1.py', tokenizer_from='tokenizer'),\n"
        "    stage2=dict(config='stage2.py', init_from='stage1', tokenizer_from='tokenizer',\n"
        "                cfg_options={'train_cfg.max_iters': 300,\n"
        "                             'custom_hooks.GenerationEvaluationHook.num_samples': 6}),\n"
        "    evaluate=dict(kind='evaluate', grid=dict(num_videos=4)),\n"
        ')\n'
    )
    (tmp_path / 'quick.py').write_text(
        "_base_ = ['./base.py']\n"
        "stages = dict(stage2=dict(cfg_options={'train_cfg.max_iters': 2}),\n"
        "              tokenizer=dict(cfg_options={'train_cfg.max_iters': 4}))\n"
    )
    base = parse_stages(Config.fromfile(str(tmp_path / 'base.py')))
    quick = parse_stages(Config.fromfile(str(tmp_path / 'quick.py')))
    names = ['tokenizer', 'stage1', 'stage2', 'evaluate']
    assert [s.name for s in base] == [s.name for s in quick] == names  # order kept
    assert quick[0].cfg_options == {'train_cfg.max_iters': 4}
    assert quick[2].cfg_options == {
        'train_cfg.max_iters': 2,
        'custom_hooks.GenerationEvaluationHook.num_samples': 6,
    }
    assert (quick[2].init_from, quick[2].tokenizer_from) == ('stage1', 'tokenizer')
    assert quick[3].kind == 'evaluate' and quick[3].from_stage == 'stage2'
    assert base[2].cfg_options['train_cfg.max_iters'] == 300

    # the per-stage options address hooks by type when the stage config is loaded
    _write_configs(tmp_path)
    cfg = Config.fromfile(str(tmp_path / 'quick.py'))
    curriculum = Curriculum(cfg)
    stage2 = curriculum.load_stage_config(quick[2], link=False)
    hook = stage2.custom_hooks[0]
    assert hook.type == 'GenerationEvaluationHook' and hook.num_samples == 6
    assert stage2.train_cfg.max_iters == 2
    assert [h['type'] for h in stage2.custom_hooks][-1] == 'StageFinishedHook'


def test_stage_dict_errors(tmp_path):
    def stages(**entries):
        return Config(dict(work_dir=str(tmp_path), stages=entries))

    with pytest.raises(ConfigError, match='differs from its key'):
        parse_stages(stages(s1=dict(name='other', config='a.py')))
    with pytest.raises(ConfigError, match=r"stages.s2 \(s2\): init_from='s3' must name an earl"):
        parse_stages(stages(s1=dict(config='a.py'), s2=dict(config='b.py', init_from='s3')))
    with pytest.raises(ConfigError, match='keyed by stage name'):
        parse_stages(stages())
    # a derived config drops a stage with NAME=None
    kept = parse_stages(stages(s1=dict(config='a.py'), s2=None, e=dict(kind='evaluate')))
    assert [s.name for s in kept] == ['s1', 'e'] and kept[1].from_stage == 's1'


def test_report_table_has_reference_columns_and_ratios():
    from videoar.engine.curriculum.report import _metrics_table

    metrics = {
        'acc': 0.8, 'fcd': 30.0, 'real/acc': 1.0, 'real/fcd': 3.0,
        'reconstruction/acc': 0.9, 'reconstruction/fcd': 10.0, 'shuffled/acc': 0.1,
        'shuffled/fcd': 40.0,
    }  # fmt: skip
    lines = _metrics_table(metrics)
    assert lines[0] == (
        '| metric | generated | real clips | reconstruction | shuffled conditions | '
        'generated / real | generated / reconstruction |'
    )
    assert '| acc | 0.8 | 1 | 0.9 | 0.1 | 0.8 | 0.8889 |' in lines
    assert '| fcd | 30 | 3 | 10 | 40 | 10 | 3 |' in lines
