"""The frozen tokenizer is loaded from a VideoTokenizer checkpoint and survives init_weights."""

import torch

from videoar.pipelines import init_model
from videoar.registry import MODELS


def _tokenizer_checkpoint(tmp_path, config):
    torch.manual_seed(123)
    tok = MODELS.build(dict(type='VideoTokenizer', tokenizer=config['tokenizer'],
                            quantizer=config['quantizer']))  # fmt: skip
    path = tmp_path / 'tokenizer.pth'
    torch.save({'state_dict': tok.state_dict(), 'meta': {}}, path)
    return tok, str(path)


def test_tokenizer_weights_come_from_the_checkpoint_and_stay_frozen(
    tiny_model, tiny_videoar_config, tmp_path
):
    tok, path = _tokenizer_checkpoint(tmp_path, tiny_videoar_config())
    model = tiny_model(tokenizer_checkpoint=path, randomise=False)
    for key, value in tok.tokenizer.state_dict().items():
        assert torch.equal(model.tokenizer.state_dict()[key], value), key
    for key, value in tok.quantizer.state_dict().items():
        assert torch.equal(model.quantizer.state_dict()[key], value), key
    assert not any(p.requires_grad for p in model.tokenizer.parameters())
    model.init_weights()  # what mmengine's Runner calls before training
    for key, value in tok.tokenizer.state_dict().items():
        assert torch.equal(model.tokenizer.state_dict()[key], value), key
    video = torch.rand(1, 3, 9, 16, 24) * 2 - 1
    torch.testing.assert_close(model.encode(video), tok.tokenizer.encode(video))


def test_init_model_with_a_full_checkpoint_does_not_need_the_tokenizer_file(
    tiny_videoar_config, tmp_path
):
    tok, path = _tokenizer_checkpoint(tmp_path, tiny_videoar_config())
    cfg = dict(model=tiny_videoar_config(tokenizer_checkpoint=path))
    model = init_model(cfg)
    full = tmp_path / 'videoar.pth'
    torch.save({'state_dict': model.state_dict()}, full)
    cfg['model']['tokenizer_checkpoint'] = str(tmp_path / 'moved_away.pth')  # does not exist
    loaded = init_model(cfg, str(full))
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
