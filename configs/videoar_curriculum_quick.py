# The quick profile of the main job (CI runs it; about a minute on 2 CPU cores): the stages of
# configs/videoar_curriculum.py with a handful of iterations, small latent caches and a small
# evaluation. It checks that the pipeline runs end to end, not that the videos look like digits.
#   python tools/train.py configs/videoar_curriculum_quick.py
# Only what differs is written here, stage by stage name; the rest comes from the base.
_base_ = ['./videoar_curriculum.py']

work_dir = './work_dirs/videoar_curriculum_quick'
# the AR stages: a smaller transformer, a few iterations, checkpoints every 2 iterations (so an
# interrupted stage has something to resume from) and 16 cached clips
few_iters = {
    'train_cfg.max_iters': 6,
    'train_dataloader.batch_size': 8,
    'default_hooks.checkpoint.interval': 2,
    'model.transformer.dim': 64,
    'model.transformer.depth': 2,
    'model.transformer.num_heads': 2,
}
# a classifier trained for fewer iterations (cached separately from the full one)
small_classifier = dict(type='MovingDigitsClassifier', train_iters=60)

stages = dict(
    tokenizer=dict(
        cfg_options={
            'train_cfg.max_iters': 4,
            'train_cfg.val_interval': 4,
            'train_dataloader.batch_size': 2,
            'val_dataloader.dataset.length': 4,
            'val_dataloader.batch_size': 4,
            'default_hooks.checkpoint.interval': 4,
            # the reconstructions' class accuracy / Fréchet distance with the small classifier
            'val_evaluator.2.classifier.train_iters': small_classifier['train_iters'],
            'val_evaluator.3.feature_extractor.train_iters': small_classifier['train_iters'],
        },
    ),
    stage1=dict(
        cfg_options=dict(few_iters, **{'train_dataloader.dataset.dataset.num_items': 16}),
    ),
    stage2=dict(cfg_options=dict(few_iters, **{'train_dataloader.dataset.dataset.num_items': 16})),
    stage3=dict(
        cfg_options=dict(
            few_iters,
            **{
                'train_dataloader.dataset.num_items': 16,
                'custom_hooks.VideoVisualizationHook.interval': 6,
                # 6 iterations do not repay the compilation (about 15 s)
                'model.transformer.compile_blocks': False,
            },
        ),
    ),
    evaluate=dict(
        evaluation=dict(
            metrics=[
                dict(type='ClassAccuracy', classifier=small_classifier),
                dict(type='FVD', feature_extractor=small_classifier, name='fcd_classifier'),
            ],
            num_samples=10,
            batch_size=10,
            real_dataloader=dict(batch_size=10, dataset=dict(length=20)),
        ),
        grid=dict(num_videos=10),
    ),
)
