"""Shared helpers for the benchmarks: best-of-several wall-clock timing and peak resident memory."""

from __future__ import annotations

import math
import resource
import time
from pathlib import Path


def best_time(fn, repeats: int = 1) -> tuple[float, object]:
    """Best wall-clock time of ``repeats`` calls of ``fn`` and the last value it returned."""
    best, value = math.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def reset_peak_rss() -> bool:
    """Reset this process's peak resident set size (Linux ``/proc/self/clear_refs``); False if unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_bytes() -> int:
    """Peak resident set size of this process since start or the last :func:`reset_peak_rss`, in bytes."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports kB


class PeakRSS:
    """``with PeakRSS() as mem: ...`` then ``mem.bytes``: the peak resident memory while the block ran
    (on Linux; elsewhere the process's lifetime peak, an upper bound)."""

    def __enter__(self):
        reset_peak_rss()
        self.bytes = None
        return self

    def __exit__(self, *exc):
        self.bytes = peak_rss_bytes()
        return False
