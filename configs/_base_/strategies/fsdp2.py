# FSDP2 (torch.distributed.fsdp.fully_shard) instead of DDP: add this file to a config's _base_
# list, e.g. _base_ = ['../videoar_stage1.py', '../_base_/strategies/fsdp2.py'] (paths relative to
# the config). Every rank then holds 1/N of the trainable weights, gradients and AdamW state;
# the frozen tokenizer is replicated, not sharded. Checkpoints are sharded (iter_N.dcp/ next to
# iter_N.pth) and resume at any world size; tools/consolidate_checkpoint.py makes one file of them.
# Launch as for DDP: tools/dist_train.sh CONFIG 8, or tools/slurm_train.sh. See README "Scaling out".
runner_type = 'FSDP2Runner'
model_wrapper_cfg = dict(
    # scope-qualified: mmengine's Runner.wrap_model looks the type up in its root registry
    type='videoar.FSDP2ModelWrapper',
    block_types=['TransformerBlock'],  # each one its own FSDP unit
    group_modules=['transformer'],  # then these, then the root
    # bf16 parameters and compute inside the transformer, fp32 gradient reduction and fp32
    # master weights / AdamW state; None keeps everything fp32
    mixed_precision=dict(param_dtype='bfloat16', reduce_dtype='float32'),
    cpu_offload=False,  # True: sharded params, grads and optimizer state live in CPU memory
    reshard_after_forward=True,  # False: keep gathered params from forward to backward
    compile_blocks=False,  # torch.compile each block (GPU; off on CPU)
)
