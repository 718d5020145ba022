"""The ablation rows change one thing each (Table 4 row by row; Table 5 the mask only)."""

import os

import pytest
from mmengine.config import Config

from videoar.engine.runs import link_inputs
from videoar.io import CheckpointNotFoundError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROWS = ['table4_row0_learned-pe.py', 'table4_row1_ms-rope.py', 'table4_row2_time-ramp.py',
        'table4_row3_inheritance.py']  # fmt: skip


def leaves(value, prefix=''):
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out.update(leaves(item, f'{prefix}{key}.'))
        return out
    return {prefix.rstrip('.'): value}


def load(name):
    return leaves(Config.fromfile(os.path.join(ROOT, 'configs', 'ablations', name)).to_dict())


def changed(a, b):
    return sorted(k for k in set(a) | set(b) if a.get(k, '<absent>') != b.get(k, '<absent>'))


def test_each_table4_row_changes_one_thing():
    rows = [load(name) for name in ROWS]
    assert changed(rows[0], rows[1]) == ['model.pos_encoding.type']
    assert rows[0]['model.pos_encoding.type'] == 'LearnedAbsolutePE'
    assert changed(rows[1], rows[2]) == ['model.corrector.delta']
    assert (rows[1]['model.corrector.delta'], rows[2]['model.corrector.delta']) == (0.0, 0.01)
    assert changed(rows[2], rows[3]) == ['model.corrector.inherit']
    assert rows[3]['model.corrector.inherit'] is True
    # the last row is the shared base: the full method
    assert changed(rows[3], load('videoar_tiny-ablation_movingdigits.py')) == []


def test_table5_changes_only_the_mask():
    base, masked = load('videoar_tiny-ablation_movingdigits.py'), load('table5_frame-mask.py')
    assert set(changed(base, masked)) <= {'model.masking.type', 'model.masking.drop_prob',
                                         'model.masking.window'}  # fmt: skip
    assert (
        masked['model.masking.type'] == 'RandomFrameMask' and masked['model.masking.drop_prob'] > 0
    )


def test_vq_arm_changes_only_the_quantizer_and_its_tokenizer():
    base, vq = load('videoar_tiny-ablation_movingdigits.py'), load('vq-vs-bsq_vq.py')
    diff = changed(base, vq)
    assert all(k.startswith(('model.quantizer.', 'inputs.', 'vq_',
                             'train_dataloader.dataset.tokenizer.')) for k in diff), diff  # fmt: skip
    assert (
        vq['model.quantizer.type'] == 'MultiScaleVQ'
        and base['model.quantizer.type'] == 'MultiScaleBSQ'
    )
    for key in ('embed_dim', 'scale_sizes'):
        assert vq[f'model.quantizer.{key}'] == base[f'model.quantizer.{key}']
    assert not [k for k in diff if k.startswith('model.transformer')]


@pytest.mark.parametrize(
    'name, tokenizer',
    [
        ('videoar_tiny-ablation_movingdigits.py', 'videoar-tokenizer_tiny_1xb8-1200iters'),
        ('vq-vs-bsq_vq.py', 'videoar-tokenizer-vq_tiny_1xb8-1200iters'),
    ],
)
def test_ablation_arms_need_only_their_own_tokenizer(name, tokenizer, tmp_path, monkeypatch):
    """Each arm reads its tokenizer's run (not the main job's curriculum work dir), and its
    checkpoint reaches the model and the latent cache."""
    monkeypatch.chdir(tmp_path)  # the work dirs are relative to where the sweep runs
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'ablations', name))
    assert cfg.inputs.run is None
    with pytest.raises(CheckpointNotFoundError, match=f'{tokenizer}.*movingdigits'):
        link_inputs(Config.fromfile(os.path.join(ROOT, 'configs', 'ablations', name)))
    run_dir = tmp_path / 'work_dirs' / os.path.basename(cfg.inputs.tokenizer.work_dir)
    run_dir.mkdir(parents=True)
    (run_dir / 'iter_400.pth').write_bytes(b'')
    (run_dir / 'last_checkpoint').write_text(str(run_dir / 'iter_400.pth'))
    link_inputs(cfg)
    assert cfg.model.tokenizer_checkpoint == str(run_dir / 'iter_400.pth')
    assert cfg.train_dataloader.dataset.checkpoint == str(run_dir / 'iter_400.pth')
    assert tokenizer in cfg.train_dataloader.dataset.tokenizer.config
