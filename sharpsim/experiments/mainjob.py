"""The jobs behind ``sharpsim figures``, ``sharpsim verify`` and ``sharpsim reproduce``.

:func:`run_job` puts every unfinished (cell, seed) of the chosen experiments
and every chosen theorem check into one executor, under one progress bar,
and draws each experiment's figures (``sharpsim.plotting.figure``, as one
more task of the executor, first in line) as soon as its sweep is complete. Tasks are
submitted longest first by their estimated cost (:data:`TASK_SECONDS`), the
cheapest in batches, so the checks and the sweeps overlap and no worker is
left alone with a long tail. Each check runs as
``verify.run(quick, seed, only=[check])``, whose random stream is keyed by
the check's position in ``ALL_CHECKS``: the rows are the same as one serial
``verify.run``.

:func:`write_report` writes the one-page ``report.md`` of the main job.

Layout of an output folder ``OUT`` of ``sharpsim reproduce``::

    OUT/report.md                        the one-page report
    OUT/figures/NAME.png, NAME.pdf       one or more per experiment
    OUT/data/quick/NAME/results.csv      each sweep's records (+ manifest.json)
    OUT/verify.txt, OUT/verify.json      the theorem-check table and its numbers
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .drive import Interrupted, drive, progress_bar
from .executors import InProcessExecutor
from .registry import Experiment
from .runner import Sweep, _git_commit, _version, kept_line

if TYPE_CHECKING:
    from ..theory.verify.report import VerifyReport


def data_folder(data_dir, quick: bool, name: str) -> Path:
    """Where a sweep's results live: ``DATA/quick/NAME`` or ``DATA/full/NAME``."""
    return Path(data_dir) / ("quick" if quick else "full") / name


def verify_one(quick: bool, seed: int, name: str):
    """One theorem check's row (run in a worker): ``verify.run(quick, seed, only=[name]).rows[0]``."""
    from ..theory.verify import run

    return run(quick=quick, seed=seed, only=[name]).rows[0]


def check_names() -> list[str]:
    """Names of every theorem check, in ``verify``'s order."""
    from ..theory.verify import ALL_CHECKS

    return [check.__name__ for check in ALL_CHECKS]


# Seconds per task on one core (quick grids, measured with benchmarks/bench_experiments.py's
# cost table). Only the order of tasks depends on them, never a result; unknown names cost
# DEFAULT_SECONDS. Full grids keep the same relative order.
TASK_SECONDS = {
    "adaptive_sft": 0.25,
    "amortization": 0.025,
    "bon_concentration": 0.1,
    "bon_lift": 0.09,
    "bon_loglik": 0.085,
    "decoding": 0.3,
    "loglik_correctness": 0.007,
    "phase_transition": 0.22,
    "sample_size": 0.18,
    "separation": 0.15,
    "sft_error": 0.12,
    "xpo_dynamics": 0.09,
    "power_chain": 0.7,
    "imperfect_scaling": 0.005,
    "imperfect_rates": 0.005,
    "itp_heatmap": 0.02,
    "check_separation": 1.6,
    "check_sft_slopes": 1.0,
    "check_adaptive_slope": 0.6,
    "check_sft_bound": 0.55,
    "check_lower_bound_phase": 0.16,
    "check_prop_e1": 0.1,
    "check_prop_e2": 0.06,
    "check_power_chain": 0.23,
    "check_itp_sampler": 0.05,
    "check_itp_bound": 0.045,
    "check_power_sampling": 0.02,
    "check_chi2_regularized": 0.02,
    "check_bon_imperfect_upper": 0.02,
    "check_minimax_two_point": 0.01,
    "check_reward_hacking": 0.005,
}
DEFAULT_SECONDS = 0.1
CHUNK_SECONDS = 0.05  # tasks cheaper than this go to a worker in batches of about BATCH_SECONDS
BATCH_SECONDS = 0.25


@dataclass
class JobResult:
    """What :func:`run_job` produced."""

    sweeps: dict = field(default_factory=dict)  # name -> Sweep
    figures: dict = field(default_factory=dict)  # name -> [Path]
    figure_errors: dict = field(default_factory=dict)  # name -> one-line reason
    verify: VerifyReport | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.figure_errors and (self.verify is None or self.verify.passed)


def run_batch(calls) -> list:
    """Run ``fn(*args)`` for each ``(label, fn, args)`` in a worker; a failure names its task."""
    from .drive import TaskError

    out = []
    for label, fn, args in calls:
        try:
            out.append(fn(*args))
        except Exception as exc:
            raise TaskError(f"{label} failed: {type(exc).__name__}: {exc}") from exc
    return out


def schedule(tasks: list[tuple], cost) -> list[tuple]:
    """The tasks longest first, cheap ones in batches: ``(key, label, fn, args)`` in, the same out.

    ``cost(key)`` estimates a task's seconds. Sorting longest first (LPT) keeps
    the last seconds of a job from running on one worker while the others
    idle; a batch of cheap tasks is one submission whose key is
    ``("batch", [keys])`` and whose value is the list of their values.
    """
    ordered = sorted(tasks, key=lambda t: -cost(t[0]))  # stable: grid order within a cost
    out, batch, batch_cost = [], [], 0.0
    for task in ordered:
        seconds = cost(task[0])
        if seconds >= CHUNK_SECONDS:
            out.append(task)
            continue
        batch.append(task)
        batch_cost += seconds
        if batch_cost >= BATCH_SECONDS:
            out.append(_as_batch(batch))
            batch, batch_cost = [], 0.0
    if batch:
        out.append(_as_batch(batch))
    return out


def _as_batch(batch: list[tuple]) -> tuple:
    if len(batch) == 1:
        return batch[0]
    labels = f"{batch[0][1]} .. {batch[-1][1]} ({len(batch)} tasks)"
    calls = [(label, fn, args) for _, label, fn, args in batch]
    return ("batch", [key for key, *_ in batch]), labels, run_batch, (calls,)


def _cost(key) -> float:
    name = key[1]
    return TASK_SECONDS.get(name, DEFAULT_SECONDS)


def run_job(
    experiments: list[Experiment],
    checks: list[str] | None,
    *,
    quick: bool,
    seed: int,
    executor,
    data_dir,
    fig_dir=None,
    progress: bool | None = None,
    log=None,
    desc: str = "sharpsim",
) -> JobResult:
    """Run sweeps (saved under ``data_dir``), render figures into ``fig_dir`` and run ``checks``.

    Every sweep folder is locked for the job's life (see
    :mod:`sharpsim.experiments.lock`). Tasks go to ``executor`` longest first
    (:data:`TASK_SECONDS`), cheap ones in batches; each experiment's figures
    are drawn by a worker as soon as its sweep is complete (by this process
    on a Dask executor, whose workers may not share its file system), while
    the other workers go on with the rest.

    Args:
        experiments: the experiments to sweep (their quick or full grids).
        checks: theorem-check names for ``verify``, or ``None`` for none.
        quick: quick grids and ``verify --quick``, or the full ones.
        seed: root seed of every sweep and of the checks.
        executor: a ``concurrent.futures.Executor``.
        data_dir: sweeps go to ``data_folder(data_dir, quick, name)`` (resumable).
        fig_dir: figures folder, or ``None`` to skip rendering.
        progress: the tqdm bar (``None``: on a terminal only).
        log: a callable taking one line per finished experiment or check
            (used when there is no bar), or ``None``.
    """
    start = time.perf_counter()
    log = log or (lambda line: None)
    result = JobResult()
    try:
        for exp in experiments:
            folder = data_folder(data_dir, quick, exp.name)
            result.sweeps[exp.name] = Sweep(exp, quick=quick, seed=seed, out=folder, lock=True)
        _run_job(result, checks, quick, seed, executor, data_dir, fig_dir, progress, log, desc)
    finally:
        for sweep in result.sweeps.values():
            sweep.close()
    result.seconds = time.perf_counter() - start
    return result


def _run_job(result, checks, quick, seed, executor, data_dir, fig_dir, progress, log, desc):
    rows: dict[str, object] = {}
    tasks = [
        (("verify", name), f"check {name}", verify_one, (quick, seed, name))
        for name in checks or []
    ]
    for name, sweep in result.sweeps.items():
        tasks += [
            (("sweep", name, unit), label, fn, args) for unit, label, fn, args in sweep.tasks()
        ]
    renders = len(result.sweeps) if fig_dir is not None else 0
    bar = progress_bar(len(tasks) + renders, desc, progress)
    queue = collections.deque(schedule(tasks, _cost))
    local = isinstance(executor, (cf.ProcessPoolExecutor, InProcessExecutor))
    counts: dict[str, int] = {}

    def drawn(name: str) -> None:
        shown = result.figure_errors.get(name) or ", ".join(
            p.name for p in result.figures.get(name, [])
        )
        log(
            f"experiment {name}: {len(result.sweeps[name].units)} tasks, {counts[name]} records"
            + (f"; figures: {shown}" if fig_dir is not None else "")
        )

    def finished_sweep(name: str) -> None:
        sweep = result.sweeps[name]
        records = sweep.finish()
        counts[name] = len(records)
        if fig_dir is None:
            drawn(name)
            return
        figures = list(sweep.experiment.figures) or [name]
        if local:  # drawn by a worker while the others go on; first in line
            queue.appendleft(
                (("render", name), f"figures of {name}", draw, (figures, records, Path(fig_dir)))
            )
        else:  # a Dask worker may not share this file system: draw here
            on_result(("render", name), draw(figures, records, Path(fig_dir)))
            bar.update(1)

    def on_result(key, value) -> None:
        if key[0] == "batch":
            for one, one_value in zip(key[1], value):
                on_result(one, one_value)
            bar.update(len(key[1]) - 1)  # drive counted the batch once
            return
        if key[0] == "verify":
            rows[key[1]] = value
            log(f"[{'PASS' if value.passed else 'FAIL'}] {value.result} ({value.seconds:.1f}s)")
            return
        if key[0] == "render":
            paths, errors = value
            result.figures[key[1]] = paths
            if errors:
                result.figure_errors[key[1]] = "; ".join(errors)
            drawn(key[1])
            return
        sweep = result.sweeps[key[1]]
        sweep.add(key[2], value)
        if sweep.complete:
            finished_sweep(key[1])

    try:
        for name, sweep in result.sweeps.items():
            if sweep.complete:  # nothing left from an earlier run: draw it now
                finished_sweep(name)
        drive(executor, queue, on_result, bar)
    except KeyboardInterrupt:
        if not result.sweeps:
            raise Interrupted(
                "theorem checks keep no partial results: rerun the same command to start again"
            ) from None
        raise Interrupted(kept_line(result.sweeps.values(), data_dir)) from None
    finally:
        bar.close()
    if checks is not None:
        from ..theory.verify import VerifyReport

        result.verify = VerifyReport([rows[name] for name in checks], quick=quick, seed=seed)


def draw(figures: list[str], records: list[dict], fig_dir: Path) -> tuple[list[Path], list[str]]:
    """Draw ``figures`` from ``records`` into ``fig_dir`` (in a worker): their paths, and a reason per failure.

    One broken figure must not lose the others: its failure comes back as a
    one-line reason (reported, exit status 1).
    """
    from .. import plotting

    paths, errors = [], []
    for fig in figures:
        try:
            paths += [Path(p) for p in plotting.figure(fig, records, Path(fig_dir))]
        except Exception as exc:
            errors.append(f"{fig}: {type(exc).__name__}: {exc}")
    return paths, errors


def _caption(fig: str) -> str:
    try:
        from ..plotting import FIGURES
    except ImportError:  # pragma: no cover - plotting is part of the package
        return ""
    spec = FIGURES.get(fig)
    return getattr(spec, "caption", "") if spec is not None else ""


def write_report(
    out: Path, job: JobResult, *, quick: bool, seed: int, workers: str, command: str
) -> Path:
    """Write ``out/report.md``: every figure embedded, the sweeps' data files and the verify table."""
    commit = _git_commit()
    mode = "quick grids" if quick else "paper-scale grids"
    lines = [
        "# sharpsim: reproduction report",
        "",
        f"`{command}` — sharpsim {_version()}"
        + (f" (commit `{commit[:12]}`)" if commit else "")
        + f", {mode}, seed {seed}, {workers}, {job.seconds:.0f} s, "
        f"finished {time.strftime('%Y-%m-%d %H:%M:%S %Z')}.",
        "",
        "Verdict: " + ("**all checks passed**" if job.passed else "**FAILED** (see below)"),
        "",
        "## Figures",
        "",
    ]
    if not job.sweeps:
        lines += ["No experiments are registered in this installation.", ""]
    for name, sweep in job.sweeps.items():
        data = Path(sweep.out, "results.csv").relative_to(out).as_posix() if sweep.out else "none"
        lines += [f"### {name}", "", sweep.experiment.description, ""]
        if name in job.figure_errors:
            lines += [f"Figure failed: `{job.figure_errors[name]}`", ""]
        for path in job.figures.get(name, []):
            if path.suffix == ".png":
                rel = (
                    path.resolve().relative_to(out.resolve())
                    if path.resolve().is_relative_to(out.resolve())
                    else path
                )
                caption = _caption(path.stem)
                lines += [f"![{path.stem}]({rel.as_posix()})", ""]
                if caption and caption != sweep.experiment.description:
                    lines += [f"*{path.stem}: {caption}*", ""]
        lines += [
            f"Data: `{data}` ({len(sweep.units)} tasks: {len(sweep.cells)} cells × "
            f"{sweep.seeds} seeds).",
            "",
        ]
    if job.verify is not None:
        lines += [
            "## Theorem check (`sharpsim verify" + (" --quick" if quick else "") + "`)",
            "",
            "```text",
            job.verify.table(),
            "```",
            "",
        ]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path


def stderr_log(line: str) -> None:
    """Print one progress line to stderr (the job's log when no bar is shown)."""
    print(line, file=sys.stderr, flush=True)


__all__ = ["JobResult", "check_names", "data_folder", "run_job", "verify_one", "write_report"]
