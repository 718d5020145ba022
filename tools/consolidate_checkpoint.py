"""Gather a sharded (FSDP2 / DCP) checkpoint into one ordinary checkpoint file.

    python tools/consolidate_checkpoint.py WORK_DIR/iter_N.pth [OUT.pth] [--keep-optimizer]

``iter_N.pth`` is the file an ``FSDP2Runner`` run writes next to its ``iter_N.dcp/`` directory
(``videoar/engine/fsdp/dcp_checkpoint.py``). The output (default ``iter_N_full.pth``) holds the
full ``state_dict`` and the run's meta, and loads in ``tools/test.py`` and ``tools/generate.py``
(and as ``load_from`` of any run). No process group is needed: run it on one CPU process.
"""

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from videoar.engine.fsdp import consolidate_checkpoint  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Consolidate a sharded videoar checkpoint')
    parser.add_argument('checkpoint', help='the .pth an FSDP2 run wrote (next to its .dcp dir)')
    parser.add_argument('out', nargs='?', help='output file (default: <checkpoint>_full.pth)')
    parser.add_argument(
        '--keep-optimizer',
        action='store_true',
        help='also store the (FQN-keyed) optimizer state under "sharded_optimizer"',
    )
    return parser.parse_args(argv)


def main(argv=None) -> str:
    args = parse_args(argv)
    out = args.out or osp.splitext(args.checkpoint)[0] + '_full.pth'
    try:
        count = consolidate_checkpoint(args.checkpoint, out, keep_optimizer=args.keep_optimizer)
    except (ValueError, FileNotFoundError) as err:
        print(f'[videoar] error: {err}', file=sys.stderr)
        raise SystemExit(2) from err
    print(f'[videoar] consolidated {count} tensors of {args.checkpoint} into {out}')
    return out


if __name__ == '__main__':
    main()
