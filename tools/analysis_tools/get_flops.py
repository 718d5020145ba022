"""Parameter count and FLOPs of a config's model on the meta device or CPU.

    python tools/analysis_tools/get_flops.py configs/paper/videoar-l_ucf101-128x128-17f.py --meta

With ``--meta`` the model is built on the meta device (no memory), which is enough to count the
parameters of the paper-sized models; FLOPs need a real forward (small configs).
"""

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

from videoar.engine import launch  # noqa: E402
from videoar.registry import MODELS  # noqa: E402


def count_parameters(model, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def main():
    parser = argparse.ArgumentParser(description='Count parameters (and FLOPs) of a model')
    parser.add_argument('config')
    parser.add_argument('--meta', action='store_true', help='build on the meta device')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    cfg = launch.load_config(args.config, args.cfg_options)
    with DefaultScope.overwrite_default_scope('videoar'):
        if args.meta:
            with torch.device('meta'):
                model = MODELS.build(cfg.model)
        else:
            model = MODELS.build(cfg.model)
    total = count_parameters(model)
    trainable = count_parameters(model, trainable_only=True)
    print(f'parameters: {total / 1e6:.2f}M (trainable {trainable / 1e6:.2f}M)')
    for name, child in model.named_children():
        print(f'  {name}: {count_parameters(child) / 1e6:.2f}M')


if __name__ == '__main__':
    main()
