"""EMA weight swapping for the sampling hooks and the curriculum."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from mmengine.hooks import EMAHook


def ema_hooks(runner) -> list[EMAHook]:
    """mmengine ``EMAHook`` instances of the runner that have built their averaged copy."""
    return [h for h in runner.hooks if isinstance(h, EMAHook) and hasattr(h, 'ema_model')]


@contextlib.contextmanager
def ema_weights(runner, enabled: bool = True) -> Iterator[bool]:
    """Swap the EMA weights into the model for the ``with`` block (if ``EMAHook`` is enabled).

    Yields True when EMA weights are in use. Uses ``EMAHook._swap_ema_parameters``, the method
    mmengine itself uses around validation.
    """
    hooks = ema_hooks(runner) if enabled else []
    for hook in hooks:
        hook._swap_ema_parameters()
    try:
        yield bool(hooks)
    finally:
        for hook in hooks:
            hook._swap_ema_parameters()
