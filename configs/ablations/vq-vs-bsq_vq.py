# VQ vs bitwise BSQ labels at matched sizes: the full method of
# ./videoar_tiny-ablation_movingdigits.py (the BSQ arm) with the tokenizer trained with
# multi-scale residual VQ (../tokenizer/videoar-tokenizer-vq_tiny_...py: the same encoder,
# latent dim, scales 1..4, 150 tokens per clip, 4096 codes) and the same transformer; labels
# are code indices (cross-entropy over 4096 classes) instead of 16 bits (bitwise CE). Cross-Frame
# Error Correction replaces a flipped index by a uniform random one.
# Needs the VQ tokenizer:
#   python tools/train.py configs/tokenizer/videoar-tokenizer-vq_tiny_1xb8-1200iters_movingdigits-32x32-17f.py
_base_ = ['./videoar_tiny-ablation_movingdigits.py']

vq_tokenizer_config = (
    'configs/tokenizer/videoar-tokenizer-vq_tiny_1xb8-1200iters_movingdigits-32x32-17f.py'
)
vq_tokenizer_run = dict(
    work_dir='./work_dirs/videoar-tokenizer-vq_tiny_1xb8-1200iters_movingdigits-32x32-17f',
    command='python tools/train.py ' + vq_tokenizer_config,
)
# the VQ tokenizer's checkpoint reaches the model and the latent cache (inputs, as in the base)
inputs = dict(
    tokenizer=dict(_delete_=True, **vq_tokenizer_run), command=vq_tokenizer_run['command']
)
model = dict(quantizer=dict(_delete_=True, **_base_.vq_quantizer))  # as its tokenizer's
train_dataloader = dict(dataset=dict(tokenizer=dict(config=vq_tokenizer_config)))
