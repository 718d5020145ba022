"""Text-to-video: a tiny text-conditioned VideoAR trains on captioned MovingDigits and samples."""

import json

import pytest
import torch
from torch.utils.data import default_collate

from videoar.datasets import MovingDigits
from videoar.pipelines import GenerationError, generate

# 9 frames of 16 x 16 (3 latent frames), scales 1x1 and 2x2, a byte-level text encoder
TEXT_OVERRIDES = dict(
    quantizer=dict(scale_sizes=[(1, 1), (2, 2)]),
    conditioner=dict(
        type='CharTextConditioner', max_length=28, width=32, depth=2, num_heads=2, drop_prob=0.1
    ),  # fmt: skip
    corrector=dict(type='CrossFrameErrorCorrection'),
    resolution=(16, 16),
)


@pytest.fixture(scope='module')
def trained(tiny_videoar):
    """The tiny text model after a few AdamW steps on 8 captioned clips, and its losses."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # module fixtures run before the function-scoped single_thread
    model = tiny_videoar(seed=0, **TEXT_OVERRIDES)
    data = MovingDigits(split='train', length=8, num_frames=9, height=16, width=16)
    batch = default_collate([data[i] for i in range(8)])
    assert all(c.startswith('digit ') and ' moving ' in c for c in batch['data_samples']['caption'])
    latent = model.encode(batch['inputs'])
    meta = dict(batch['data_samples'], latent=latent)
    params = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(params, lr=3e-3)
    text_before = model.conditioner.token_embed.weight.detach().clone()
    model.train()
    losses = []
    for _ in range(20):
        loss = model(None, meta, mode='loss')['loss']
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(loss.item())
    model.eval()
    torch.set_num_threads(previous)
    return model, losses, text_before


def test_text_model_trains_on_captioned_moving_digits(trained):
    model, losses, text_before = trained
    first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
    assert last < first - 0.05, losses
    # the byte-level text encoder is trained with the model (not frozen)
    assert not torch.equal(model.conditioner.token_embed.weight, text_before)
    assert all(p.requires_grad for p in model.conditioner.parameters())


def test_text_model_samples_from_prompts_through_generate(trained):
    model, _, _ = trained
    prompts = ['digit 3 moving up-left', 'digit 7 moving down']
    out = generate(model, prompts=prompts, num_samples=2, cfg_schedule='DecreasingCFG', seed=1,
                   progress=False)  # fmt: skip
    assert out['videos'].shape == (4, 3, 9, 16, 16)
    assert torch.isfinite(out['videos']).all() and out['videos'].abs().max() <= 1
    assert [c['prompt'] for c in out['conditions']] == [prompts[0]] * 2 + [prompts[1]] * 2
    settings = out['settings']
    assert settings['mode'] == 'text' and settings['prompts'] == prompts
    assert settings['cfg_schedule'] == dict(type='DecreasingCFG', start=5.0, end=3.0)
    json.dumps(settings)  # JSON-able
    again = generate(model, prompts=prompts, num_samples=2, cfg_schedule='DecreasingCFG', seed=1,
                     progress=False)  # fmt: skip
    assert torch.equal(again['videos'], out['videos'])
    # the prompt reaches the model: another prompt with the same seed gives another video
    other = generate(model, prompts=['digit 0 moving right'] * 2, num_samples=2,
                     cfg_schedule='DecreasingCFG', seed=1, progress=False)  # fmt: skip
    assert not torch.equal(other['latents'], out['latents'])


def test_text_model_rejects_classes_and_empty_prompts(trained):
    model, _, _ = trained
    with pytest.raises(GenerationError, match='text-conditional.*give prompts'):
        generate(model, classes=[3], progress=False)
    with pytest.raises(GenerationError, match='prompt 1 is empty'):
        generate(model, prompts=['digit 3', '   '], progress=False)
    with pytest.raises(GenerationError, match='not both'):
        generate(model, prompts=['digit 3'], cfg_scale=2.0, cfg_schedule='DecreasingCFG',
                 progress=False)  # fmt: skip
    with pytest.raises(GenerationError, match='Did you mean: DecreasingCFG'):
        generate(model, prompts=['digit 3'], cfg_schedule='DecreasingCGF', progress=False)
