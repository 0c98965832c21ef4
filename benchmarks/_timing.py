"""Shared timing helper for the benchmarks (best of several wall-clock runs)."""

from __future__ import annotations

import math
import time


def best_time(fn, repeats: int = 1) -> tuple[float, object]:
    """Best wall-clock time of ``repeats`` calls of ``fn`` and the last value it returned."""
    best, value = math.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value
