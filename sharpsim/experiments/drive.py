"""Driving an executor: tasks in, results out in order of completion, under a progress bar.

:func:`drive` keeps a window of tasks in flight on any
``concurrent.futures.Executor`` and hands each result to a callback as it
arrives; :func:`progress_bar` is the tqdm bar (imported lazily) or a silent
stand-in.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import itertools
import sys

from .executors import InProcessExecutor, parallelism


class TaskError(RuntimeError):
    """A task of a sweep raised; the message names the task, the cause is chained."""


class Interrupted(KeyboardInterrupt):
    """A sweep stopped by Ctrl-C (or SIGTERM); ``str(exc)`` says what was kept and how to resume."""


class _NoBar:
    def update(self, n=1):
        pass

    def refresh(self):
        pass

    def set_postfix_str(self, text, refresh=True):
        pass

    def close(self):
        pass


def progress_bar(total: int, desc: str, enabled: bool | None = None, initial: int = 0):
    """A tqdm bar on stderr (tasks done / total, rate, ETA), or a silent stand-in.

    ``enabled=None`` shows it only when both stdout and stderr are terminals.
    tqdm is imported here, lazily.
    """
    if enabled is None:
        enabled = sys.stdout.isatty() and sys.stderr.isatty()
    if not enabled:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:  # a runtime dependency, but a broken install should still run
        return _NoBar()
    return tqdm(
        total=total,
        initial=initial,
        desc=desc,
        unit="task",
        dynamic_ncols=True,
        file=sys.stderr,
        smoothing=0.1,
    )


def drive(executor, tasks, on_result, bar=None, window: int | None = None) -> None:
    """Run ``tasks`` (``(key, label, fn, args)``) on ``executor``; call ``on_result(key, value)`` in order of completion.

    At most ``window`` tasks are in flight (default: twice the executor's
    workers; one for the in-process executor, which runs a task when it is submitted), so the first results are saved while later tasks still wait and
    an in-process executor reports each one as it finishes. ``tasks`` may be a
    ``collections.deque`` that ``on_result`` adds to (at the front: next to
    run). A task that raises stops the drive: what has not started is
    cancelled and a :class:`TaskError` naming the task is raised from the
    original exception.
    """
    bar = bar or _NoBar()
    # In-process, submit() runs the task: one at a time, so each result is kept before the
    # next starts (a Ctrl-C during a task never loses one that had finished).
    window = window or (1 if isinstance(executor, InProcessExecutor) else 2 * parallelism(executor))
    queue = tasks if isinstance(tasks, collections.deque) else collections.deque(tasks)
    pending: dict[cf.Future, tuple] = {}
    submitted = itertools.count()

    def fill():
        while queue and len(pending) < window:
            key, label, fn, args = queue.popleft()
            pending[executor.submit(fn, *args)] = (next(submitted), key, label)

    try:
        fill()
        while pending:
            # wake up every half second so the bar's clock keeps ticking during long tasks
            done, _ = cf.wait(list(pending), timeout=0.5, return_when=cf.FIRST_COMPLETED)
            if not done:
                bar.set_postfix_str(f"running: {min(pending.values())[2]}"[:60], refresh=False)
                bar.refresh()
                continue
            failed = None
            for future in sorted(
                done, key=lambda f: pending[f][0]
            ):  # submission order: deterministic
                _, key, label = pending.pop(future)
                if future.exception() is not None:
                    failed = failed or (label, future.exception())
                    continue
                on_result(
                    key, future.result()
                )  # every finished task is kept before a failure is raised
                bar.update(1)
            if failed is not None:
                label, exc = failed
                raise TaskError(f"{label} failed: {type(exc).__name__}: {exc}") from exc
            fill()
    finally:
        for future in pending:
            future.cancel()
