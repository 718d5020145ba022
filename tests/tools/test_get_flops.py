"""get_flops.py on the meta device: fake tensors, the same FLOPs as a real build, no weights."""

import os
import resource

import torch
from torch._subclasses.fake_tensor import FakeTensorMode

from videoar.engine import launch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: a tiny stage-3 model (the shipped config with small sizes)
TINY = {'model.transformer.dim': 32, 'model.transformer.depth': 1, 'model.transformer.num_heads': 2}


def test_meta_counts_the_same_flops_as_a_real_build(tmp_path, load_tool):
    tool = load_tool('tools/analysis_tools/get_flops.py')
    config = os.path.join(REPO, 'configs', 'videoar_stage3.py')
    cfg = tool.model_config(launch.load_config(config, dict(TINY)), None)
    real_model = tool.build_model(cfg, 'cpu')  # real weights first (the layout caches masks)
    scale = float(real_model.sample_cfg['cfg_scale'])
    real = tool.measure(real_model, 'cpu', scale, tool.count_flops_fake)
    fv = tool.measure(real_model, 'cpu', scale)  # fvcore on the real build
    fake = tool.main([config, '--device', 'meta', '--cfg-options']
                     + [f'{k}={v}' for k, v in TINY.items()])  # fmt: skip
    assert fake['flop_counter'] == 'torch FlopCounterMode on fake tensors'
    assert fake['cfg_scale'] == scale
    for key in ('train_forward', 'tokenizer_encode', 'generate_video'):
        assert fake[key] == real[key] > 0, key
    assert fake['parameters'] == sum(p.numel() for p in real_model.parameters())
    # torch's counter sees matrix products, convolutions and attention; fvcore a few more ops
    assert 0.5 < fake['train_forward'] / fv['train_forward'] <= 1.0


def test_the_4b_paper_model_counts_without_its_weights(load_tool):
    tool = load_tool('tools/analysis_tools/get_flops.py')
    config = os.path.join(
        REPO, 'configs', 'paper', 'videoar-4b_8xb8-200k_ucf101-128x128-17f_fsdp2.py'
    )
    cfg = tool.model_config(launch.load_config(config), None)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with FakeTensorMode(allow_non_fake_inputs=True):
        model = tool.build_model(cfg, 'cpu')
        params = tool.count_parameters(model)
        latent = torch.zeros(1, model.latent_dim, model.latent_frames, *model.latent_size)
        flops, _ = tool.count_flops_fake(
            model, lambda z: model.forward_logits(latent=z, data_samples={'label': torch.zeros(
                1, dtype=torch.long)}), (latent,))  # fmt: skip
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert params > 3e9 and flops > 1e12
    assert grown_mb < 1500, grown_mb  # fp32 weights alone would be > 12 GB
