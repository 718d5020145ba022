# VAR's multi-scale residual VQ (VAR's VectorQuantizer2 with its released settings), as a
# quantizer preset. Use it in place of the quantizer of a model config:
#   _base_ = ['../_base_/models/tokenizer_arch_moving_digits.py',
#             '../_base_/models/vq_var_parity.py']
#   model = dict(quantizer=dict(_base_.var_parity_quantizer, embed_dim=16,
#                               scale_sizes=[1, 2, 3, 4]))
# (the _delete_ inside replaces the base's quantizer instead of merging into it; keyword
# arguments after it override single values, e.g. the latent size of another tokenizer).
# What it sets, and how it differs from this repository's defaults (docs/method.md, "Parity with
# VAR and Infinity"):
#   down_mode='area'         residuals shrink with area (the default too);
#   up_mode='bicubic'        code maps grow with bicubic (default: bilinear, the paper's Eq. 2);
#   input_down_mode='area'   the AR model's next-scale inputs shrink with area (default:
#                            bilinear, the paper's Eq. 2 / Eq. 6);
#   phi_partitions=4, phi_ratio=0.5: 4 shared Phi convs, VAR's tick rule (the default too);
#   Euclidean lookup, beta 0.25, 4096 codes, d = 32 over VAR's 10 scales (256 x 256 images).
# Still different from VAR: the commitment / codebook losses act once on the summed pyramid (VAR
# averages them over its K partial sums); indices and reconstructions of a codebook are equal
# (tests/models/quantizers/test_var_parity.py checks them against VAR's loop).
var_parity_quantizer = dict(
    _delete_=True,
    type='MultiScaleVQ',
    embed_dim=32,
    scale_sizes=[1, 2, 3, 4, 5, 6, 8, 10, 13, 16],
    codebook_size=4096,
    down_mode='area',
    up_mode='bicubic',
    input_down_mode='area',
    beta=0.25,
    codebook_weight=1.0,
    cosine=False,
    phi_partitions=4,
    phi_ratio=0.5,
    phi_kernel_size=3,
)
