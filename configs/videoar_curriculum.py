# The main job: the whole VideoAR curriculum on the embedded MovingDigits default, one command.
#   python tools/train.py configs/videoar_curriculum.py
# Stages (each with its own mmengine Runner and work directory under work_dir): the tokenizer,
# stage 1 (images + short low-resolution clips), stage 2 (higher resolution), stage 3 (long
# clips), then the final evaluation (generated videos scored by a MovingDigits video classifier:
# class accuracy and Fréchet distance, with real-clip, reconstruction and shuffled-condition
# references).
# Finished stages are skipped, an interrupted stage resumes, weights pass along. It leaves
# samples.mp4 / samples.gif, metrics.json and report.md in the work directory.
# Stages are keyed by name, in order: a derived config (e.g. the quick profile,
# configs/videoar_curriculum_quick.py) or --cfg-options stages.stage3.cfg_options...=... changes
# one stage by its name.
_base_ = ['./_base_/datasets/moving_digits_clips.py']

work_dir = './work_dirs/videoar_curriculum'
latent_cache = '{work_dir}/latent_cache'  # shared by the AR stages

stages = dict(
    # optional (off here): train a 2D image tokenizer first and inflate the video tokenizer from
    # it (paper §4.1); configs/videoar_curriculum_inflate.py switches it on
    image_tokenizer=None,
    tokenizer=dict(
        config='configs/tokenizer/videoar-tokenizer_tiny_1xb8-1200iters_movingdigits-32x32-17f.py',
    ),
    stage1=dict(
        config='configs/videoar_stage1.py',
        tokenizer_from='tokenizer',
        cfg_options={'train_dataloader.dataset.dataset.cache_dir': latent_cache},
    ),
    stage2=dict(
        config='configs/videoar_stage2.py',
        init_from='stage1',
        tokenizer_from='tokenizer',
        cfg_options={'train_dataloader.dataset.dataset.cache_dir': latent_cache},
    ),
    stage3=dict(
        config='configs/videoar_stage3.py',
        init_from='stage2',
        tokenizer_from='tokenizer',
        # the final evaluation below replaces the stage's own end-of-training evaluation
        cfg_options={
            'train_dataloader.dataset.cache_dir': latent_cache,
            'custom_hooks.GenerationEvaluationHook.evaluate_at_end': False,
        },
    ),
    evaluate=dict(
        kind='evaluate',
        from_stage='stage3',
        evaluation=dict(
            metrics=[
                dict(type='ClassAccuracy', classifier=dict(type='MovingDigitsClassifier')),
                dict(
                    type='FVD',
                    feature_extractor=dict(type='MovingDigitsClassifier'),
                    name='fcd_classifier',
                ),
            ],
            num_samples=200,
            batch_size=25,
            conditions='balanced',
            references=['real', 'reconstruction', 'shuffled'],
            real_dataloader=dict(
                batch_size=25,
                num_workers=0,
                sampler=dict(type='DefaultSampler', shuffle=False),
                collate_fn=dict(type='video_collate'),
                dataset=_base_.val_clips,
            ),
        ),
        grid=dict(num_videos=20, nrow=10, fps=8),
    ),
)
curriculum = dict(cfg_options={'default_hooks.logger.interval': 20}, auto_resume=True)
