"""Print a config after `_base_` inheritance and --cfg-options: python tools/analysis_tools/print_config.py CONFIG"""

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmengine.config import DictAction  # noqa: E402

from videoar.engine import launch  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description='Print the full config')
    parser.add_argument('config')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    cfg = launch.load_config(args.config, args.cfg_options)  # hooks by type too
    print(cfg.pretty_text)


if __name__ == '__main__':
    main()
