# The quick profile of the main job (CI runs it; about a minute on 2 CPU cores): the same stages
# as configs/videoar_curriculum.py with a handful of iterations, small latent caches and a small
# evaluation. It checks that the pipeline runs end to end, not that the videos look like digits.
#   python tools/train.py configs/videoar_curriculum_quick.py
_base_ = ['./videoar_curriculum.py']

work_dir = './work_dirs/videoar_curriculum_quick'
# a smaller transformer, a few iterations, checkpoints every 2 iterations (so an interrupted
# stage has something to resume from) and no end-of-stage evaluation
_few = {
    'train_cfg.max_iters': 6,
    'train_dataloader.batch_size': 8,
    'default_hooks.checkpoint.interval': 2,
    'model.transformer.dim': 64,
    'model.transformer.depth': 2,
    'model.transformer.num_heads': 2,
}
# a classifier trained for fewer iterations (cached separately from the full one)
_classifier = dict(type='MovingDigitsClassifier', train_iters=60)
stages = [
    dict(
        name='tokenizer',
        config='configs/tokenizer/videoar-tokenizer_tiny_1xb8-600iters_movingdigits-32x32-17f.py',
        cfg_options={
            'train_cfg.max_iters': 4,
            'train_cfg.val_interval': 4,
            'train_dataloader.batch_size': 2,
            'val_dataloader.dataset.length': 4,
            'val_dataloader.batch_size': 4,
            'default_hooks.checkpoint.interval': 4,
        },
    ),
    dict(
        name='stage1',
        config='configs/videoar_stage1.py',
        tokenizer_from='tokenizer',
        cfg_options=dict(
            _few,
            **{
                'train_dataloader.dataset.dataset.cache_dir': '{work_dir}/latent_cache',
                'train_dataloader.dataset.dataset.num_items': 16,
            },
        ),
    ),
    dict(
        name='stage2',
        config='configs/videoar_stage2.py',
        init_from='stage1',
        tokenizer_from='tokenizer',
        cfg_options=dict(
            _few,
            **{
                'train_dataloader.dataset.cache_dir': '{work_dir}/latent_cache',
                'train_dataloader.dataset.num_items': 16,
            },
        ),
    ),
    dict(
        name='stage3',
        config='configs/videoar_stage3.py',
        init_from='stage2',
        tokenizer_from='tokenizer',
        cfg_options=dict(
            _few,
            **{
                'train_dataloader.dataset.cache_dir': '{work_dir}/latent_cache',
                'train_dataloader.dataset.num_items': 16,
                'custom_hooks.2.interval': 6,
                'custom_hooks.3.evaluate_at_end': False,
            },
        ),
    ),
    dict(
        name='evaluate',
        kind='evaluate',
        from_stage='stage3',
        evaluation=dict(
            metrics=[
                dict(type='ClassAccuracy', classifier=_classifier),
                dict(type='FVD', feature_extractor=_classifier, name='fcd_classifier'),
            ],
            num_samples=10,
            batch_size=10,
            conditions='balanced',
            references=['real', 'shuffled'],
            real_dataloader=dict(
                batch_size=10,
                num_workers=0,
                sampler=dict(type='DefaultSampler', shuffle=False),
                collate_fn=dict(type='default_collate'),
                dataset=dict(
                    type='MovingDigits', split='val', length=20, num_frames=17, height=32, width=32
                ),
            ),
        ),
        grid=dict(num_videos=10, nrow=10, fps=8),
    ),
]
