"""Prepare a checkpoint for release: weights only, named by their hash (as OpenMMLab's tool).

    python tools/analysis_tools/publish_model.py \\
        work_dirs/videoar_curriculum/stage3/iter_1000.pth videoar_stage3.pth
    # -> videoar_stage3-<first 8 hex digits of its SHA-256>.pth

The input may also be a run's work dir (its final checkpoint). The output keeps ``state_dict``
(with ``--ema``, the EMA weights mmengine keeps under ``ema_state_dict`` replace them) and a
small ``meta`` (iteration, epoch, mmengine and videoar versions, the config text when the
checkpoint holds it); the optimizer state, the message hub, the random states and the
scheduler state are dropped. The file is written with ``torch.save`` and loads with
``weights_only=True`` (``videoar.io.checkpoint.load_checkpoint_safe``, ``tools/generate.py``).
"""

import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402

import videoar  # noqa: E402
from videoar.engine import launch  # noqa: E402
from videoar.io.checkpoint import (  # noqa: E402
    find_final_checkpoint,
    load_checkpoint_safe,
)
from videoar.io.records import atomic_write_bytes, file_sha256  # noqa: E402
from videoar.utils import ConfigError  # noqa: E402

META_KEYS = ('epoch', 'iter', 'mmengine_version', 'cfg', 'experiment_name', 'time')


def ema_weights(checkpoint: dict) -> dict:
    """The EMA model's weights of an mmengine checkpoint (``module.`` prefix removed)."""
    ema = checkpoint.get('ema_state_dict')
    if not ema:
        raise ConfigError('--ema: the checkpoint holds no ema_state_dict (EMAHook was off).')
    out = {}
    for key, value in ema.items():
        if key.startswith('module.'):
            out[key[len('module.') :]] = value
    return out


def publish(source: str, out: str, use_ema: bool = False) -> str:
    """Write the released file; returns its path (``<out stem>-<sha8>.pth``)."""
    if osp.isdir(source):
        source = find_final_checkpoint(source)
    if not osp.isfile(source):
        raise ConfigError(f'checkpoint {source!r} does not exist.')
    checkpoint = load_checkpoint_safe(source, map_location='cpu')
    state_dict = checkpoint.get('state_dict', checkpoint)
    if use_ema:
        state_dict = ema_weights(checkpoint)
    meta = {k: v for k, v in (checkpoint.get('meta') or {}).items() if k in META_KEYS}
    meta.update(videoar_version=getattr(videoar, '__version__', None), source=osp.abspath(source))
    stem = osp.splitext(out)[0]
    tmp = stem + '.unhashed.pth'
    os.makedirs(osp.dirname(osp.abspath(tmp)), exist_ok=True)
    torch.save(dict(state_dict=state_dict, meta=meta), tmp)
    final = f'{stem}-{file_sha256(tmp)[:8]}.pth'
    with open(tmp, 'rb') as f:
        atomic_write_bytes(final, f.read())
    os.remove(tmp)
    return final


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint', help='a checkpoint file or a run work dir')
    parser.add_argument('out', help='output file name; the hash is added before .pth')
    parser.add_argument('--ema', action='store_true', help='publish the EMA weights')
    args = parser.parse_args(argv)
    final = publish(args.checkpoint, args.out, args.ema)
    before, after = osp.getsize(find_or_file(args.checkpoint)), osp.getsize(final)
    print(
        f'[videoar] published {final} ({after / 1e6:.2f} MB; the checkpoint: {before / 1e6:.2f} MB)'
    )
    return final


def find_or_file(path: str) -> str:
    return find_final_checkpoint(path) if osp.isdir(path) else path


if __name__ == '__main__':
    launch.run_main(main)
