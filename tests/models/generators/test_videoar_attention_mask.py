"""The model's attention masks: ``None`` (no mask argument) exactly where the mask is all-True,
built once per (layout, range), and equal to the dense mask it replaces."""

import torch


def test_sampling_block_masks_are_none_when_all_true_and_cached(tiny_model):
    model = tiny_model().eval()
    layout = model.layout(model.latent_frames)
    cond = model.conditioner({'label': torch.tensor([1, 2])}, 2, torch.device('cpu'))
    full = model.masking.static_mask(layout)[0]
    for t, k in ((0, 0), (1, 2), (model.latent_frames - 1, model.num_scales - 1)):
        block = layout.block_slice(t, k)
        mask = model.attention_mask(layout, cond, block.start, block.stop)
        dense = full[block.start : block.stop, : block.stop]
        # a sampled block sees everything before it and itself: all-True, so no mask is passed
        assert bool(dense.all()) and mask is None
    whole = model.attention_mask(layout, cond)
    assert whole is not None and torch.equal(whole[0], full)
    assert model.attention_mask(layout, cond) is whole  # built once per (layout, range)


def test_training_forward_with_cached_mask_equals_dense_mask(tiny_model):
    model = tiny_model().eval()
    layout = model.layout(model.latent_frames)
    cond = model.conditioner({'label': torch.tensor([3])}, 1, torch.device('cpu'))
    x = torch.randn(1, layout.total_len, model.dim)
    dense = model.masking.static_mask(layout).clone()
    with torch.no_grad():
        cached = model.forward_blocks(x, cond, layout)
        explicit = model.forward_blocks(x, cond, layout, mask=dense)
    torch.testing.assert_close(cached, explicit, rtol=0, atol=0)
