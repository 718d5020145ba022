"""The paper's UCF-101 tokenizer recipe: perceptual loss on (a local weights file, a clear error
without it), inflation from the image-tokenizer stage on (a clear error before that stage ran)."""

import os

import pytest
import torch
from mmengine.config import Config

from videoar.io.checkpoint import CheckpointNotFoundError
from videoar.registry import MODELS
from videoar.utils import ConfigError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VIDEO = 'configs/tokenizer/videoar-tokenizer_ucf101-128x128-17f.py'
IMAGE = 'configs/tokenizer/videoar-image-tokenizer_ucf101-128x128.py'


def load(path):
    return Config.fromfile(os.path.join(ROOT, path))


def test_perceptual_loss_is_on_and_needs_its_local_weights(tmp_path):
    timm = pytest.importorskip('timm')
    model = load(VIDEO).model
    assert model.perceptual.type == 'PerceptualLoss' and model.perceptual_weight > 0
    with pytest.raises(ConfigError, match='data/weights/resnet18.pth.*is not a file'):
        MODELS.build(model.perceptual)
    weights = tmp_path / 'resnet18.pth'
    torch.save(timm.create_model('resnet18', pretrained=False).state_dict(), weights)
    loss = MODELS.build(dict(model.perceptual, weights_path=str(weights)))
    video = torch.rand(1, 3, 2, 32, 32) * 2 - 1
    assert float(loss(video, video)) == 0.0 and float(loss(video, -video)) > 0


def test_paper_tokenizer_inflates_from_the_image_stage(monkeypatch, tmp_path):
    video, image = load(VIDEO).model, load(IMAGE).model
    assert video.inflate_init == 'random' and video.inflate_from.work_dir.endswith(
        'videoar-image-tokenizer_ucf101-128x128'
    )
    # the image stage: the same architecture in 2D, never inflating itself
    assert image.tokenizer.type == 'ImageTokenizer2D' and image.inflate_from is None
    assert {k: v for k, v in image.tokenizer.items() if k != 'type'} == {
        k: v for k, v in video.tokenizer.items() if k != 'type'
    }
    assert image.quantizer == video.quantizer and image.input_size[0] == 1
    # before the image stage ran, building the video tokenizer names the command to run
    monkeypatch.chdir(tmp_path)
    small = dict(base_channels=8, channel_mult=(1, 1, 1, 1), num_res_blocks=1)
    cfg = dict(video, perceptual=None, discriminator=None, tokenizer=dict(video.tokenizer, **small))
    with pytest.raises(CheckpointNotFoundError, match=r'python tools/train.py .*image-tokenizer'):
        MODELS.build(cfg)
