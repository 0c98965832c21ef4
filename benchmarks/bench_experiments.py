"""Benchmark: the sweep runner's executors and the main job's wall time.

Rows:

* ``experiments/jobs2_vs_jobs1`` — one CPU-bound sweep (exact best-of-N laws and
  expected SFT errors on random worlds, 24 tasks) on ``--jobs 1`` (in-process)
  and ``--jobs 2`` (a process pool). ``ratio = seconds(jobs 1) / seconds(jobs
  2)``, target ``>= 1.6`` on two free cores. The pool is started and warmed
  (workers have imported sharpsim) before the clock starts; its start-up is
  reported as ``seconds.pool_startup``.
* ``experiments/dask_local2_vs_jobs2`` — the same sweep on a Dask
  ``LocalCluster(2)`` against the 2-process pool: ``ratio = seconds(jobs 2) /
  seconds(dask)`` (informational; about 1 means Dask's scheduling costs
  nothing on this sweep). Cluster start-up is ``seconds.dask_startup``.
  Skipped (row with ``ratio`` None) when dask is not installed.
* ``experiments/reproduce_jobs2_vs_jobs1`` — the main job itself, ``sharpsim
  reproduce`` (quick grids, checks and figures) in a fresh subprocess into a
  fresh folder with ``--jobs 1`` and with ``--jobs 2``, interleaved:
  ``ratio = seconds(jobs 1) / seconds(jobs 2)``, target ``>= 1.6`` on two
  free cores. The load average at the start and end (``os.getloadavg``) is
  reported beside it, since other work on the machine lowers the ratio.
  Command: ``PYTHONPATH=$PWD OPENBLAS_NUM_THREADS=1 python
  benchmarks/bench_experiments.py --quick`` (or ``benchmarks/run.py``).
* ``experiments/figures_quick_wall`` and ``experiments/reproduce_wall`` (full
  mode only) — ``sharpsim figures --quick`` and ``sharpsim reproduce`` in a
  fresh subprocess on every core, each into a fresh folder: ``ratio =
  seconds / 240``, the main job's four-minute budget, ``better = "lower"``,
  target ``<= 1`` for ``reproduce`` (informational for ``figures``).

Every executor's records are checked to be identical before any ratio is
reported.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _sweep_work import _warm, work

from sharpsim.experiments import Experiment
from sharpsim.experiments import run as run_sweep
from sharpsim.experiments.executors import available_cores, dask_local, process_pool

ROOT = Path(__file__).resolve().parents[1]
BUDGET = 240.0


def _sweep(quick: bool) -> Experiment:
    grid = {"n_responses": [1000, 2000, 4000] if not quick else [1000, 2000], "N": [2, 8, 32, 128]}
    return Experiment(
        "bench-sweep", work, "benchmark sweep", grid=grid, quick_grid=grid, seeds=2, quick_seeds=2
    )


def _timed(executor, exp):
    start = time.perf_counter()
    records = run_sweep(exp, quick=True, executor=executor, progress=False)
    return time.perf_counter() - start, records


def _started(factory, workers: int):
    """Enter ``factory(workers)`` and warm every worker; return (context, executor, start-up seconds)."""
    start = time.perf_counter()
    context = factory(workers)
    executor = context.__enter__()
    list(executor.map(_warm, range(4 * workers)))
    return context, executor, time.perf_counter() - start


def _dask_factory():
    try:
        import distributed  # noqa: F401
    except ImportError:
        return None
    return dask_local


def _command_wall(args: list[str]) -> float:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
    }
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "sharpsim", *args, "--quiet"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def _reproduce_ratio(repeats: int) -> dict:
    """``sharpsim reproduce`` on 1 and on 2 workers, best of ``repeats`` each, interleaved."""
    load_before = os.getloadavg()
    best = {1: float("inf"), 2: float("inf")}
    for _ in range(repeats):
        for jobs in (1, 2):
            with tempfile.TemporaryDirectory() as tmp:
                seconds = _command_wall(["reproduce", "--jobs", str(jobs), "--out", f"{tmp}/r"])
            best[jobs] = min(best[jobs], seconds)
    return {
        "name": "experiments/reproduce_jobs2_vs_jobs1",
        "ratio": best[1] / best[2],
        "target": 1.6,
        "baseline": "sharpsim reproduce --jobs 1 (in-process)",
        "seconds": {"jobs1": best[1], "jobs2": best[2]},
        "repeats": repeats,
        "load_average": {"before": list(load_before), "after": list(os.getloadavg())},
        "command": "sharpsim reproduce --jobs J --out FRESH --quiet",
        "cores_available": available_cores(),
    }


def run_bench(quick: bool) -> list[dict]:
    exp = _sweep(quick)
    tasks = len(exp.cells(True)) * exp.quick_seeds
    repeats = 1 if quick else 3
    dask_factory = _dask_factory()
    opened = [_started(process_pool, 2)] + ([_started(dask_factory, 2)] if dask_factory else [])
    best = {"jobs1": float("inf"), "jobs2": float("inf"), "dask_local2": float("inf")}
    try:
        for _ in range(repeats):  # interleaved, so every executor sees the same machine load
            seconds, reference = _timed(None, exp)
            best["jobs1"] = min(best["jobs1"], seconds)
            for key, (_, executor, _) in zip(("jobs2", "dask_local2"), opened):
                seconds, records = _timed(executor, exp)
                assert records == reference, f"{key} changed the records"
                best[key] = min(best[key], seconds)
    finally:
        for context, _, _ in opened:
            context.__exit__(None, None, None)
    rows = [
        {
            "name": "experiments/jobs2_vs_jobs1",
            "ratio": best["jobs1"] / best["jobs2"],
            "target": 1.6,
            "baseline": "the same sweep in-process (--jobs 1)",
            "sizes": {"tasks": tasks, "grid": dict(exp.grid)},
            "seconds": {
                "jobs1": best["jobs1"],
                "jobs2": best["jobs2"],
                "pool_startup": opened[0][2],
            },
            "repeats": repeats,
            "cores_available": available_cores(),
        }
    ]
    if dask_factory is None:
        rows.append(
            {
                "name": "experiments/dask_local2_vs_jobs2",
                "ratio": None,
                "target": None,
                "baseline": "the same sweep on --jobs 2",
                "skipped": "dask not installed",
            }
        )
    else:
        rows.append(
            {
                "name": "experiments/dask_local2_vs_jobs2",
                "ratio": best["jobs2"] / best["dask_local2"],
                "target": None,
                "baseline": "the same sweep on --jobs 2",
                "sizes": {"tasks": tasks},
                "seconds": {
                    "jobs2": best["jobs2"],
                    "dask_local2": best["dask_local2"],
                    "dask_startup": opened[1][2],
                },
                "repeats": repeats,
            }
        )
    rows.append(_reproduce_ratio(1 if quick else 2))
    if not quick:
        for name, args, target in (
            ("figures_quick_wall", ["figures", "--quick"], None),
            ("reproduce_wall", ["reproduce"], 1.0),
        ):
            with tempfile.TemporaryDirectory() as tmp:
                extra = (
                    ["--out", f"{tmp}/figures", "--data", f"{tmp}/data"]
                    if args[0] == "figures"
                    else ["--out", f"{tmp}/results"]
                )
                seconds = _command_wall(args + extra)
            rows.append(
                {
                    "name": f"experiments/{name}",
                    "ratio": seconds / BUDGET,
                    "target": target,
                    "better": "lower",
                    "baseline": "the main job's 4-minute budget (240 s)",
                    "seconds": {"wall": seconds},
                    "command": "sharpsim " + " ".join(args),
                    "cores_available": available_cores(),
                }
            )
    return rows


def run(quick: bool) -> list[dict]:
    return run_bench(quick)


if __name__ == "__main__":
    for row in run_bench("--quick" in sys.argv):
        print(row)
