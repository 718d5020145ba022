"""The paper-default and VAR-style configs build, run a loss step and sample through the API."""

import pytest
import torch
from mmengine.config import Config

from videoar.models.correctors import CrossFrameErrorCorrection, NoCorrection
from videoar.models.pos_encodings import LearnedAbsolutePE, MultiScaleTemporalRoPE
from videoar.pipelines import generate, init_model
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

    videos = generate(
        model.eval(), classes=[labels[0].item()], cfg_scale=3.0, seed=0, progress=False
    )['videos']
    assert videos.shape == (1, 3, 17, 32, 32) and torch.isfinite(videos).all()


def test_tiny_model_loads_a_checkpoint_of_the_moving_digits_tokenizer_config(repo_root, tmp_path):
    tok_cfg = Config.fromfile(f'{repo_root}/configs/_base_/models/tokenizer_moving_digits.py')
    ar_cfg = Config.fromfile(f'{repo_root}/configs/_base_/models/videoar_tiny.py')
    assert ar_cfg.model.tokenizer == tok_cfg.model.tokenizer
    assert ar_cfg.model.quantizer == tok_cfg.model.quantizer
    torch.manual_seed(7)
    tokenizer_model = init_model(tok_cfg)
    path = tmp_path / 'tokenizer_iter_600.pth'
    torch.save({'state_dict': tokenizer_model.state_dict(), 'meta': {}}, path)
    model = init_model(ar_cfg, cfg_options={'model.tokenizer_checkpoint': str(path)})
    for key, value in tokenizer_model.tokenizer.state_dict().items():
        assert torch.equal(model.tokenizer.state_dict()[key], value), key
    assert torch.equal(model.quantizer.log_scales, tokenizer_model.quantizer.log_scales)
