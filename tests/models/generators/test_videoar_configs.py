"""The paper-default and VAR-style configs build, run a loss step and sample through the API."""

import pytest
import torch
from mmengine.config import Config

from videoar.apis import init_model, sample_videos
from videoar.models.correctors import CrossFrameErrorCorrection, NoCorrection
from videoar.models.pos_encodings import LearnedAbsolutePE, MultiScaleTemporalRoPE
from videoar.registry import DATASETS

CONFIGS = {
    'paper-default': ('configs/ablations/videoar_paper-default.py', 'prefix',
                      MultiScaleTemporalRoPE, CrossFrameErrorCorrection),
    'var-style': ('configs/ablations/videoar_var-style.py', 'adaln',
                  LearnedAbsolutePE, NoCorrection),
}  # fmt: skip


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_config_builds_trains_one_step_and_samples(repo_root, name):
    path, cond_mode, pos_cls, corrector_cls = CONFIGS[name]
    cfg = Config.fromfile(f'{repo_root}/{path}')
    torch.manual_seed(0)
    model = init_model(cfg).train()
    assert model.cond_mode == cond_mode and model.prefix_len == (1 if cond_mode == 'prefix' else 0)
    assert isinstance(model.pos_encoding, pos_cls)
    assert isinstance(model.corrector, corrector_cls)
    assert model.num_sampling_steps == 5 * 4  # 17 frames -> 5 latent frames, 4 scales

    dataset_cfg = dict(cfg.train_dataloader.dataset, length=2)
    dataset = DATASETS.build(dataset_cfg)
    video = torch.stack([dataset[i]['inputs'] for i in range(2)])
    labels = torch.tensor([dataset[i]['data_samples']['label'] for i in range(2)])
    assert video.shape[2:] == (model.num_frames, *model.resolution)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    out = model(video, {'label': labels}, mode='loss')
    out['loss'].backward()
    optimizer.step()
    assert torch.isfinite(out['loss'])
    flips = out['flip_rate/mean'].item()
    assert (flips > 0) == (corrector_cls is CrossFrameErrorCorrection)

    videos = sample_videos(model.eval(), classes=[labels[0].item()], cfg_scale=3.0, seed=0)
    assert videos.shape == (1, 3, 17, 32, 32) and torch.isfinite(videos).all()
