# VideoAR-XL on UCF-101 (paper Table 3: 2.0B parameters, gFVD 88.6, 30 steps):
# 32 layers, width 2048, 16 heads; everything else as VideoAR-L (shared AdaLN: 2.18B in our count;
# the paper's FFN width for XL is not given, and 16 L C^2 alone is 2.15B).
_base_ = ['./videoar-l_8xb16-200k_ucf101-128x128-17f.py']

model = dict(transformer=dict(dim=2048, depth=32, num_heads=16, ffn_dim=8192))
