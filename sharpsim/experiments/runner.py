"""The sweep runner: an experiment's grid × seeds, on any executor, resumable on disk.

A sweep runs ``func(rng, **cell)`` for every grid cell (in
:meth:`Experiment.cells` order) and every seed index ``0..K-1``. The random
stream of (cell ``c``, seed ``s``) is
``SeedSequence(seed, spawn_key=(c, s))`` — the same stream as
``SeedSequence(seed).spawn(n_cells)[c].spawn(K)[s]`` — so it depends only on
the task's position in the grid, never on the worker that ran it or on the
order tasks finished: one process, a pool or a Dask cluster give the same
records.

Each record comes back as ``{"experiment", "cell", "seed", **cell,
**record}``. With ``out=DIR`` the records of each finished (cell, seed) are
appended to ``DIR/results.csv`` as they arrive (see
:mod:`sharpsim.experiments.results`), a rerun with the same ``out`` skips
what is already there, and a folder written with another grid, seed count,
root seed or package version is refused. When the sweep completes the file
is rewritten in canonical order (by cell, seed, record), so it is
byte-identical whichever executor ran it and however often it was resumed.

Example:
    >>> from sharpsim.experiments.registry import Experiment
    >>> exp = Experiment("toy", lambda rng, n: [{"mean": float(rng.random(n).mean())}], "a toy",
    ...                  grid={"n": [10, 100]}, quick_grid={"n": [10]}, quick_seeds=2)
    >>> records = run(exp, quick=True, progress=False)
    >>> [(r["cell"], r["seed"], r["n"]) for r in records]
    [(0, 0, 10), (0, 1, 10)]
    >>> records == run(exp, quick=True, progress=False)
    True
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime
import functools
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np

from . import results as rio
from .drive import Interrupted, drive, progress_bar
from .executors import InProcessExecutor
from .lock import FolderLock
from .registry import Experiment, get
from .sizes import check_size


class ResultsMismatchError(ValueError):
    """An existing ``--out`` folder holds results of a different sweep."""


# --------------------------------------------------------------------------- one task


def unit_rng(seed: int, cell: int, seed_index: int) -> np.random.Generator:
    """The generator of (cell, seed index) under root ``seed``: ``SeedSequence(seed, spawn_key=(cell, s))``.

    Example:
        >>> a = unit_rng(0, 2, 1).random()
        >>> b = np.random.default_rng(np.random.SeedSequence(0).spawn(3)[2].spawn(2)[1]).random()
        >>> a == b
        True
    """
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(cell, seed_index)))


def run_unit(func, params: dict, seed: int, cell: int, seed_index: int) -> list[dict]:
    """Run one (cell, seed): ``func(rng, **params)``, its records checked and made plain scalars.

    This is what an executor's worker runs; it is a module-level function so
    process pools and Dask can pickle it.
    """
    out = func(unit_rng(seed, cell, seed_index), **params)
    if not isinstance(out, (list, tuple)) or not out:
        raise TypeError(f"an experiment must return a non-empty list of dicts; got {out!r:.80}")
    plain = []
    for i, record in enumerate(out):
        if not isinstance(record, dict):
            raise TypeError(f"record {i} must be a dict; got {type(record).__name__}")
        clash = set(record) & (set(rio.RESERVED) | set(params))
        if clash:
            raise ValueError(f"record {i} uses reserved or grid column names {sorted(clash)}")
        plain.append({str(k): rio.scalar(v, f"record {i} key {k!r}") for k, v in record.items()})
    return plain


# --------------------------------------------------------------------------- one sweep


@functools.lru_cache(maxsize=1)
def _git_commit() -> str | None:
    """The commit of the source tree sharpsim runs from, when it is a git checkout."""
    here = Path(__file__).resolve().parents[2]
    if not (here / ".git").exists():
        return None
    try:
        done = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _version() -> str:
    from .. import __version__

    return __version__


class Sweep:
    """One experiment's grid × seeds, optionally kept in an output folder.

    ``tasks()`` lists what is left to run as ``(label, fn, args)``; feed each
    result to ``add(unit, records)``; ``finish()`` returns every record in
    canonical order (and writes the canonical file). :func:`run` does this
    for one sweep; the command line's ``figures`` and ``reproduce`` drive many
    sweeps through one executor.
    """

    def __init__(
        self,
        experiment: Experiment | str,
        quick: bool = True,
        seeds: int | None = None,
        seed: int = 0,
        out=None,
        lock: bool = False,
    ):
        self.experiment = get(experiment) if isinstance(experiment, str) else experiment
        if not isinstance(self.experiment, Experiment):
            raise TypeError(
                f"experiment must be a name or an Experiment; got {type(experiment).__name__}"
            )
        self.quick = bool(quick)
        default = self.experiment.quick_seeds if self.quick else self.experiment.seeds
        self.seeds = _check_count(default if seeds is None else seeds, "seeds")
        self.seed = _check_seed(seed)
        grid = self.experiment.quick_grid if self.quick else self.experiment.grid
        self.grid = {
            str(k): [rio.scalar(v, f"grid value of {k!r}") for v in vs] for k, vs in grid.items()
        }
        clash = set(self.grid) & set(rio.RESERVED)
        if clash:
            raise ValueError(f"grid parameter names {sorted(clash)} are reserved column names")
        check_size(self.experiment.name, math.prod(map(len, self.grid.values())), self.seeds)
        for key, values in self.grid.items():
            if len({rio.kind_of(v) for v in values}) > 1:
                raise TypeError(f"grid parameter {key!r} mixes value kinds: {values}")
        self.cells = self.experiment.cells(self.quick)
        self.units = [(c, s) for c in range(len(self.cells)) for s in range(self.seeds)]
        self.done: dict[tuple[int, int], list[dict]] = {}
        self.kinds = {
            "experiment": "str",
            "cell": "number",
            "seed": "number",
            **{k: rio.kind_of(vs[0]) for k, vs in self.grid.items() if vs},
        }
        self.record_keys: list[str] = []
        self.out = None if out is None else Path(out)
        self.started = _now()
        self._lock: FolderLock | None = None
        if self.out is not None:
            self._open(lock)

    # -- the manifest and the file -----------------------------------------------------

    def _identity(self) -> dict:
        return {
            "experiment": self.experiment.name,
            "quick": self.quick,
            "grid": self.grid,
            "seeds": self.seeds,
            "seed": self.seed,
            "sharpsim_version": _version(),
        }

    def _manifest(self, finished: str | None) -> dict:
        return {
            **self._identity(),
            "description": self.experiment.description,
            "figures": list(self.experiment.figures),
            "cells": len(self.cells),
            "tasks": len(self.units),
            "tasks_done": len(self.done),
            "columns": {c: self.kinds[c] for c in self._columns() if c in self.kinds},
            "git_commit": _git_commit(),
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "started": self.started,
            "finished": finished,
        }

    def _open(self, lock: bool) -> None:
        assert self.out is not None  # only a sweep with an out folder is opened
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ResultsMismatchError(
                f"cannot create the output folder {self.out}: {exc.strerror or exc}"
            ) from None
        if lock:
            self._lock = FolderLock(self.out).acquire()
        try:
            self._read_folder()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Release the folder's lock (taken with ``lock=True``); the sweep's files stay."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _read_folder(self) -> None:
        assert self.out is not None
        csv_path, old = self.out / rio.RESULTS_FILE, rio.read_manifest(self.out)
        if old is None and csv_path.exists():
            raise ResultsMismatchError(
                f"{csv_path} exists but {rio.MANIFEST_FILE} does not; "
                "it is not a sharpsim sweep: choose another --out"
            )
        if old is not None:
            self._check_same(old)
            self.started = old.get("started", self.started)
            self.kinds.update(old.get("columns", {}))
            if csv_path.exists():
                self._load(csv_path)
        self._rewrite(canonical=False)

    def _check_same(self, old: dict) -> None:
        new = json.loads(json.dumps(self._identity()))
        diff = [k for k in new if old.get(k) != new[k]]
        if diff:
            what = "; ".join(f"{k}: folder has {old.get(k)!r}, this run {new[k]!r}" for k in diff)
            raise ResultsMismatchError(
                f"{self.out} holds a different sweep ({what}); "
                "use another --out or delete the folder"
            )

    def _load(self, csv_path: Path) -> None:
        header, rows = rio.load_csv(csv_path)
        kinds = {
            k: self.kinds.get(k) or rio.infer_kind(r[i] for r in rows) for i, k in enumerate(header)
        }
        units: dict[tuple[int, int], list[tuple[int, int, dict]]] = {}
        wanted = set(self.units)
        for number, row in enumerate(rows, start=2):
            values = dict(zip(header, row))
            key = (int(values["cell"]), int(values["seed"]))
            index, count = int(values["record"]), int(values["n_records"])
            record = rio.decode_row(csv_path, number, header, row, kinds)
            units.setdefault(key, []).append((index, count, record))
        for key, got in units.items():
            counts = {count for _, count, _ in got}
            indices = sorted(index for index, _, _ in got)
            if key in wanted and len(counts) == 1 and indices == list(range(counts.pop())):
                got.sort(key=lambda t: t[0])
                self.done[key] = [record for _, _, record in got]
        for records in self.done.values():
            self._note_keys(records)

    def _columns(self, canonical: bool = False) -> list[str]:
        """Column order: prefix, grid, record keys, bookkeeping.

        Record keys are sorted by name in the canonical file (an order that cannot
        depend on which tasks ran in this process and which were read back from
        disk), and in arrival order while the sweep runs.
        """
        record_keys = self.record_keys
        if canonical:
            keys = {k for records in self.done.values() for record in records for k in record}
            record_keys = sorted(keys - set(rio.PREFIX) - set(self.grid))
        return [*rio.PREFIX, *self.grid, *record_keys, *rio.BOOKKEEPING]

    def _rows(self, order) -> list[dict]:
        return [
            {**record, "record": i, "n_records": len(self.done[unit])}
            for unit in order
            for i, record in enumerate(self.done[unit])
        ]

    def _rewrite(self, canonical: bool) -> None:
        order = sorted(self.done)
        columns = self._columns(canonical)
        if canonical:
            self.record_keys = columns[len(rio.PREFIX) + len(self.grid) : -len(rio.BOOKKEEPING)]
        self._columns_written = columns
        assert self.out is not None
        rio.atomic_write(
            self.out / rio.MANIFEST_FILE,
            json.dumps(self._manifest(_now() if canonical else None), indent=2) + "\n",
        )
        rio.atomic_write(self.out / rio.RESULTS_FILE, rio.encode_rows(self._rows(order), columns))

    def _note_keys(self, records: list[dict]) -> bool:
        """Record new columns and check kinds; return whether a column was new."""
        new = False
        for record in records:
            for key, value in record.items():
                kind = rio.kind_of(value)
                if key not in self.kinds:
                    self.kinds[key] = kind
                elif self.kinds[key] != kind:
                    raise ValueError(
                        f"column {key!r} of experiment {self.experiment.name!r} holds "
                        f"{self.kinds[key]} values and now {kind} {value!r}"
                    )
                if key not in rio.PREFIX and key not in self.grid and key not in self.record_keys:
                    self.record_keys.append(key)
                    new = True
        return new

    # -- the work ------------------------------------------------------------------------

    def tasks(self) -> list[tuple[tuple[int, int], str, object, tuple]]:
        """What is left to run: ``(unit, label, fn, args)`` for each unfinished (cell, seed)."""
        func, name = self.experiment.func, self.experiment.name
        return [
            (
                (c, s),
                f"{name} cell {c} {self.cells[c]} seed {s}",
                run_unit,
                (func, self.cells[c], self.seed, c, s),
            )
            for c, s in self.units
            if (c, s) not in self.done
        ]

    def add(self, unit: tuple[int, int], records: list[dict]) -> None:
        """Keep one finished (cell, seed)'s records (from :func:`run_unit`); append them to the file."""
        c, s = unit
        full = [
            {"experiment": self.experiment.name, "cell": c, "seed": s, **self.cells[c], **r}
            for r in records
        ]
        new_columns = self._note_keys(full)  # checks the value kinds before anything is kept
        self.done[unit] = full
        if self.out is None:
            return
        if new_columns:
            self._rewrite(canonical=False)
        else:
            rows = [{**r, "record": i, "n_records": len(full)} for i, r in enumerate(full)]
            rio.append(
                self.out / rio.RESULTS_FILE,
                rio.encode_rows(rows, self._columns_written, header=False),
            )

    @property
    def complete(self) -> bool:
        return len(self.done) == len(self.units)

    def finish(self) -> list[dict]:
        """Every record, sorted by (cell, seed, record); the canonical file is written when ``out`` is set."""
        if not self.complete:
            raise RuntimeError(
                f"sweep {self.experiment.name!r} has {len(self.units) - len(self.done)} "
                "unfinished tasks"
            )
        if self.out is not None:
            self._rewrite(canonical=True)
        return [record for unit in sorted(self.done) for record in self.done[unit]]


def _check_count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int; got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1; got {value}")
    return int(value)


def _check_seed(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"seed must be a non-negative int; got {type(value).__name__} {value!r}")
    if value < 0:
        raise ValueError(f"seed must be a non-negative int; got {value}")
    return int(value)


def run(
    name,
    quick: bool = True,
    seeds: int | None = None,
    executor=None,
    out=None,
    progress: bool | None = None,
    seed: int = 0,
) -> list[dict]:
    """Run experiment ``name`` over its grid × seeds; return its tidy records.

    Args:
        name: a registered experiment's name, or an :class:`Experiment`.
        quick: use the quick grid and seed count (the main job) or the full ones.
        seeds: number of seeds per cell (default: the experiment's own).
        executor: a ``concurrent.futures.Executor`` (see
            :mod:`sharpsim.experiments.executors`); ``None`` runs in-process.
        out: folder for ``results.csv`` and ``manifest.json``; rerunning with the
            same folder resumes, a folder holding a different sweep raises
            :class:`ResultsMismatchError`, a corrupt file
            :class:`~sharpsim.experiments.results.CorruptResultsError` (the
            file untouched), and a folder another live run holds
            :class:`~sharpsim.experiments.lock.FolderLockedError` (the folder
            is locked for the run's life; see :mod:`sharpsim.experiments.lock`).
        progress: show a progress bar (``None``: only on a terminal).
        seed: root seed (a non-negative int).

    Returns:
        list of dicts ``{"experiment", "cell", "seed", **cell, **record}``
        sorted by (cell, seed, record): the same whichever executor ran them.

    Raises:
        SweepTooLargeError: more than :data:`~sharpsim.experiments.sizes.MAX_TASKS` (cell, seed) tasks, or
            more than half the available memory at :data:`~sharpsim.experiments.sizes.TASK_BYTES` a task;
            checked before anything is allocated or written.
        Interrupted: on Ctrl-C; what finished is saved in ``out``.
    """
    executor = InProcessExecutor() if executor is None else executor
    if not isinstance(executor, cf.Executor):
        raise TypeError(
            f"executor must be a concurrent.futures.Executor or None; got {type(executor).__name__}"
        )
    sweep = Sweep(name, quick=quick, seeds=seeds, seed=seed, out=out, lock=True)
    try:
        bar = progress_bar(
            len(sweep.units), sweep.experiment.name, progress, initial=len(sweep.done)
        )
        try:
            drive(executor, sweep.tasks(), sweep.add, bar)
        except KeyboardInterrupt:
            raise Interrupted(kept_line([sweep], sweep.out)) from None
        finally:
            bar.close()
        return sweep.finish()
    finally:
        sweep.close()


def kept_line(sweeps, where) -> str:
    """What an interrupted run kept, and how to resume: one line for the user."""
    done = sum(len(s.done) for s in sweeps)
    total = sum(len(s.units) for s in sweeps)
    if where is None:
        return f"{done} of {total} tasks had finished; nothing is saved without out="
    return (
        f"{done} of {total} tasks are saved in {where}: "
        "rerun the same command (same out folder) to resume"
    )
