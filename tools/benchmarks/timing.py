"""The one timing helper of the benchmarks: warm-up calls, then min and median wall time."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def time_call(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> dict:
    """Run ``fn`` ``warmup`` times, then ``repeat`` times; return min/median seconds (and all)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return dict(min_s=min(times), median_s=statistics.median(times), repeat=repeat, times_s=times)
