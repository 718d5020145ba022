# AdamW with linear warm-up and cosine decay over an iteration budget (VideoAR supp. A: AdamW,
# betas 0.9/0.95, lr 1e-4, cosine, weight decay 0.05): ./adamw_constant_iters.py with weight
# decay and a cosine decay after the warm-up. Override max_iters / lr in leaf configs (restating
# the fields that use them: optim_wrapper, param_scheduler, train_cfg).
_base_ = ['./adamw_constant_iters.py']

max_iters = 1000
val_interval = 500
warmup_iters = 50
lr = 1e-4

optim_wrapper = dict(optimizer=dict(lr=lr, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=warmup_iters),
    dict(
        type='CosineAnnealingLR',
        by_epoch=False,
        begin=warmup_iters,
        end=max_iters,
        eta_min_ratio=0.1,
    ),
]
train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
