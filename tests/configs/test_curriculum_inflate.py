"""The curriculum's optional image-tokenizer stage: configs/videoar_curriculum_inflate.py trains
the 2D image tokenizer first and the video tokenizer starts from its inflated weights; the main
job (configs/videoar_curriculum.py) leaves it out."""

import os

import torch
from mmengine.config import Config

import videoar.engine  # noqa: F401
from videoar.engine.curriculum import parse_stages, run_curriculum
from videoar.io.checkpoint import load_state_dict

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = {
    'train_cfg.max_iters': 2,
    'train_cfg.val_interval': 2,
    'train_dataloader.batch_size': 2,
    'val_dataloader.dataset.length': 2,
    'val_dataloader.batch_size': 2,
    'default_hooks.checkpoint.interval': 2,
}


def test_main_job_has_no_image_stage_and_the_switch_adds_it_first():
    main = parse_stages(Config.fromfile(os.path.join(ROOT, 'configs/videoar_curriculum.py')))
    assert [s.name for s in main][:2] == ['tokenizer', 'stage1']
    cfg = Config.fromfile(os.path.join(ROOT, 'configs/videoar_curriculum_inflate.py'))
    stages = parse_stages(cfg)
    assert [s.name for s in stages][:3] == ['image_tokenizer', 'tokenizer', 'stage1']
    assert stages[1].cfg_options['model.inflate_from'] == '{checkpoint:image_tokenizer}'


def test_inflate_curriculum_starts_the_video_tokenizer_from_the_image_tokenizer(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(ROOT)
    cfg = Config.fromfile('configs/videoar_curriculum_inflate.py')
    cfg.work_dir = str(tmp_path)
    # the two tokenizer stages only; the video tokenizer with lr 0 keeps its initial weights
    cfg.stages.update(stage1=None, stage2=None, stage3=None, evaluate=None)
    cfg.stages.image_tokenizer.cfg_options = dict(TINY)
    cfg.stages.tokenizer.cfg_options.update(TINY, **{'optim_wrapper.optimizer.lr': 0.0})
    summary = run_curriculum(cfg)
    assert set(summary['stages']) == {'image_tokenizer', 'tokenizer'}
    image = load_state_dict(str(tmp_path / 'image_tokenizer' / 'iter_2.pth'))
    video = load_state_dict(str(tmp_path / 'tokenizer' / 'iter_2.pth'))
    w2 = image['tokenizer.encoder.conv_in.conv.weight']
    w3 = video['tokenizer.encoder.conv_in.conv.weight']
    assert w2.dim() == 4 and w3.dim() == 5
    assert torch.equal(w3[:, :, -1], w2) and not w3[:, :, :-1].any()
    assert torch.equal(video['quantizer.log_scales'], image['quantizer.log_scales'])
