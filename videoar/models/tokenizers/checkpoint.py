"""Load a trained :class:`VideoTokenizer` checkpoint into a frozen tokenizer / quantizer pair."""

from __future__ import annotations

import torch
from torch import nn


def _load(path: str):
    try:
        from videoar.engine.compat import load_checkpoint_safe
    except ImportError:  # pragma: no cover - the engine compat layer is missing
        return torch.load(path, map_location='cpu', weights_only=True)
    return load_checkpoint_safe(path, map_location='cpu')


def _sub_state(state: dict, prefix: str) -> dict:
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def freeze(module: nn.Module) -> nn.Module:
    """``eval()`` and ``requires_grad_(False)``."""
    module.eval()
    module.requires_grad_(False)
    return module


def load_tokenizer_checkpoint(
    path: str, tokenizer: nn.Module, quantizer: nn.Module, freeze_modules: bool = True
):
    """Load the ``tokenizer.`` / ``quantizer.`` weights of a VideoTokenizer checkpoint.

    Args:
        path: an mmengine checkpoint (``ckpt['state_dict']``) or a bare state dict, loaded with
            ``weights_only=True`` (``videoar.engine.compat.load_checkpoint_safe``).
        tokenizer, quantizer: built modules of the same config (strictly loaded).
        freeze_modules: put both in eval mode without gradients (the AR model's frozen pair).

    Returns:
        ``(tokenizer, quantizer)``.

    Raises:
        KeyError: the checkpoint holds no ``tokenizer.`` or no ``quantizer.`` weights.
        RuntimeError: a strict-load mismatch (a different config).
    """
    ckpt = _load(path)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt
    for prefix, module in (('tokenizer.', tokenizer), ('quantizer.', quantizer)):
        sub = _sub_state(state, prefix)
        own = module.state_dict()
        if not sub and own:
            raise KeyError(
                f'{path!r} holds no {prefix!r} weights; is it a VideoTokenizer checkpoint? '
                f'(first keys: {list(state)[:5]})'
            )
        try:
            module.load_state_dict(sub, strict=True)
        except RuntimeError as err:
            raise RuntimeError(
                f'{path!r}: the {prefix[:-1]} weights do not fit the configured '
                f'{type(module).__name__} (build it from the config it was trained with). {err}'
            ) from err
        if freeze_modules:
            freeze(module)
    return tokenizer, quantizer
