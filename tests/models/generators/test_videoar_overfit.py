"""A tiny VideoAR memorises a few MovingDigits clips, then samples them via the public API."""

import torch
from mmengine.config import Config

from videoar.datasets import MovingDigits
from videoar.models.sampling.sampler import sample_video
from videoar.models.sequence import build_teacher_forcing
from videoar.pipelines import generate, init_model

# 9 frames of 16 x 16, 8 latent channels, a 2-layer transformer of width 64, no dropout
NO_DROPOUT = {
    'model.conditioner.drop_prob': 0.0,
    'model.corrector': dict(_delete_=True, type='NoCorrection'),
}


def test_tiny_model_overfits_moving_digits_and_samples_through_the_api(
    repo_root, tiny_config_options
):
    torch.manual_seed(0)
    cfg = Config.fromfile(f'{repo_root}/configs/_base_/models/videoar_tiny.py')
    options = tiny_config_options(num_frames=9, latent_dim=8, dim=64, depth=2, **NO_DROPOUT)
    model = init_model(cfg, cfg_options=options).train()  # random-init, frozen tokenizer
    dataset = MovingDigits(split='train', length=4, num_frames=9, height=16, width=16)
    items = [dataset[i] for i in range(4)]
    video = torch.stack([item['inputs'] for item in items])
    labels = torch.tensor([item['data_samples']['label'] for item in items])
    assert len(set(labels.tolist())) == 4  # one clip per class: the class token identifies it
    meta = {'label': labels, 'latent': model.encode(video)}  # encode once (a latent cache)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=3e-3, weight_decay=0.0)
    losses = []
    for _ in range(150):
        out = model(None, meta, mode='loss')
        optimizer.zero_grad()
        out['loss'].backward()
        optimizer.step()
        losses.append(out['loss'].item())
    assert abs(losses[0] - 0.6931) < 1e-3  # zero-initialised head: log 2 per bit
    assert min(losses[-5:]) < 0.35 * losses[0], losses[::10]
    assert out['acc_bit'] > 0.9

    model.eval()
    videos = generate(
        model, classes=labels.tolist(), cfg_scale=1.0, temperature=0.0, progress=False
    )['videos']
    assert videos.shape == (4, 3, 9, 16, 16)
    assert torch.isfinite(videos).all() and videos.abs().max() <= 1.0
    # greedy samples reproduce the memorised labels far above chance (0.5 per bit)
    greedy = sample_video(model, {'label': labels}, temperature=0.0, decode=False)
    targets = build_teacher_forcing(meta['latent'], model.quantizer).labels
    assert (greedy['labels'] == targets).float().mean() > 0.9
    assert greedy['num_sampling_steps'] == 3 * 2  # 3 latent frames x 2 scales
