"""Causality probes of the full model: later frames and finer scales never reach earlier logits."""

import pytest
import torch

from videoar.models.sequence import get_layout

MASKINGS = [
    dict(type='BlockCausalMask'),
    dict(type='SlidingWindowMask', window=1),
    dict(type='RandomFrameMask', drop_prob=0.5),
]


def _random_labels(model, batch, frames, seed):
    layout = get_layout(frames, model.scale_sizes, 0)
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, (batch, layout.video_len, model.latent_dim), generator=gen), layout


def _logits(model, labels, cond, training):
    model.train(training)
    torch.manual_seed(0)  # the random frame mask draws the same mask in both calls
    with torch.no_grad():
        return model.forward_logits(labels=labels, condition=cond)


@pytest.mark.parametrize('masking', MASKINGS, ids=lambda m: m['type'])
@pytest.mark.parametrize('cond_mode', ['prefix', 'adaln'])
def test_changing_later_frames_leaves_earlier_frame_logits_unchanged(
    tiny_model, masking, cond_mode
):
    model = tiny_model(masking=masking, transformer=dict(cond_mode=cond_mode))
    training = masking['type'] == 'RandomFrameMask'
    labels, layout = _random_labels(model, 2, model.latent_frames, seed=0)
    cond = model.conditioner.eval()({'label': torch.tensor([3, 5])}, 2, 'cpu')
    base = _logits(model, labels, cond, training)
    tpf = layout.tokens_per_frame
    for t in range(layout.num_frames - 1):
        changed = labels.clone()
        changed[:, (t + 1) * tpf :] = 1 - changed[:, (t + 1) * tpf :]
        out = _logits(model, changed, cond, training)
        end = (t + 1) * tpf
        torch.testing.assert_close(out[:, :end], base[:, :end], atol=1e-6, rtol=0)
        assert (out[:, end:] - base[:, end:]).abs().max() > 1e-3  # later frames do change


@pytest.mark.parametrize('cond_mode', ['prefix', 'adaln'])
def test_finer_scales_of_the_same_frame_do_not_reach_coarser_scales(tiny_model, cond_mode):
    model = tiny_model(transformer=dict(cond_mode=cond_mode)).eval()
    layout = model.layout(model.latent_frames)
    video = get_layout(model.latent_frames, model.scale_sizes, 0)
    cond = model.conditioner({'label': torch.tensor([1])}, 1, 'cpu')
    gen = torch.Generator().manual_seed(0)
    inputs = torch.randn(1, video.video_len, model.latent_dim, generator=gen)
    with torch.no_grad():
        base = model.logits_from_inputs(inputs, cond, layout)
    t = 1
    for k_changed in range(1, model.num_scales):
        changed = inputs.clone()
        sl = video.video_block_slice(t, k_changed)
        changed[:, sl] += torch.randn(1, sl.stop - sl.start, model.latent_dim, generator=gen)
        with torch.no_grad():
            out = model.logits_from_inputs(changed, cond, layout)
        # everything before block (t, k_changed) in sequence order is unchanged ...
        torch.testing.assert_close(out[:, : sl.start], base[:, : sl.start], atol=1e-6, rtol=0)
        # ... and the changed block itself does see its new input
        assert (out[:, sl] - base[:, sl]).abs().max() > 1e-3


def test_label_change_at_scale_k_only_affects_later_blocks(tiny_model):
    model = tiny_model().eval()
    labels, layout = _random_labels(model, 1, model.latent_frames, seed=1)
    cond = model.conditioner({'label': torch.tensor([2])}, 1, 'cpu')
    base = _logits(model, labels, cond, False)
    sl = layout.video_block_slice(1, 1)
    changed = labels.clone()
    changed[:, sl] = 1 - changed[:, sl]
    out = _logits(model, changed, cond, False)
    # the labels of block (1, 1) are inputs only from block (1, 2) on
    torch.testing.assert_close(out[:, : sl.stop], base[:, : sl.stop], atol=1e-6, rtol=0)
    assert (out[:, sl.stop :] - base[:, sl.stop :]).abs().max() > 1e-3
