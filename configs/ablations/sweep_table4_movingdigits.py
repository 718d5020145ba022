# Table 4 of the paper in miniature: does each component lower the Fréchet distance?
#   python tools/sweep.py configs/ablations/sweep_table4_movingdigits.py
# Four rows, one thing changed per row (each row's file says what), three seeds each; every
# run trains the tiny VideoAR from scratch for 200 iterations on MovingDigits latents and ends
# with evaluate_generation: 100 class-balanced videos scored by the MovingDigits classifier
# (class accuracy and the classifier Fréchet distance, fcd_classifier; lower is better).
# Paired differences are against the baseline row. Results: work_dirs/sweeps/table4/sweep.md.
# On Slurm: executor = dict(type='submitit', cluster='slurm', timeout_min=30,
#                           parameters=dict(slurm_partition='YOUR_PARTITION'))
settings = [
    dict(name='0_learned-pe', config='configs/ablations/table4_row0_learned-pe.py'),
    dict(name='1_+ms-rope', config='configs/ablations/table4_row1_ms-rope.py'),
    dict(name='2_+time-ramp', config='configs/ablations/table4_row2_time-ramp.py'),
    dict(name='3_+inheritance', config='configs/ablations/table4_row3_inheritance.py'),
]
seeds = [0, 1, 2]
control = '0_learned-pe'
metrics = ['fcd_classifier', 'class_accuracy']
# two runs at once, one thread each: a 2-core machine fully used without oversubscription
executor = dict(type='local', max_parallel=2, threads_per_run=1)
work_dir = 'work_dirs/sweeps/table4'
