"""A variable-length, padded prefix (as text encoders give) works through loss and sampling."""

import torch
from torch import nn

from videoar.models.conditioners import BaseConditioner, Condition
from videoar.models.sampling.sampler import sample_video
from videoar.models.sequence import get_layout


class ToyTextConditioner(BaseConditioner):
    """Up to 3 'word' tokens per sample, ``-1`` = padding (stands in for a text encoder)."""

    prefix_len = 3

    def __init__(self, embed_dim: int, drop_prob: float = 0.0) -> None:
        super().__init__(embed_dim, drop_prob)
        self.words = nn.Embedding(20, embed_dim)
        self.null_tokens = nn.Parameter(torch.randn(self.prefix_len, embed_dim))

    def encode(self, batch, device):
        tokens = torch.as_tensor(batch.get('tokens'), device=device)
        mask = tokens >= 0
        prefix = self.words(tokens.clamp(min=0)) * mask[..., None]
        pooled = prefix.sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
        return Condition(prefix, mask, pooled)

    def null(self, batch_size, device):
        prefix = self.null_tokens.expand(batch_size, -1, -1)
        mask = torch.ones(batch_size, self.prefix_len, dtype=torch.bool, device=device)
        return Condition(prefix, mask, prefix.mean(1))


TOKENS = {'tokens': torch.tensor([[1, 2, -1], [3, -1, -1]])}


def _labels(model, seed=0):
    layout = get_layout(model.latent_frames, model.scale_sizes, 0)
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, (2, layout.video_len, model.latent_dim), generator=gen)


def test_padded_prefix_tokens_are_invisible(tiny_model):
    model = tiny_model(conditioner=dict(type=ToyTextConditioner)).eval()
    assert model.prefix_len == 3
    cond = model.conditioner(TOKENS, 2, 'cpu')
    labels = _labels(model)
    with torch.no_grad():
        base = model.forward_logits(labels=labels, condition=cond)
        noisy = Condition(cond.prefix.clone(), cond.prefix_mask, cond.pooled)
        noisy.prefix[~cond.prefix_mask] = torch.randn(int((~cond.prefix_mask).sum()), model.dim)
        padded_changed = model.forward_logits(labels=labels, condition=noisy)
        real = Condition(cond.prefix.clone(), cond.prefix_mask, cond.pooled)
        real.prefix[0, 1] += 1.0  # a real token of sample 0
        real_changed = model.forward_logits(labels=labels, condition=real)
    torch.testing.assert_close(padded_changed, base, atol=1e-6, rtol=0)
    assert (real_changed[0] - base[0]).abs().max() > 1e-3
    torch.testing.assert_close(real_changed[1], base[1], atol=1e-6, rtol=0)


def test_padded_prefix_sampling_matches_full_forwards_with_cfg(tiny_model):
    model = tiny_model(conditioner=dict(type=ToyTextConditioner)).eval()
    out = sample_video(model, TOKENS, cfg_scale=2.0, seed=0, return_logits=True, decode=False)
    cond = model.conditioner(TOKENS, 2, 'cpu')
    null = model.conditioner.null(2, 'cpu')
    with torch.no_grad():
        c = model.forward_logits(labels=out['labels'], condition=cond)
        u = model.forward_logits(labels=out['labels'], condition=null)
    torch.testing.assert_close(out['logits'], u + 2.0 * (c - u), atol=5e-5, rtol=1e-4)
    loss = model.train()(torch.rand(2, 3, 9, 16, 24) * 2 - 1, TOKENS, mode='loss')['loss']
    assert torch.isfinite(loss)
