"""VideoAR.reconstruct: real clips through the tokenizer exactly as the AR model sees them."""

import torch

from videoar.models.sequence import build_teacher_forcing, inputs_from_labels
from videoar.structures import VideoBatch


def _video(seed=0, frames=9):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(2, 3, frames, 16, 24, generator=gen) * 2 - 1


def test_reconstruction_decodes_the_teacher_forcing_targets(tiny_model):
    model = tiny_model().eval()
    video = _video()
    latent = model.encode(video)
    forced = build_teacher_forcing(latent, model.quantizer)
    # the labels the AR model is trained to predict rebuild exactly the reconstructed latent
    inputs, rebuilt = inputs_from_labels(model.quantizer, forced.labels, latent.shape[2])
    torch.testing.assert_close(inputs, forced.inputs, rtol=0, atol=0)
    torch.testing.assert_close(rebuilt, forced.reconstructed, rtol=0, atol=0)
    recon = model.reconstruct(video)
    assert recon.shape == video.shape and recon.abs().max() <= 1
    torch.testing.assert_close(recon, model.decode(forced.reconstructed), rtol=0, atol=0)
    # quantization loses something: the reconstruction is not the decoded continuous latent
    assert not torch.equal(recon, model.decode(latent))


def test_reconstruction_from_cached_latents_equals_from_pixels(tiny_model):
    model = tiny_model().eval()
    video = _video(seed=1)
    cached = VideoBatch.build(batch_size=2, latent=model.encode(video))
    torch.testing.assert_close(model.reconstruct(None, cached), model.reconstruct(video))
