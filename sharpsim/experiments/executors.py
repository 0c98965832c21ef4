"""Where a sweep's work runs: in-process, a local process pool, or a Dask cluster.

All three are ``concurrent.futures.Executor`` objects, so the runner drives
them the same way (``submit`` then wait on the futures):

* :class:`InProcessExecutor` runs each task when it is submitted (one worker,
  no pickling; the default and the easiest to debug);
* :func:`process_pool` is a ``ProcessPoolExecutor`` (``--jobs J``) whose
  workers ignore Ctrl-C, so an interrupt reaches only the runner, which
  keeps what finished, and exit by themselves as soon as the process that
  made the pool ends, however it ends (``kill -9`` included: each worker
  watches it through a pidfd, see :func:`watch_parent`); with the workers
  gone the forkserver and the resource tracker see their pipes close and exit
  too, so nothing is left behind;
* :func:`dask_local` starts a Dask ``LocalCluster`` of worker processes on
  loopback (``--dask-local N``) and :func:`dask_scheduler` joins a running
  cluster (``--dask-scheduler tcp://HOST:PORT``); both hand out the
  cluster's ``concurrent.futures`` view (``Client.get_executor()``). Dask is
  the optional ``dask`` extra, imported only here and only when asked for.

When Dask pays: a ``LocalCluster`` is started once per command (``sharpsim
reproduce`` included), never per experiment. Measured on two cores with
tasks of about 15 ms, it took 1.3-2.3 s to start and then about 9 ms more
per task than the process pool, from 8 to 128 tasks, so on one machine it
never beat the pool; a cluster pays once its extra cores save more than
that start-up and per-task cost.

Because every task's random stream is keyed by its (cell, seed) position
(see :mod:`sharpsim.experiments.runner`), the results do not depend on which
executor ran them.

Example:
    >>> with open_executor(jobs=1) as ex:
    ...     ex.submit(pow, 2, 10).result()
    1024
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import multiprocessing.forkserver
import os
import select
import signal
import threading
import time

DASK_HINT = 'the Dask executors need the dask extra: pip install "sharpsim[dask]"'


class MissingExtraError(ImportError):
    """An optional dependency a command asked for is not installed (the message names the extra)."""


class ExecutorStartError(RuntimeError):
    """The executor asked for could not be started or reached (the message says which and why)."""


class InProcessExecutor(cf.Executor):
    """Runs each submitted call at once in this process and returns its finished future.

    Example:
        >>> InProcessExecutor().submit(divmod, 7, 2).result()
        (3, 1)
    """

    workers = 1

    def submit(self, fn, /, *args, **kwargs):
        future = cf.Future()
        future.set_running_or_notify_cancel()
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # the runner re-raises it with the task's name
            future.set_exception(exc)
        else:
            future.set_result(result)
        return future


def available_cores() -> int:
    """CPU cores this process may use (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def watch_parent(pid: int, poll: float = 0.2) -> threading.Thread:
    """End this process (``os._exit(1)``) as soon as process ``pid`` ends, whatever ends it.

    A daemon thread waits on a pidfd of ``pid`` (Linux 5.3+: readable when
    the process exits, immune to pid reuse); elsewhere it polls every
    ``poll`` seconds whether ``pid`` still exists. A pool worker is a child of
    the forkserver, not of the runner, so ``PR_SET_PDEATHSIG`` and
    ``os.getppid()`` cannot tell it that the runner died; the runner's pid can.
    """
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:  # gone before this worker started
        os._exit(1)
    except (AttributeError, OSError):  # pragma: no cover - not Linux, or an old kernel
        fd = None

    def wait() -> None:
        if fd is not None:
            select.select([fd], [], [])
        else:  # pragma: no cover
            while _exists(pid):
                time.sleep(poll)
        os._exit(1)

    thread = threading.Thread(target=wait, name=f"sharpsim-watch-{pid}", daemon=True)
    thread.start()
    return thread


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - alive, owned by someone else
        return True
    return True


def _init_worker(parent: int) -> None:
    """A pool worker's start: ignore Ctrl-C (the runner handles it) and die with ``parent``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch_parent(parent)


@contextlib.contextmanager
def signals_deferred():
    """Hold Ctrl-C and SIGTERM back until the block ends, then act on the first that came.

    A worker is started inside ``submit``; an interrupt that cut its start in
    half would leave it to die on a truncated pipe with a traceback of its own.
    Only the main thread receives signals in Python, so elsewhere this does
    nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    old = {sig: signal.signal(sig, lambda signum, frame: got.append(signum)) for sig in held}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        if got:
            handler = old[got[0]]
            if callable(handler):
                handler(got[0], None)
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), got[0])


class _Pool(cf.ProcessPoolExecutor):
    """A process pool whose ``submit`` (where workers are started) is not cut by an interrupt."""

    def submit(self, fn, /, *args, **kwargs):
        with signals_deferred():
            return super().submit(fn, *args, **kwargs)


def process_pool(jobs: int | None = None, preload: tuple[str, ...] = ()) -> cf.ProcessPoolExecutor:
    """A pool of ``jobs`` worker processes (default: every available core).

    Workers are forked from a ``forkserver`` that has imported sharpsim once
    (cheap starts, safe next to threads; ``spawn`` where there is no
    forkserver, e.g. Windows), ignore SIGINT and exit when this process ends
    (:func:`watch_parent`), even when it is killed with SIGKILL.

    Example:
        >>> with process_pool(1) as pool:
        ...     pool.submit(abs, -3).result()
        3
    """
    jobs = available_cores() if jobs is None else _check_positive(jobs, "jobs")
    return _Pool(
        max_workers=jobs,
        mp_context=_mp_context(preload),
        initializer=_init_worker,
        initargs=(os.getpid(),),
    )


def _mp_context(preload: tuple[str, ...] = ()):
    if "forkserver" not in multiprocessing.get_all_start_methods():  # pragma: no cover - Windows
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    if _server_imports_this_sharpsim():
        # imported once by the server (when this call starts it), shared by every worker
        context.set_forkserver_preload(["sharpsim.experiments.runner", *preload])
    if threading.current_thread() is threading.main_thread():
        # start the server with Ctrl-C ignored (inherited through exec), so an interrupt
        # while it imports reaches only the runner, not a traceback from the server
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            multiprocessing.forkserver.ensure_running()
        finally:
            signal.signal(signal.SIGINT, previous)
    return context


def _server_imports_this_sharpsim() -> bool:
    """Would the forkserver (``python -c``: the working directory first on its path) import this sharpsim?

    The server does not take the parent's ``sys.path`` before preloading, so a
    different ``sharpsim`` folder in the working directory would be preloaded
    into every worker. Then we preload nothing and each worker imports the
    right one itself, with the parent's path.
    """
    import importlib.machinery
    import sys

    from .. import __file__ as ours

    spec = importlib.machinery.PathFinder.find_spec("sharpsim", [os.getcwd(), *sys.path[1:]])
    return spec is not None and spec.origin is not None and os.path.samefile(spec.origin, ours)


def _check_positive(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int; got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1; got {value}")
    return value


def _distributed():
    try:
        import distributed
    except ImportError as exc:
        raise MissingExtraError(DASK_HINT) from exc
    return distributed


@contextlib.contextmanager
def dask_local(workers: int):
    """A Dask ``LocalCluster`` of ``workers`` single-threaded processes on 127.0.0.1, as an executor.

    The cluster and its client are closed on exit. Needs the ``dask`` extra.
    """
    workers = _check_positive(workers, "dask_local")
    distributed = _distributed()
    with distributed.LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        with distributed.Client(cluster) as client:
            yield _dask_executor(client, workers)


@contextlib.contextmanager
def dask_scheduler(address: str):
    """Join the Dask scheduler at ``address`` (``tcp://HOST:PORT``) as an executor. Needs the ``dask`` extra."""
    if not isinstance(address, str) or "://" not in address:
        raise ValueError(f"dask_scheduler must be an address like tcp://HOST:PORT; got {address!r}")
    distributed = _distributed()
    try:
        client = distributed.Client(address, timeout="10s")
    except OSError as exc:
        raise ExecutorStartError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    with client:
        yield _dask_executor(client, max(1, sum(client.nthreads().values())))


def _dask_executor(client, workers: int):
    executor = client.get_executor(pure=False)
    executor.workers = workers
    return executor


def parallelism(executor) -> int:
    """How many tasks ``executor`` runs at once (1 for in-process; 4 when it cannot tell)."""
    workers = getattr(executor, "workers", None) or getattr(executor, "_max_workers", None)
    return int(workers) if workers else 4


@contextlib.contextmanager
def open_executor(
    jobs: int | None = None,
    dask_local_workers: int | None = None,
    dask_scheduler_address: str | None = None,
    preload: tuple[str, ...] = (),
):
    """The executor the command-line flags ask for, closed on exit.

    Args:
        jobs: worker processes for a local pool; ``1`` runs in-process; ``None``
            uses every available core.
        dask_local_workers: start a Dask ``LocalCluster`` with this many workers.
        dask_scheduler_address: join this Dask scheduler.
        preload: modules a new pool's forkserver imports once for every worker
            (e.g. the plotting stack when workers draw figures).

    At most one of the three executors may be given.
    """
    given = [
        n
        for n, v in (
            ("jobs", jobs),
            ("dask_local", dask_local_workers),
            ("dask_scheduler", dask_scheduler_address),
        )
        if v is not None
    ]
    if len(given) > 1:
        raise ValueError(f"choose one executor; got {' and '.join(given)}")
    if dask_local_workers is not None:
        with dask_local(dask_local_workers) as executor:
            yield executor
    elif dask_scheduler_address is not None:
        with dask_scheduler(dask_scheduler_address) as executor:
            yield executor
    else:
        jobs = available_cores() if jobs is None else _check_positive(jobs, "jobs")
        if jobs == 1:
            yield InProcessExecutor()
            return
        pool = process_pool(jobs, preload)
        try:
            yield pool
        except BaseException:
            _stop_pool(pool)
            raise
        else:
            pool.shutdown(wait=True)


def _stop_pool(pool: cf.ProcessPoolExecutor) -> None:
    """Cancel what has not started and end the workers now (an interrupt or a failed task)."""
    processes = list(getattr(pool, "_processes", {}).values())  # no public handle on the workers
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)
