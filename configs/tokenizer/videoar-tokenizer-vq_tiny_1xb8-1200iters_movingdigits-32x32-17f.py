# The tiny MovingDigits tokenizer of ./videoar-tokenizer_tiny_1xb8-1200iters_movingdigits-32x32-17f.py
# with multi-scale residual VQ instead of bitwise BSQ, for the VQ-vs-BSQ ablation
# (configs/ablations/vq-vs-bsq_vq.py). Same encoder/decoder, latent dim, scales 1..4 and
# schedule; one shared codebook of 4096 codes (12 bits per token; BSQ's tokens carry 16 bits).
#   python tools/train.py configs/tokenizer/videoar-tokenizer-vq_tiny_1xb8-1200iters_movingdigits-32x32-17f.py
_base_ = ['./videoar-tokenizer_tiny_1xb8-1200iters_movingdigits-32x32-17f.py']

model = dict(quantizer=dict(_delete_=True, **_base_.vq_quantizer))
