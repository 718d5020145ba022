"""Checks of what pluggable components return, at the place their output is used.

A component from a plugin (a corrector, a masking, a positional encoding) that returns the
wrong thing fails here with its registered name, what it returned and what was expected
(see docs/interfaces.md), instead of a ``TypeError`` deep inside the model. The checks look at
types, shapes and (for flip probabilities) the value range; they cost microseconds per call.
"""

from __future__ import annotations

import torch


class ComponentContractError(TypeError):
    """A component returned something its interface does not allow."""


def _describe(value) -> str:
    if isinstance(value, torch.Tensor):
        return f'a {value.dtype} tensor of shape {tuple(value.shape)}'
    return f'{type(value).__name__} {value!r}'[:120]


def _fail(component, method: str, value, expected: str, described: str | None = None) -> None:
    name = type(component).__name__
    raise ComponentContractError(
        f'{name}.{method} returned {described or _describe(value)}; expected {expected} '
        f'(the {name} component breaks its interface, see docs/interfaces.md).'
    )


def check_flip_probs(component, value, shape: tuple[int, ...]) -> torch.Tensor:
    """``sample_flip_probs``: a floating tensor ``(B, T', K)`` with values in ``[0, 1]``."""
    expected = f"a float tensor of shape (B, T', K) = {tuple(shape)} with values in [0, 1]"
    if not isinstance(value, torch.Tensor) or not value.is_floating_point():
        _fail(component, 'sample_flip_probs', value, expected)
    if tuple(value.shape) != tuple(shape):
        _fail(component, 'sample_flip_probs', value, expected)
    if value.device.type != 'meta' and bool(((value < 0) | (value > 1) | value.isnan()).any()):
        low, high = float(value.min()), float(value.max())
        described = f'values in [{low:.3g}, {high:.3g}]'
        _fail(component, 'sample_flip_probs', value, expected, described)
    return value


def check_mask(component, value, rows: int, length: int) -> torch.Tensor:
    """A masking's output: a bool tensor ``(B|1, L, L)`` with ``L`` the sequence length."""
    expected = f'a bool tensor of shape ({rows} or 1, {length}, {length})'
    if not isinstance(value, torch.Tensor) or value.dtype != torch.bool or value.dim() != 3:
        _fail(component, 'forward', value, expected)
    if value.shape[0] not in (1, rows) or tuple(value.shape[1:]) != (length, length):
        _fail(component, 'forward', value, expected)
    return value


def check_embedding(component, value, length: int, dim: int):
    """``embedding``: ``None`` or a tensor ``(L, C)``."""
    if value is None:
        return value
    if not isinstance(value, torch.Tensor) or tuple(value.shape) != (length, dim):
        _fail(component, 'embedding', value, f'None or a tensor of shape ({length}, {dim})')
    return value


def check_rotary(component, value, length: int, head_dim: int):
    """``rotary``: ``None`` or ``(cos, sin)``, each ``(L, head_dim)``."""
    if value is None:
        return value
    expected = f'None or (cos, sin), each a tensor of shape ({length}, {head_dim})'
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        _fail(component, 'rotary', value, expected)
    for part in value:
        if not isinstance(part, torch.Tensor) or tuple(part.shape) != (length, head_dim):
            _fail(component, 'rotary', part, expected)
    return value


__all__ = [
    'ComponentContractError',
    'check_embedding',
    'check_flip_probs',
    'check_mask',
    'check_rotary',
]
