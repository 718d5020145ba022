"""Every tool that loads a checkpoint refuses a pickle that would run code, and never runs it.

The payload's unpickling would create a marker file; each tool must fail and the marker must not
exist afterwards (the property that matters whatever torch build is installed).
"""

import os

import pytest
import torch

from videoar.pipelines import init_model

TOY_CONFIG = os.path.join('tests', 'fixtures', 'toy_train_config.py')


class CreatesFile:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


#: what tools/test.py measures for the tiny generator (it loads the checkpoint first)
HOOK = dict(type='GenerationEvaluationHook', metrics=[dict(type='PSNR')], num_samples=1,
            real_dataloader=dict(dataset=dict(type='MovingDigits', length=1, num_frames=9,
                                              height=16, width=24)))  # fmt: skip


@pytest.fixture
def tiny_config(tmp_path, tiny_videoar_config):
    path = tmp_path / 'tiny.py'
    lines = ["default_scope = 'videoar'", f'model = {tiny_videoar_config()!r}',
             f'custom_hooks = [{HOOK!r}]']  # fmt: skip
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def _poison(tmp_path, state) -> tuple[str, str]:
    marker = tmp_path / 'pwned'
    path = tmp_path / 'poisoned.pth'
    torch.save({'state_dict': state, 'meta': {'payload': CreatesFile(str(marker))}}, path)
    return str(path), str(marker)


COMMANDS = {
    'generate': lambda cfg, ckpt, out: ['tools/generate.py', cfg, ckpt, '--classes', '1',
                                        '--out', out],
    'test': lambda cfg, ckpt, out: ['tools/test.py', cfg, ckpt, '--work-dir', out],
    'train --resume': lambda cfg, ckpt, out: ['tools/train.py', TOY_CONFIG, '--work-dir', out,
                                              '--resume', ckpt],
    'train load_from': lambda cfg, ckpt, out: ['tools/train.py', TOY_CONFIG, '--work-dir', out,
                                               '--cfg-options', f'load_from={ckpt}'],
}  # fmt: skip


@pytest.mark.parametrize('tool', sorted(COMMANDS))
def test_tools_refuse_a_code_running_checkpoint(tool, tmp_path, tiny_config, run_tool):
    torch.manual_seed(0)
    checkpoint, marker = _poison(tmp_path, init_model(tiny_config).state_dict())
    proc = run_tool(*COMMANDS[tool](tiny_config, checkpoint, str(tmp_path / 'out')))
    assert proc.returncode != 0, proc.stdout[-2000:]
    assert not os.path.exists(marker), f'{tool} ran the pickled payload'
    assert 'poisoned.pth' in proc.stderr and 'allowlist' in proc.stderr


def test_the_latent_cache_refuses_a_code_running_tokenizer_checkpoint(tmp_path, tiny_config):
    from videoar.datasets import LatentCacheDataset

    torch.manual_seed(0)
    model = init_model(tiny_config)
    state = {f'tokenizer.{k}': v for k, v in model.tokenizer.state_dict().items()}
    checkpoint, marker = _poison(tmp_path, state)
    with pytest.raises(Exception, match='allowlist'):
        LatentCacheDataset(
            dict(type='MovingDigits', split='val', length=2, num_frames=9, height=16, width=24),
            dict(model.cfg.model.tokenizer),
            checkpoint=checkpoint,
            cache_dir=str(tmp_path / 'cache'),
        )
    assert not os.path.exists(marker)
