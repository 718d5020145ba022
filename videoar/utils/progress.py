"""A progress bar that only rank 0 draws."""

from __future__ import annotations

import sys

from mmengine.dist import get_rank
from mmengine.utils import ProgressBar


class Progress:
    """An mmengine progress bar on rank 0 (and nothing elsewhere, or when disabled)."""

    def __init__(self, total: int, enabled: bool = True, label: str | None = None) -> None:
        self.bar = None
        if enabled and get_rank() == 0 and total > 0:
            if label:
                print(f'[videoar] {label}', file=sys.stdout, flush=True)
            self.bar = ProgressBar(total, file=sys.stdout)

    def update(self, count: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(count)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.file.write('\n')
            self.bar.file.flush()
            self.bar = None


__all__ = ['Progress']
