"""KV-cached sampling: equals full forwards, CFG batching, seeds, continuation, training inputs."""

import pytest
import torch

import videoar.models.pos_encodings  # noqa: F401  (registers every positional encoding)
from videoar.models.conditioners import Condition
from videoar.models.sampling.sampler import sample_video
from videoar.models.sequence import build_teacher_forcing, get_layout
from videoar.registry import POS_ENCODINGS

LABELS = {'label': torch.tensor([4, 7])}


def _full_logits(model, labels, cond):
    with torch.no_grad():
        return model.forward_logits(labels=labels, condition=cond)


@pytest.mark.parametrize('pos_encoding', sorted(POS_ENCODINGS.module_dict))
def test_kv_cached_sampling_matches_a_full_forward_for_every_pos_encoding(tiny_model, pos_encoding):
    model = tiny_model(pos_encoding=dict(type=pos_encoding)).eval()
    out = sample_video(model, LABELS, seed=0, return_logits=True, decode=False)
    assert out['logits'].shape == (2, out['labels'].shape[1], model.quantizer.logits_per_token)
    cond = model.conditioner(LABELS, 2, 'cpu')
    full = _full_logits(model, out['labels'], cond)
    torch.testing.assert_close(out['logits'], full, atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize(
    'overrides',
    [
        dict(transformer=dict(cond_mode='adaln', qk_norm=True)),
        dict(transformer=dict(cond_mode='adaln', adaln_mode='block'),
             pos_encoding=dict(type='LearnedAbsolutePE')),
        dict(masking=dict(type='SlidingWindowMask', window=1)),
        dict(scale_embed_every_block=True, word_embed_norm=True),
    ],
    ids=['adaln', 'adaln-block-learned', 'sliding-window', 'scale-embed-every-block'],
)  # fmt: skip
def test_kv_cached_sampling_matches_full_forward_for_model_variants(tiny_model, overrides):
    model = tiny_model(**overrides).eval()
    out = sample_video(model, LABELS, seed=1, return_logits=True, decode=False)
    cond = model.conditioner(LABELS, 2, 'cpu')
    torch.testing.assert_close(
        out['logits'], _full_logits(model, out['labels'], cond), atol=2e-5, rtol=1e-4
    )


@pytest.mark.parametrize('cond_mode', ['prefix', 'adaln'])
def test_batched_cfg_equals_two_separate_forwards(tiny_model, cond_mode):
    model = tiny_model(transformer=dict(cond_mode=cond_mode)).eval()
    gamma = 2.5
    out = sample_video(model, LABELS, cfg_scale=gamma, seed=3, return_logits=True, decode=False)
    assert out['cfg_table'][0][0] == gamma
    cond = model.conditioner(LABELS, 2, 'cpu')
    null = model.conditioner.null(2, 'cpu')
    cond_logits = _full_logits(model, out['labels'], cond)
    null_logits = _full_logits(model, out['labels'], null)
    assert (cond_logits - null_logits).abs().max() > 1e-3  # the guidance term is not trivial
    expected = null_logits + gamma * (cond_logits - null_logits)
    torch.testing.assert_close(out['logits'], expected, atol=5e-5, rtol=1e-4)


def test_cfg_schedule_object_and_config_are_used_per_block(tiny_model):
    model = tiny_model().eval()

    class PerFrame:
        def __call__(self, t, k, num_frames, num_scales):
            return 1.0 + t + 0.5 * k

        def table(self, num_frames, num_scales):
            return [[self(t, k, num_frames, num_scales) for k in range(num_scales)]
                    for t in range(num_frames)]  # fmt: skip

        def is_trivial(self, num_frames, num_scales):
            return False

    out = sample_video(
        model, LABELS, cfg_schedule=PerFrame(), seed=0, return_logits=True, decode=False
    )
    assert out['cfg_table'][2][1] == 3.5
    cond = model.conditioner(LABELS, 2, 'cpu')
    c, u = (_full_logits(model, out['labels'], x) for x in (cond, model.conditioner.null(2, 'cpu')))
    layout = model.layout(model.latent_frames)
    sl = layout.video_block_slice(2, 1)
    torch.testing.assert_close(
        out['logits'][:, sl], (u + 3.5 * (c - u))[:, sl], atol=5e-5, rtol=1e-4
    )
    from_cfg = sample_video(model, LABELS, cfg_schedule=dict(type='ConstantCFG', scale=2.0), seed=0,
                            decode=False)  # fmt: skip
    assert from_cfg['cfg_table'][0][0] == 2.0


def test_seeds_make_sampling_deterministic(tiny_model):
    model = tiny_model().eval()
    a = sample_video(model, LABELS, cfg_scale=2.0, seed=11, top_p=0.9)
    b = sample_video(model, LABELS, cfg_scale=2.0, seed=11, top_p=0.9)
    c = sample_video(model, LABELS, cfg_scale=2.0, seed=12, top_p=0.9)
    assert torch.equal(a['labels'], b['labels']) and torch.equal(a['video'], b['video'])
    assert not torch.equal(a['labels'], c['labels'])
    gen = torch.Generator().manual_seed(11)
    d = sample_video(model, LABELS, cfg_scale=2.0, generator=gen, top_p=0.9)
    assert torch.equal(a['labels'], d['labels'])
    assert a['video'].shape == (2, 3, 9, 16, 24)
    assert a['video'].abs().max() <= 1.0
    assert a['num_sampling_steps'] == model.num_sampling_steps == 3 * 3


def test_greedy_sampling_picks_the_argmax_bits(tiny_model):
    model = tiny_model().eval()
    out = sample_video(model, LABELS, temperature=0.0, return_logits=True, decode=False)
    argmax = out['logits'].unflatten(-1, (-1, 2)).argmax(-1)
    assert torch.equal(out['labels'], argmax)


def test_sampled_latent_is_the_sum_of_the_sampled_labels_codes(tiny_model):
    """The sampler's latent of frame t is the sum over scales of its drawn labels' codes."""
    model = tiny_model().eval()
    out = sample_video(model, LABELS, seed=2, decode=False)
    layout = get_layout(model.latent_frames, model.scale_sizes, 0)
    q = model.quantizer
    for t in range(model.latent_frames):
        expected = 0
        for k, (h, w) in enumerate(model.scale_sizes):
            block = out['labels'][:, layout.video_block_slice(t, k)]
            codes = q.labels_to_codes(block.reshape(2, h, w, *block.shape[2:]), k)
            expected = expected + q.codes_to_residual(codes, k)
        torch.testing.assert_close(out['latent'][:, :, t], expected, atol=1e-6, rtol=1e-6)


def test_continuation_keeps_the_given_frames_and_matches_a_full_forward(tiny_model):
    model = tiny_model().eval()
    first = sample_video(model, LABELS, seed=5, decode=False)
    tpf = model.layout(1).tokens_per_frame
    given = first['labels'][:, :tpf]  # frame 0
    out = sample_video(model, LABELS, prefix_labels=given, seed=6, return_logits=True)
    assert torch.equal(out['labels'][:, :tpf], given)
    assert out['num_sampling_steps'] == (model.latent_frames - 1) * model.num_scales
    torch.testing.assert_close(out['latent'][:, :, 0], first['latent'][:, :, 0])
    cond = model.conditioner(LABELS, 2, 'cpu')
    full = _full_logits(model, out['labels'], cond)
    torch.testing.assert_close(out['logits'], full[:, tpf:], atol=2e-5, rtol=1e-4)
    # the same from a continuous latent: its quantized labels become the given frames
    latent = torch.randn(2, model.latent_dim, 1, *model.latent_size)
    from_latent = sample_video(model, LABELS, prefix_latent=latent, seed=6, decode=False)
    expected = build_teacher_forcing(latent, model.quantizer).labels
    assert torch.equal(from_latent['labels'][:, :tpf], expected)


def test_unconditional_and_explicit_condition_sampling(tiny_model):
    model = tiny_model().eval()
    uncond = sample_video(model, batch_size=3, seed=0, decode=False)
    null = model.conditioner.null(3, 'cpu')
    explicit = sample_video(model, condition=null, seed=0, decode=False)
    assert torch.equal(uncond['labels'], explicit['labels'])
    assert isinstance(null, Condition)


def test_predict_mode_returns_one_dict_per_sample(tiny_model):
    model = tiny_model(sample_cfg=dict(cfg_scale=1.5, seed=0))
    video = torch.rand(2, 3, 9, 16, 24) * 2 - 1
    meta = {'label': torch.tensor([1, 2]), 'caption': ['a', 'b'], 'index': torch.tensor([0, 1])}
    outputs = model(video, meta, mode='predict')
    assert len(outputs) == 2
    assert outputs[1]['label'] == 2 and outputs[1]['caption'] == 'b'
    assert outputs[0]['pred_video'].shape == (3, 9, 16, 24)
    assert torch.equal(outputs[0]['gt_video'], video[0])
    assert outputs[0]['num_sampling_steps'] == 9
    again = model(video, meta, mode='predict')
    assert torch.equal(again[0]['pred_video'], outputs[0]['pred_video'])
    assert model.training  # sampling restores the mode
