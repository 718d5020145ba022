# Table 5 of the paper in miniature: Random Frame Mask off (control) and on.
#   python tools/sweep.py configs/ablations/sweep_table5_movingdigits.py
# The full method (./videoar_tiny-ablation_movingdigits.py) trained as the Table-4 runs are
# (200 iterations from scratch on 17-frame clips, 3 seeds), with the block-causal mask or with
# Random Frame Mask (drop probability 0.2, window: all earlier frames). The paper uses the mask
# in Stage I; see configs/ablations/README.md for why ours trains on 17-frame clips.
settings = [
    dict(name='no-frame-mask', config='configs/ablations/videoar_tiny-ablation_movingdigits.py'),
    dict(name='frame-mask', config='configs/ablations/table5_frame-mask.py'),
]
seeds = [0, 1, 2]
control = 'no-frame-mask'
metrics = ['fcd_classifier', 'class_accuracy']
executor = dict(type='local', max_parallel=2, threads_per_run=1)
work_dir = 'work_dirs/sweeps/table5'
