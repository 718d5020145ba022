# VideoAR 4B (the paper's 4B model: 36 layers, width 2560, 32 heads; SwiGLU hidden 4 x width,
# about 3.8B transformer parameters), on UCF-101 as VideoAR-L, trained with FSDP2: 16 bytes per
# parameter (about 61 GB) no longer fits next to the activations on one 80 GB GPU under DDP, so
# weights, gradients and AdamW state are sharded over the ranks (../_base_/strategies/fsdp2.py).
# The memory plan (tools/analysis_tools/memory_plan.py THIS_CONFIG --gpus 8 --gpu-mem 80; table
# in the README, "Scaling out") gives 8 clips per GPU with activation checkpointing as a safe
# micro-batch on 8 x 80 GB. The EMA of VideoAR-L is left out: EMAHook does not support sharded
# models yet (FSDP2Runner refuses it).
_base_ = [
    './videoar-l_8xb16-200k_ucf101-128x128-17f.py',
    '../_base_/strategies/fsdp2.py',
]

model = dict(transformer=dict(dim=2560, depth=36, num_heads=32, ffn_dim=10240))
train_dataloader = dict(batch_size=8)
custom_hooks = []
