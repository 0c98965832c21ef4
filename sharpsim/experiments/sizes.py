"""How big a sweep may be: checked before anything is allocated.

A sweep has ``cells × seeds`` tasks; the runner keeps a little bookkeeping
and the records of each in memory, so a sweep may have at most
:data:`MAX_TASKS` tasks and their estimated memory (:data:`TASK_BYTES` each,
measured at about 1.1 KiB for one small record) must fit in half the memory
available now. :func:`check_size` is called by
:class:`~sharpsim.experiments.runner.Sweep` before it lists a single cell.
"""

from __future__ import annotations


class SweepTooLargeError(ValueError):
    """A sweep has more tasks than the runner can hold (checked before anything is allocated)."""


MAX_TASKS = 1_000_000  # (cell, seed) tasks in one sweep
TASK_BYTES = 4096  # memory the runner keeps per task, measured: its bookkeeping and a few records


def _available_memory() -> int | None:
    """Bytes of memory available to new allocations (Linux ``MemAvailable``), or None when unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_size(name: str, cells: int, seeds: int) -> int:
    """The task count ``cells × seeds`` of a sweep, or :class:`SweepTooLargeError` before anything is allocated.

    A sweep may have at most :data:`MAX_TASKS` tasks, and their estimated
    bookkeeping (:data:`TASK_BYTES` each) must fit in half the memory
    available now.

    Example:
        >>> check_size("toy", 10, 3)
        30
        >>> check_size("toy", 10, 10**11)
        Traceback (most recent call last):
        ...
        sharpsim.experiments.sizes.SweepTooLargeError: sweep 'toy': 10 cells x 100,000,000,000 seeds ...
    """
    tasks = cells * seeds
    memory, available = tasks * TASK_BYTES, _available_memory()
    if tasks > MAX_TASKS or (available is not None and memory > available // 2):
        room = f"{available / 2**30:.1f} GiB available" if available is not None else ""
        raise SweepTooLargeError(
            f"sweep {name!r}: {cells:,} cells x {seeds:,} seeds = {tasks:,} tasks (about "
            f"{memory / 2**30:,.1f} GiB to keep{', ' + room if room else ''}); the runner takes at "
            f"most {MAX_TASKS:,} tasks per sweep: use fewer seeds or a smaller grid, or split it"
        )
    return tasks
