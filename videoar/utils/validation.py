"""Build-time validation: bad configs fail before training with a message saying how to fix them.

Every model and dataset calls these helpers in its ``__init__`` so that an impossible shape or an
unknown key is caught when the Runner builds it, not at iteration 1000.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable, Mapping, Sequence


class ConfigError(ValueError):
    """A configuration value that cannot work. The message says what would be right."""


def _suggest(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.5)
    return f' (did you mean {", ".join(repr(c) for c in close)}?)' if close else ''


def check_known_keys(cfg: Mapping, allowed: Iterable[str], where: str) -> None:
    """Raise :class:`ConfigError` if ``cfg`` holds a key that ``where`` does not use."""
    allowed = set(allowed)
    unknown = [k for k in cfg if k not in allowed]
    if unknown:
        parts = [f'{k!r}{_suggest(k, allowed)}' for k in unknown]
        raise ConfigError(
            f'{where}: unknown key(s) {", ".join(parts)}. Allowed keys: {sorted(allowed)}.'
        )


def check_kwargs_for(cls_or_fn, cfg: Mapping, where: str | None = None) -> None:
    """Check that every key of ``cfg`` (besides ``type``) is a parameter of ``cls_or_fn``.

    Classes that accept ``**kwargs`` are not checked.
    """
    target = cls_or_fn.__init__ if inspect.isclass(cls_or_fn) else cls_or_fn
    params = inspect.signature(target).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    allowed = {n for n in params if n != 'self'} | {'type', '_scope_'}
    check_known_keys(cfg, allowed, where or getattr(cls_or_fn, '__name__', str(cls_or_fn)))


def build_checked(registry, cfg: Mapping | None, where: str, **default_args):
    """Build ``cfg`` from ``registry`` after checking its keys against the target's signature.

    ``cfg`` may also be an already-built object (returned unchanged) or ``None``.
    """
    if cfg is None or not isinstance(cfg, Mapping):
        return cfg
    if 'type' not in cfg:
        raise ConfigError(f"{where}: the config dict needs a 'type' key, got keys {sorted(cfg)}.")
    obj_type = cfg['type']
    cls = registry.get(obj_type) if isinstance(obj_type, str) else obj_type
    if cls is None:  # unknown name: the registry's build raises its explanation
        return registry.build(dict(cfg), default_args=default_args or None)
    check_kwargs_for(cls, {**cfg, **default_args}, f'{where} ({getattr(cls, "__name__", cls)})')
    return registry.build(dict(cfg), default_args=default_args or None)


def check_positive(value: int | float, name: str) -> None:
    if not value > 0:
        raise ConfigError(f'{name} must be positive, got {value}.')


def check_choice(value, choices: Sequence, name: str) -> None:
    if value not in choices:
        raise ConfigError(f'{name} must be one of {list(choices)}, got {value!r}.')


def check_divisible(value: int, divisor: int, name: str, by: str) -> None:
    """``value`` must be a multiple of ``divisor`` (``by`` names the divisor for the message)."""
    if value % divisor != 0:
        lower = (value // divisor) * divisor
        upper = lower + divisor
        raise ConfigError(
            f'{name}={value} is not divisible by {by}={divisor}; '
            f'use a multiple of {divisor}, e.g. {lower or upper} or {upper}.'
        )


def check_num_frames(num_frames: int, temporal_stride: int, name: str = 'num_frames') -> None:
    """A causal tokenizer with stride ``tau`` needs ``1 + tau * k`` frames (k >= 0)."""
    if num_frames < 1 or (num_frames - 1) % temporal_stride != 0:
        k = max((num_frames - 1) // temporal_stride, 0)
        raise ConfigError(
            f'{name}={num_frames} is not of the form 1 + {temporal_stride}*k required by a '
            f'causal tokenizer with temporal stride {temporal_stride}; use '
            f'{1 + temporal_stride * k} or {1 + temporal_stride * (k + 1)}.'
        )


def check_scale_sizes(
    scale_sizes: Sequence[Sequence[int]], latent_size: Sequence[int] | None = None
) -> list[tuple[int, int]]:
    """Normalise and check a scale schedule ``[(h_1, w_1), ..., (h_K, w_K)]``.

    Sizes must be positive and non-decreasing; if ``latent_size`` is given the last scale must
    equal it. Plain ints ``k`` are read as ``(k, k)``.
    """
    sizes = []
    for s in scale_sizes:
        if isinstance(s, int):
            s = (s, s)
        if len(s) != 2 or min(s) < 1:
            raise ConfigError(f'scale_sizes entries must be (h, w) with h, w >= 1, got {s!r}.')
        sizes.append((int(s[0]), int(s[1])))
    if not sizes:
        raise ConfigError('scale_sizes must hold at least one (h, w) entry.')
    for a, b in zip(sizes, sizes[1:]):
        if b[0] < a[0] or b[1] < a[1]:
            raise ConfigError(f'scale_sizes must be non-decreasing, but {a} is followed by {b}.')
    if latent_size is not None and tuple(sizes[-1]) != tuple(latent_size):
        raise ConfigError(
            f'the last scale of scale_sizes is {sizes[-1]} but the tokenizer latent is '
            f'{tuple(latent_size)}; the last scale must equal the latent size '
            f'(append {tuple(latent_size)} or change the resolution).'
        )
    return sizes
