# Reconstruction FVD of the MovingDigits tokenizer with the real I3D (the original FVD's
# Kinetics-400 network), plus PSNR/SSIM: real clips (gt_video) against their reconstructions
# (pred_video), 16 frames resized to 224 x 224, float64 statistics, the protocol in metrics.json.
#   python tools/fetch_i3d_weights.py           # once
#   python tools/test.py configs/evaluation/fvd-i3d_tokenizer-recon_movingdigits-32x32-17f.py \
#       work_dirs/videoar_curriculum/tokenizer/iter_1200.pth
# 32 test clips keep it to about a minute on a CPU; FVD is only comparable at equal sample counts.
_base_ = ['../tokenizer/videoar-tokenizer_tiny_1xb8-1200iters_movingdigits-32x32-17f.py']

test_dataloader = dict(batch_size=8, dataset=dict(length=32))
# a log line per batch (the I3D features of real and reconstructed clips are most of the time)
default_hooks = dict(logger=dict(interval=1))
test_evaluator = [
    dict(type='FVD', feature_extractor=dict(type='I3D', num_frames=16)),
    dict(type='PSNR'),
    dict(type='SSIM'),
]
