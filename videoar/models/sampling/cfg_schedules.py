"""Classifier-free-guidance schedules: a guidance scale per (frame t, scale k).

The sampler combines conditional and unconditional logits as
``uncond + gamma * (cond - uncond)`` with ``gamma = schedule(t, k, num_frames, num_scales)``;
``gamma = 1`` is no guidance. The transformer never sees a schedule.
"""

from __future__ import annotations

from collections.abc import Mapping

from videoar.registry import CFG_SCHEDULES
from videoar.utils import ConfigError, build_checked


class BaseCFGSchedule:
    """Base class: subclasses implement ``__call__(t, k, num_frames, num_scales) -> gamma``.

    ``t`` is the 0-based latent frame, ``k`` the 0-based scale.
    """

    def __call__(self, t: int, k: int, num_frames: int, num_scales: int) -> float:
        raise NotImplementedError

    def table(self, num_frames: int, num_scales: int) -> list[list[float]]:
        """All guidance scales, ``table[t][k]``."""
        return [
            [float(self(t, k, num_frames, num_scales)) for k in range(num_scales)]
            for t in range(num_frames)
        ]

    def is_trivial(self, num_frames: int, num_scales: int) -> bool:
        """True when every block has ``gamma == 1`` (the unconditional pass can be skipped)."""
        return all(g == 1.0 for row in self.table(num_frames, num_scales) for g in row)

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v!r}' for k, v in vars(self).items())
        return f'{type(self).__name__}({args})'


@CFG_SCHEDULES.register_module()
class ConstantCFG(BaseCFGSchedule):
    """The same guidance scale for every block.

    Args:
        scale: ``gamma`` (``1.0`` = no guidance; must be >= 0).
    """

    def __init__(self, scale: float = 1.0) -> None:
        if scale < 0:
            raise ConfigError(f'ConstantCFG.scale must be >= 0 (1 = no guidance), got {scale}.')
        self.scale = float(scale)

    def __call__(self, t: int, k: int, num_frames: int, num_scales: int) -> float:
        return self.scale


def resolve_cfg_schedule(
    cfg_scale: float | None = None, cfg_schedule: BaseCFGSchedule | Mapping | None = None
) -> BaseCFGSchedule:
    """The guidance schedule of a sampling call: ``cfg_schedule`` (an object, or a config of a
    ``CFG_SCHEDULES`` entry) when given, else ``ConstantCFG(cfg_scale)`` (1 = no guidance)."""
    if cfg_schedule is not None:
        if isinstance(cfg_schedule, Mapping):
            return build_checked(CFG_SCHEDULES, cfg_schedule, 'cfg_schedule')
        return cfg_schedule
    return ConstantCFG(1.0 if cfg_scale is None else float(cfg_scale))
