"""A tiny tokenizer trained for a few hundred iterations on MovingDigits beats trivial baselines.

Baselines on the validation clips: the *clip's own* mean frame repeated over time (it knows the
static background and the digit's trail, so it is a strong trivial baseline) and the
*training-set* mean frame (a constant prediction).
"""

import torch
from mmengine.optim import OptimWrapper

from videoar.datasets.moving_digits import MovingDigits
from videoar.evaluation.metrics.reconstruction import psnr_per_frame
from videoar.registry import MODELS

FRAMES, SIZE, BATCH, ITERS = 5, 16, 8, 300


def test_tiny_tokenizer_beats_the_mean_frame_baselines(tiny_tokenizer_config):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny convs: one thread is as fast and does not spin
    try:
        # 8 latent channels, channels x1 then x2, no temporal mixing inside the blocks
        tokenizer = tiny_tokenizer_config(
            latent_dim=8, channel_mult=(1, 2), block_temporal_kernel_size=1
        )
        _train_and_check(tokenizer)
    finally:
        torch.set_num_threads(threads)


def _train_and_check(tokenizer):
    torch.manual_seed(0)
    train = MovingDigits('train', length=BATCH * ITERS, num_frames=FRAMES, height=SIZE, width=SIZE)
    val = MovingDigits('val', length=32, num_frames=FRAMES, height=SIZE, width=SIZE)
    model = MODELS.build(
        dict(
            type='VideoTokenizer',
            input_size=(FRAMES, SIZE, SIZE),
            tokenizer=tokenizer,
            quantizer=dict(type='MultiScaleBSQ', scale_sizes=[1, 2, 4]),
            l1_weight=0.0,
            l2_weight=1.0,
        )
    ).train()
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95)))
    train_mean = torch.zeros(3, 1, SIZE, SIZE)
    for it in range(ITERS):
        video = torch.stack([train[it * BATCH + j]['inputs'] for j in range(BATCH)])
        train_mean += video.mean(dim=(0, 2)).unsqueeze(1) / ITERS
        model.train_step(dict(inputs=video), optim)

    model.eval()
    video = torch.stack([val[i]['inputs'] for i in range(len(val))])
    with torch.no_grad():
        outputs = model.test_step(dict(inputs=video))
    pred = torch.stack([o['pred_video'] for o in outputs])
    psnr = psnr_per_frame(pred, video).mean().item()
    clip_mean = video.mean(dim=2, keepdim=True).expand_as(video)
    psnr_clip_mean = psnr_per_frame(clip_mean, video).mean().item()
    psnr_train_mean = psnr_per_frame(train_mean.expand_as(video[0]).expand_as(video), video)
    psnr_train_mean = psnr_train_mean.mean().item()
    print(
        f'PSNR {psnr:.2f} dB; clip mean frame {psnr_clip_mean:.2f}; train mean {psnr_train_mean:.2f}'
    )
    assert psnr > psnr_clip_mean + 0.75, (psnr, psnr_clip_mean)
    assert psnr > psnr_train_mean + 3.0, (psnr, psnr_train_mean)
