"""The configs share one definition of what must agree: the tokenizer/quantizer architecture
between the tokenizer config and the AR models that load its checkpoint, and the clip settings
between a model and its dataset."""

import os
import shutil

import pytest
from mmengine.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKENIZER_TINY = 'configs/tokenizer/videoar-tokenizer_tiny_1xb8-1200iters_movingdigits-32x32-17f.py'
TOKENIZER_UCF = 'configs/tokenizer/videoar-tokenizer_ucf101-128x128-17f.py'
ARCH_TINY = 'configs/_base_/models/tokenizer_arch_moving_digits.py'
ARCH_UCF = 'configs/_base_/models/tokenizer_arch_ucf101.py'
# (tokenizer config, AR configs that load its checkpoint, the shared architecture file)
PAIRS = [
    (
        TOKENIZER_TINY,
        [
            'configs/_base_/models/videoar_tiny.py',
            'configs/videoar_stage1.py',
            'configs/videoar_stage2.py',
            'configs/videoar_stage3.py',
            'configs/ablations/videoar_paper-default.py',
            'configs/ablations/videoar_var-style.py',
            'configs/videoar-t2v_tiny_movingdigits-32x32-17f.py',
        ],
        ARCH_TINY,
    ),
    (
        TOKENIZER_UCF,
        [
            'configs/paper/videoar-l_8xb16-200k_ucf101-128x128-17f.py',
            'configs/paper/videoar-xl_8xb16-200k_ucf101-128x128-17f.py',
        ],
        ARCH_UCF,
    ),
]


def _load(root, path):
    return Config.fromfile(os.path.join(root, path))


@pytest.mark.parametrize('tokenizer_config, ar_configs, arch', PAIRS)
def test_ar_models_use_the_tokenizer_configs_architecture(tokenizer_config, ar_configs, arch):
    tokenizer_model = _load(ROOT, tokenizer_config).model
    assert tokenizer_model.type == 'VideoTokenizer'
    for path in ar_configs:
        model = _load(ROOT, path).model
        assert model.type == 'VideoAR', path
        assert model.tokenizer == tokenizer_model.tokenizer, path
        if path.endswith('videoar_stage1.py'):  # stage 1 trains on the first two scales only
            assert model.quantizer.scale_sizes == [1, 2]
            model.quantizer.scale_sizes = tokenizer_model.quantizer.scale_sizes
        assert model.quantizer == tokenizer_model.quantizer, path


@pytest.mark.parametrize('tokenizer_config, ar_configs, arch', PAIRS)
def test_changing_the_shared_architecture_changes_both(
    tmp_path, tokenizer_config, ar_configs, arch
):
    shutil.copytree(os.path.join(ROOT, 'configs'), tmp_path / 'configs')
    shared = tmp_path / arch
    text = shared.read_text()
    assert text.count('latent_dim=') == 1 and text.count('embed_dim=') == 1
    latent_dim = int(text.split('latent_dim=')[1].split(',')[0])
    shared.write_text(
        text.replace(f'latent_dim={latent_dim},', f'latent_dim={latent_dim * 2},').replace(
            f'embed_dim={latent_dim},', f'embed_dim={latent_dim * 2},'
        )
    )
    tokenizer_model = _load(tmp_path, tokenizer_config).model
    assert tokenizer_model.tokenizer.latent_dim == latent_dim * 2
    assert tokenizer_model.quantizer.embed_dim == latent_dim * 2
    for path in ar_configs:
        model = _load(tmp_path, path).model
        assert model.tokenizer.latent_dim == latent_dim * 2, path
        assert model.quantizer.embed_dim == latent_dim * 2, path


def _clip_sizes(dataset):
    while dataset.get('type') in ('LatentCacheDataset', 'JointImageVideoDataset'):
        dataset = dataset.dataset
    return dataset.num_frames, (dataset.height, dataset.width)


@pytest.mark.parametrize(
    'path, num_frames, resolution',
    [
        ('configs/videoar_stage1.py', 9, (16, 16)),
        ('configs/videoar_stage3.py', 17, (32, 32)),
        ('configs/ablations/videoar_paper-default.py', 17, (32, 32)),
        ('configs/videoar-t2v_tiny_movingdigits-32x32-17f.py', 17, (32, 32)),
        ('configs/paper/videoar-l_8xb16-200k_ucf101-128x128-17f.py', 17, (128, 128)),
    ],
)
def test_model_and_dataset_clip_settings_agree(path, num_frames, resolution):
    cfg = _load(ROOT, path)
    assert (cfg.model.num_frames, tuple(cfg.model.resolution)) == (num_frames, resolution)
    assert _clip_sizes(cfg.train_dataloader.dataset) == (num_frames, resolution)


def test_stage2_trains_on_the_latents_of_its_clip_length():
    cfg = _load(ROOT, 'configs/videoar_stage2.py')
    latent_frames = cfg.train_dataloader.dataset.dataset.num_latent_frames  # inside the joint set
    assert cfg.model.num_frames == 1 + 4 * (latent_frames - 1) == 9


def test_a_clip_setting_changed_in_the_shared_file_reaches_model_and_data(tmp_path):
    shutil.copytree(os.path.join(ROOT, 'configs'), tmp_path / 'configs')
    clips = tmp_path / 'configs' / '_base_' / 'datasets' / 'moving_digits_clips.py'
    clips.write_text(clips.read_text().replace('num_frames = 17', 'num_frames = 9'))
    for path in ('configs/videoar_stage3.py', 'configs/ablations/videoar_paper-default.py'):
        cfg = _load(tmp_path, path)
        assert cfg.model.num_frames == 9
        assert _clip_sizes(cfg.train_dataloader.dataset)[0] == 9
    tokenizer = _load(tmp_path, TOKENIZER_TINY)
    assert tokenizer.model.input_size[0] == tokenizer.train_dataloader.dataset.num_frames == 9


def test_quick_curriculum_overrides_stages_by_name():
    full = _load(ROOT, 'configs/videoar_curriculum.py')
    quick = _load(ROOT, 'configs/videoar_curriculum_quick.py')
    assert list(quick.stages) == list(full.stages)  # the order of the base, by name
    for name in ('tokenizer', 'stage1', 'stage2', 'stage3'):
        assert quick.stages[name].config == full.stages[name].config
    stage3 = quick.stages.stage3.cfg_options
    assert stage3['train_cfg.max_iters'] == 6
    # options of the base stage are kept, hooks are addressed by type
    assert stage3['custom_hooks.GenerationEvaluationHook.evaluate_at_end'] is False
    assert stage3['custom_hooks.VideoVisualizationHook.interval'] == 6
    real = quick.stages.evaluate.evaluation.real_dataloader
    assert real.batch_size == 10 and real.dataset.length == 20
    assert real.dataset.split == 'val' and real.collate_fn.type == 'video_collate'
