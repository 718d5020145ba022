# VQ vs bitwise BSQ labels at matched sizes (see ./vq-vs-bsq_vq.py), 3 seeds, trained and
# evaluated as the Table-4 runs are. Needs both tokenizers (the BSQ one of the main job and
# configs/tokenizer/videoar-tokenizer-vq_tiny_1xb8-1200iters_movingdigits-32x32-17f.py).
#   python tools/sweep.py configs/ablations/sweep_vq-vs-bsq_movingdigits.py
settings = [
    dict(name='bsq', config='configs/ablations/videoar_tiny-ablation_movingdigits.py'),
    dict(name='vq', config='configs/ablations/vq-vs-bsq_vq.py'),
]
seeds = [0, 1, 2]
control = 'bsq'
metrics = ['fcd_classifier', 'class_accuracy']
executor = dict(type='local', max_parallel=2, threads_per_run=1)
work_dir = 'work_dirs/sweeps/vq-vs-bsq'
