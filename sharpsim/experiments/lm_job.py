"""``sharpsim lm reproduce``: the real-LM study's sweeps, figures and its report section.

:func:`run_study` loads the model once (timed), runs ``lm_bon``, ``lm_table``
and ``lm_ablation`` (:mod:`sharpsim.experiments.lm_study`) through the main
job's :func:`~sharpsim.experiments.mainjob.run_job` in this process (torch
uses the cores itself), with the chosen model, device and dtype put into the
grids, and writes::

    OUT/data/{quick,full}/NAME/results.csv, manifest.json   resumable sweeps
    OUT/data/timings.jsonl                                   seconds per task, every run
    OUT/figures/NAME.png, NAME.pdf
    OUT/report.md                                            the "Real LM" section

``size="smoke"`` is the plumbing check (tiny sizes; data under ``OUT/data/smoke``).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

from . import lm_model, lm_study
from .executors import InProcessExecutor
from .mainjob import JobResult, run_job
from .registry import Experiment, get
from .runner import _git_commit, _version

NAMES = ("lm_bon", "lm_table", "lm_ablation")
#: The plumbing check's sizes and methods (CI smoke, tests).
SMOKE = {"n_test": 2, "n_train": 2, "N_max": 4, "max_new_tokens": 4}
SMOKE_METHODS = {
    "lm_table": [
        "sft N=2 lr=0.001 epochs=1 lora_r=4",
        "dpo beta=0.5 lr=0.001 epochs=1 lora_r=4",
        "xpo T=1 beta=0.5 alpha=0.01 lr=0.001 inner_steps=1 prompts_per_round=2 lora_r=4",
    ],
    "lm_ablation": ["sft N=2 lr=0.001 epochs=1 lora_r=0"],
}
SIZES = ("smoke", "quick", "full")


class _Timed:
    """``func`` that appends its seconds to ``timings.jsonl`` and prints one line per task."""

    def __init__(self, func, name: str, path: Path, log):
        self.func, self.name, self.path, self.log = func, name, path, log

    def __call__(self, rng, **cell):
        start = time.perf_counter()
        out = self.func(rng, **cell)
        seconds = time.perf_counter() - start
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"experiment": self.name, "seconds": round(seconds, 3)}) + "\n")
        what = cell.get("method") or cell.get("task_kind")
        self.log(f"{self.name}: {what} done in {seconds:.1f} s")
        return out


def study(size: str, model: str, device: str, dtype: str, seeds: int | None, timings, log):
    """The three experiments with ``model``/``device``/``dtype`` (and smoke sizes) in their grids."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}; got {size!r}")
    exps = []
    for name in NAMES:
        exp: Experiment = get(name)
        grid = dict(exp.grid if size == "full" else exp.quick_grid)
        grid.update(model=[model], device=[device], dtype=[dtype])
        if "task_kind" in grid:  # one task per kind: finer progress and resumption
            grid["task_kind"] = list(lm_model.task_kinds())
        if size == "smoke":
            grid.update({k: [v] for k, v in SMOKE.items() if k in grid})
            if "method" in grid:
                grid["method"] = SMOKE_METHODS[name]
        count = seeds or (exp.seeds if size == "full" else exp.quick_seeds)
        func = _Timed(exp.func, name, timings, log)
        exp = dataclasses.replace(exp, func=func, seeds=count, quick_seeds=count)
        if size == "full":
            exps.append(dataclasses.replace(exp, grid=grid))
        else:
            exps.append(dataclasses.replace(exp, quick_grid=grid))
    return exps


def run_study(
    out,
    *,
    size: str = "quick",
    seeds: int | None = None,
    seed: int = 0,
    model: str = "smollm2",
    device: str = "cpu",
    dtype: str = "float32",
    progress: bool | None = None,
    log=None,
    command: str = "sharpsim lm reproduce",
) -> JobResult:
    """Run the real-LM study into ``out`` (resumable) and write ``out/report.md``; the job's result.

    Bad ``model``/``device``/``dtype``/``seeds`` raise ``ValueError`` before the model loads.
    """
    if seeds is not None and (isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1):
        raise ValueError(f"seeds must be an int >= 1; got {seeds!r}")
    lm_model.check_model_args(model, device, dtype)
    log = log or (lambda line: None)
    out = Path(out)
    data = out / "data" / ("smoke" if size == "smoke" else "")
    timings = data / "timings.jsonl"
    exps = study(size, model, device, dtype, seeds, timings, log)
    for exp in exps:
        for cell in exp.cells(quick=size != "full"):
            lm_model.check_sizes(cell["n_test"], cell.get("n_train", 0))
    data.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    lm_model.load_policy(model, device, dtype)
    load = time.perf_counter() - start
    log(f"model {model} loaded in {load:.1f} s")
    job = run_job(
        exps,
        None,
        quick=size != "full",
        seed=seed,
        executor=InProcessExecutor(),
        data_dir=data,
        fig_dir=out / "figures",
        progress=progress,
        log=log,
        desc="lm reproduce",
    )
    write_report(
        out, job, size=size, seed=seed, load_seconds=load, timings=timings, command=command
    )
    return job


def part_seconds(timings: Path) -> dict:
    """Seconds spent per experiment over every run that wrote ``timings`` (resumed runs add up)."""
    total: dict = {}
    if timings.is_file():
        for line in timings.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            total[entry["experiment"]] = total.get(entry["experiment"], 0.0) + entry["seconds"]
    return total


def write_report(out: Path, job: JobResult, *, size, seed, load_seconds, timings, command) -> Path:
    """``out/report.md``: the "Real LM" section (tables, figures, command, timings)."""
    from ..plotting import lm_stats

    records = {name: sweep.finish() for name, sweep in job.sweeps.items() if sweep.complete}
    bon, table = records.get("lm_bon", []), records.get("lm_table", [])
    first = (bon or table or [{}])[0]
    commit = _git_commit()
    N = min(lm_study.TABLE_N, max((r["N"] for r in bon), default=lm_study.TABLE_N))
    lines = [
        "# Real LM: sharpening on a causal language model",
        "",
        f"`{command}` — sharpsim {_version()}"
        + (f" (commit `{commit[:12]}`)" if commit else "")
        + f", {size} sizes, seed {seed}, model `{first.get('model')}` ({first.get('dtype')}, "
        f"{first.get('device')}), finished {time.strftime('%Y-%m-%d %H:%M:%S %Z')}.",
        "",
        *_settings(job),
        "## Timings",
        "",
        "| part | seconds |",
        "|---|---|",
        f"| model load | {load_seconds:.1f} |",
    ]
    seconds = part_seconds(timings)
    lines += [f"| {name} | {seconds.get(name, 0.0):.1f} |" for name in job.sweeps]
    lines += [f"| whole run (this invocation) | {job.seconds + load_seconds:.1f} |", ""]
    if bon and table:
        rows = lm_stats.table1(bon, table, N)
        sft = next((r for r in rows if r.kind == "all" and r.method.startswith("SFT")), None)
        lines += [
            "## Table 1 analogue (all task kinds pooled)",
            "",
            lm_stats.markdown_overall(rows),
            "",
            "Mean [95% interval]; intervals: " + _interval_kinds(rows) + " (greedy: bootstrap over "
            "prompts, it is deterministic). Queries: sample-and-evaluate queries (Def. 3.2).",
            "",
        ]
        if sft is not None and sft.delta is not None:
            verdict = "excludes 0" if sft.delta.excludes_zero else "does NOT exclude 0"
            lines += [
                f"SFT-sharpening: the paired difference of base log-likelihood (sharpened greedy − "
                f"base greedy) is {sft.delta.text(2)} nats; its interval **{verdict}**.",
                "",
            ]
        lines += ["### Accuracy per task kind", "", lm_stats.markdown_by_kind(rows), ""]
        lines += ["### Δ log-likelihood vs base greedy per task kind", ""]
        lines += [lm_stats.markdown_by_kind([r for r in rows if r.delta], "delta"), ""]
    if records.get("lm_ablation"):
        lines += [
            "## Ablation (SFT-sharpening)",
            "",
            lm_stats.markdown_ablation(records["lm_ablation"]),
            "",
        ]
    lines += _figures_section(out, job)
    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _settings(job: JobResult) -> list[str]:
    """One line per experiment: its seeds and grid (sizes, methods) as run."""
    lines = ["## Settings", ""]
    for name, sweep in job.sweeps.items():
        shown = {k: v for k, v in sweep.grid.items() if k not in ("model", "device", "dtype")}
        grid = "; ".join(
            f"{k}: " + ", ".join(f"`{x}`" if isinstance(x, str) else str(x) for x in v)
            for k, v in shown.items()
        )
        lines.append(f"- `{name}` ({sweep.seeds} seed(s)): {grid}")
    return [*lines, ""]


def _figures_section(out: Path, job: JobResult) -> list[str]:
    lines = ["## Figures", ""]
    for name, sweep in job.sweeps.items():
        lines += [f"### {name}", "", sweep.experiment.description, ""]
        if name in job.figure_errors:
            lines += [f"Figure failed: `{job.figure_errors[name]}`", ""]
        for path in job.figures.get(name, []):
            if path.suffix == ".png":
                lines += [
                    f"![{path.stem}]({path.resolve().relative_to(out.resolve()).as_posix()})",
                    "",
                ]
        data = Path(sweep.out, "results.csv").relative_to(out).as_posix()
        lines += [
            f"Data: `{data}` ({len(sweep.units)} tasks: {len(sweep.cells)} cells × "
            f"{sweep.seeds} seeds).",
            "",
        ]
    return lines


def stderr_log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _interval_kinds(rows) -> str:
    """What each pooled row's interval is taken over, e.g. ``t over 3 seeds (best-of-16); t over 5 seeds (...)``."""
    kinds: dict[str, list[str]] = {}
    for r in rows:
        if r.kind == "all" and r.delta is not None:
            kinds.setdefault(r.accuracy.how, []).append(r.method)
    return "; ".join(f"{how} ({', '.join(methods)})" for how, methods in kinds.items())
