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


def best_times(fn, repeats: int = 1) -> tuple[float, float]:
    """Best wall-clock (``perf_counter``) and best CPU (``process_time``) seconds of ``repeats`` calls.

    CPU time is the steadier measure on a machine shared with other work (it does not count the
    time this process waits for a core); it still includes cache and memory contention.
    """
    wall = cpu = math.inf
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu


#: The largest peak seen before any reset: :func:`lifetime_peak_rss_bytes` stays the process's true peak.
_PEAK_BEFORE_RESETS = 0


def reset_peak_rss() -> bool:
    """Reset this process's peak resident set size (Linux ``/proc/self/clear_refs``); False if unsupported."""
    global _PEAK_BEFORE_RESETS
    _PEAK_BEFORE_RESETS = max(_PEAK_BEFORE_RESETS, peak_rss_bytes())
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


def lifetime_peak_rss_bytes() -> int:
    """Peak resident set size of this process over its whole life, resets by :func:`reset_peak_rss` included."""
    return max(_PEAK_BEFORE_RESETS, peak_rss_bytes())


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


def rows_with_peak_rss(measure, *args) -> list[dict]:
    """``measure(*args)``'s rows, each given the peak resident memory of the whole call."""
    with PeakRSS() as mem:
        rows = measure(*args)
    for row in rows:
        row["peak_rss_bytes"] = mem.bytes
    return rows
