"""Run the benchmarks: every ``benchmarks/bench_*.py`` defines ``run(quick) -> list[dict]``.

Usage (from the repository root)::

    python benchmarks/run.py            # all benchmarks, full size
    python benchmarks/run.py --quick    # smaller problems, fewer repeats
    python benchmarks/run.py --only oracle --only viterbi

Each benchmark module runs in its own subprocess, so its peak resident
memory (``peak_rss_bytes`` in its entry) is its own and the run's peak is the
largest of them (plus this small parent). Each row gets a ``command`` that
reproduces it (unless the module set one).

Each dict is one measured ratio with at least ``name``, ``ratio``,
``baseline`` and ``target`` (plus sizes and seconds). ``better`` says which
way the target points: ``"higher"`` (the default: a speed-up over the
baseline that should reach ``target``) or ``"lower"`` (a cost relative to the
baseline that should stay within ``target``). The table printed at the end
shows name, ratio, target and whether it was met; the results, with the
machine they ran on, go to ``benchmarks/results/benchmarks.json``. A run with
``--only`` updates the entries of the benchmarks it ran and keeps the others.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "benchmarks.json"
REQUIRED_KEYS = ("name", "ratio", "baseline", "target")


def discover(only: list[str] | None) -> list[Path]:
    """``bench_*.py`` files next to this script, sorted, filtered by ``--only`` names."""
    paths = sorted(HERE.glob("bench_*.py"))
    if not only:
        return paths
    wanted = {name.removeprefix("bench_").removesuffix(".py") for name in only}
    unknown = wanted - {p.stem.removeprefix("bench_") for p in paths}
    if unknown:
        raise SystemExit(
            f"--only: no benchmark named {sorted(unknown)}; have {[p.stem for p in paths]}"
        )
    return [p for p in paths if p.stem.removeprefix("bench_") in wanted]


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def met(row: dict) -> bool | None:
    """Whether the ratio reached its target; ``None`` for an informational row (target ``None``)."""
    if row["target"] is None or row["ratio"] is None:
        return None
    if row.get("better", "higher") == "lower":
        return row["ratio"] <= row["target"]
    return row["ratio"] >= row["target"]


def check_rows(rows, source: str) -> list[dict]:
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise TypeError(f"{source}.run must return a list of dicts; got {type(rows).__name__}")
    for row in rows:
        missing = [k for k in REQUIRED_KEYS if k not in row]
        if missing:
            raise ValueError(f"{source}: result {row.get('name', '?')!r} lacks keys {missing}")
        if row.get("better", "higher") not in ("higher", "lower"):
            raise ValueError(f"{source}: result {row['name']!r} has better={row['better']!r}")
    return rows


def machine_info() -> dict:
    import numpy
    import scipy

    info = {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }
    if hasattr(os, "sched_getaffinity"):
        info["cpus_available"] = len(os.sched_getaffinity(0))
    if hasattr(os, "getloadavg"):
        info["load_average_at_start"] = os.getloadavg()
    return info


def to_json(value):
    """numpy scalars and arrays as plain JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def command_for(path: Path, quick: bool) -> str:
    return f"python benchmarks/run.py --only {path.stem.removeprefix('bench_')}" + (
        " --quick" if quick else ""
    )


def run_in_process(path: Path, quick: bool) -> dict:
    from _timing import lifetime_peak_rss_bytes

    start = time.perf_counter()
    try:
        rows = check_rows(load(path).run(quick), path.stem)
        entry = {"results": rows}
    except Exception:  # report and go on with the other benchmarks
        entry = {"error": traceback.format_exc()}
    for row in entry.get("results", []):
        row["met"] = met(row)
        row.setdefault("command", command_for(path, quick))
    entry.update(
        quick=quick,
        wall_seconds=time.perf_counter() - start,
        finished=datetime.datetime.now().isoformat(timespec="seconds"),
        peak_rss_bytes=lifetime_peak_rss_bytes(),
    )
    return entry


def run_one(path: Path, quick: bool) -> dict:
    """Run one benchmark module in a fresh subprocess (its own memory peak); returns its entry."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "entry.json"
        argv = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            str(path),
            "--child-output",
            str(out),
        ]
        proc = subprocess.run(argv + (["--quick"] if quick else []))
        if out.exists():
            return json.loads(out.read_text())
        return {
            "error": f"benchmark subprocess exited with status {proc.returncode} and no result",
            "quick": quick,
            "peak_rss_bytes": None,
        }


def print_table(entries: dict) -> None:
    print(f"{'name':<40} {'ratio':>10} {'target':>10}  met?  peak RSS")
    for module, entry in entries.items():
        if "error" in entry:
            print(f"{module:<40} {'ERROR':>10} {'':>10}  {entry['error'].strip().splitlines()[-1]}")
            continue
        if entry.get("peak_rss_bytes"):
            print(
                f"{module:<40} {'':>10} {'':>10}        {entry['peak_rss_bytes'] / 2**30:.2f} GiB (module)"
            )
        for row in entry["results"]:
            sign = "<=" if row.get("better", "higher") == "lower" else ">="
            ratio = "-" if row["ratio"] is None else format(row["ratio"], ".3g")
            target = "-" if row["target"] is None else sign + format(row["target"], ".3g")
            verdict = {True: "yes", False: "NO", None: "n/a"}[met(row)]
            rss = f"{row['peak_rss_bytes'] / 2**30:.2f} GiB" if row.get("peak_rss_bytes") else ""
            print(f"{row['name']:<40} {ratio:>10} {target:>10}  {verdict:<4}  {rss}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller problems, fewer repeats")
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="run only bench_NAME.py (repeatable)"
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS, help=f"JSON file (default {RESULTS})"
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sys.path.insert(
        0, str(HERE.parent)
    )  # the repository root, so `import sharpsim` needs no install
    sys.path.insert(0, str(HERE))  # the shared benchmarks/_timing.py
    if args.child is not None:  # one module, in this fresh process
        entry = run_in_process(args.child, args.quick)
        args.child_output.write_text(json.dumps(entry, default=to_json))
        return 0
    machine = machine_info()
    entries = {}
    for path in discover(args.only):
        print(f"running {path.stem} ...", flush=True)
        entries[path.stem] = run_one(path, args.quick)
    print_table(entries)
    previous = {}
    if args.only and args.output.exists():
        previous = json.loads(args.output.read_text()).get("benchmarks", {})
    args.output.parent.mkdir(parents=True, exist_ok=True)
    benchmarks = {**previous, **entries}
    peaks = [e.get("peak_rss_bytes") for e in benchmarks.values() if e.get("peak_rss_bytes")]
    report = {
        "machine": machine,
        "peak_rss_bytes_max_over_modules": max(peaks) if peaks else None,
        "benchmarks": benchmarks,
    }
    args.output.write_text(json.dumps(report, indent=2, default=to_json) + "\n")
    print(f"wrote {args.output}")
    return 1 if any("error" in e for e in entries.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
