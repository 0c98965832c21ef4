"""The subcommands of ``sharpsim``: one function each, ``func(args) -> exit status``."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

TORCH_HINT = 'the lm command needs the torch extra: pip install "sharpsim[torch]"'


class UsageError(Exception):
    """A mistake in the command line or its arguments: one line, exit status 2."""


def _prepare_out(path) -> Path:
    """Create the output folder (and check it is writable) before any work starts."""
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=out).close()
    except OSError as exc:
        raise UsageError(
            f"cannot write to the output folder {path}: {exc.strerror or exc}"
        ) from None
    return out


_DRAWING = ("sharpsim.plotting", "matplotlib.figure", "matplotlib.backends.backend_agg")


def _executor(args, draws: bool = False):
    from ..experiments.executors import open_executor

    return open_executor(
        jobs=args.jobs,
        dask_local_workers=args.dask_local,
        dask_scheduler_address=args.dask_scheduler,
        preload=_DRAWING if draws else (),
    )


def _workers(args) -> str:
    from ..experiments.executors import available_cores

    if args.dask_local:
        return f"Dask LocalCluster of {args.dask_local} workers"
    if args.dask_scheduler:
        return f"Dask cluster at {args.dask_scheduler}"
    jobs = args.jobs or available_cores()
    return "1 process" if jobs == 1 else f"{jobs} worker processes"


def _progress(args):
    """(progress flag for the bar, per-item log) from --quiet and whether we are on a terminal."""
    from ..experiments.mainjob import stderr_log

    if args.quiet:
        return False, None
    tty = sys.stdout.isatty() and sys.stderr.isatty()
    return None, (None if tty else stderr_log)


def _experiments(only):
    from .. import experiments

    known = {e.name: e for e in experiments.list()}
    if only:
        unknown = [n for n in only if n not in known]
        if unknown:
            raise UsageError(
                f"no experiment named {', '.join(map(repr, unknown))}; known: "
                f"{', '.join(known) or 'none'}"
            )
        return [known[n] for n in dict.fromkeys(only)]
    return [
        e for e in known.values() if e.backend == "numpy"
    ]  # real-LM ones: `sharpsim lm reproduce`


def _check_names() -> list[str]:
    from ..experiments.mainjob import check_names

    return check_names()


def _resolve_checks(only) -> list[str]:
    names = _check_names()
    if not only:
        return names
    chosen = []
    for given in only:
        name = given if given.startswith("check_") else f"check_{given}"
        if name not in names:
            raise UsageError(f"verify has no check {given!r}; known: {', '.join(names)}")
        chosen.append(name)
    return [n for n in names if n in chosen]


def _elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{seconds:.1f} s"


# --------------------------------------------------------------------------- subcommands


def _list(args) -> int:
    from .. import experiments
    from ..experiments import worlds

    exps = experiments.list()
    if not exps:
        print("No experiments are registered.")
    width = max([len(e.name) for e in exps] + [10])
    for exp in exps:
        figs = f"  [figures: {', '.join(exp.figures)}]" if exp.figures else ""
        figs += "  [torch: sharpsim lm reproduce]" if exp.backend == "torch" else ""
        print(f"{exp.name:{width}s}  {exp.description}{figs}")
    print(f"\nWorlds for 'sharpsim info': {', '.join(worlds.names())}")
    return 0


def _run(args) -> int:
    from .. import experiments
    from ..experiments.mainjob import data_folder

    try:
        exp = experiments.get(args.name)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    out = _prepare_out(args.out or data_folder("results/data", args.quick, exp.name))
    progress, _ = _progress(args)
    start = time.perf_counter()
    with _executor(args) as executor:
        records = experiments.run(
            exp,
            quick=args.quick,
            seeds=args.seeds,
            executor=executor,
            out=out,
            progress=progress,
            seed=args.seed,
        )
    tasks = len(exp.cells(args.quick)) * (
        args.seeds or (exp.quick_seeds if args.quick else exp.seeds)
    )
    print(
        f"{exp.name}: {tasks} tasks, {len(records)} records in {_elapsed(time.perf_counter() - start)} "
        f"-> {out / 'results.csv'}"
    )
    return 0


def _figures(args) -> int:
    from ..experiments.mainjob import run_job

    exps = _experiments(args.only)
    fig_dir, data_dir = _prepare_out(args.out), _prepare_out(args.data)
    progress, log = _progress(args)
    with _executor(args, draws=True) as executor:
        job = run_job(
            exps,
            None,
            quick=args.quick,
            seed=args.seed,
            executor=executor,
            data_dir=data_dir,
            fig_dir=fig_dir,
            progress=progress,
            log=log,
            desc="figures",
        )
    for name in job.sweeps:
        if name in job.figure_errors:
            print(f"{name}: figure FAILED: {job.figure_errors[name]}")
        else:
            print(f"{name}: {', '.join(str(p) for p in job.figures.get(name, []))}")
    print(f"{len(job.sweeps)} experiments in {_elapsed(job.seconds)}; data in {data_dir}")
    return 0 if job.passed else 1


def _verify(args) -> int:
    from ..experiments.mainjob import run_job

    checks = _resolve_checks(args.only)
    json_path = Path(args.json) if args.json else None
    if json_path is not None:
        _prepare_out(json_path.parent if str(json_path.parent) else ".")
    progress, log = _progress(args)
    with _executor(args) as executor:
        job = run_job(
            [],
            checks,
            quick=args.quick,
            seed=args.seed,
            executor=executor,
            data_dir=None,
            progress=progress,
            log=log,
            desc="verify",
        )
    assert job.verify is not None  # checks were asked for
    print(job.verify.table())
    if json_path is not None:
        json_path.write_text(job.verify.to_json())
        print(f"wrote {json_path}")
    return 0 if job.verify.passed else 1


def _info(args) -> int:
    from ..experiments import worlds

    print(worlds.format_info(worlds.describe(args.world)))
    return 0


def _demo(args) -> int:
    from ..demo import run_demo

    print(run_demo(seed=args.seed).text)
    return 0


def _reproduce(args) -> int:
    from ..experiments.mainjob import run_job, write_report

    quick = not args.full
    out = _prepare_out(args.out or ("results" if quick else "results-full"))
    fig_dir = _prepare_out(out / "figures")
    progress, log = _progress(args)
    exps, checks = _experiments(None), _check_names()
    if not args.quiet:
        print(
            f"sharpsim reproduce: {len(exps)} experiments ({'quick' if quick else 'paper-scale'} grids) and "
            f"{len(checks)} theorem checks on {_workers(args)}, into {out}/",
            file=sys.stderr,
            flush=True,
        )
    with _executor(args, draws=True) as executor:
        job = run_job(
            exps,
            checks,
            quick=quick,
            seed=args.seed,
            executor=executor,
            data_dir=out / "data",
            fig_dir=fig_dir,
            progress=progress,
            log=log,
            desc="reproduce",
        )
    assert job.verify is not None  # checks were asked for
    (out / "verify.txt").write_text(job.verify.table() + "\n")
    (out / "verify.json").write_text(job.verify.to_json())
    command = "sharpsim reproduce" + (" --full" if args.full else "")
    report = write_report(
        out, job, quick=quick, seed=args.seed, workers=_workers(args), command=command
    )
    print(job.verify.table())
    n_files = sum(len(paths) for paths in job.figures.values())
    print(
        f"\n{len(job.sweeps)} experiments, {n_files} figure files in {fig_dir}; sweep data in {out / 'data'}"
    )
    for name, reason in job.figure_errors.items():
        print(f"figure {name} FAILED: {reason}")
    print(f"report: {report}  ({_elapsed(job.seconds)}, {_workers(args)})")
    return 0 if job.passed else 1


def _lm(argv: list[str]) -> int:
    try:
        from ..torch.cli import main as lm_main
    except ImportError:
        raise UsageError(TORCH_HINT) from None
    try:
        return lm_main(argv)
    except SystemExit as exc:  # its argparse: --help, usage errors
        return exc.code if isinstance(exc.code, int) else 2


# --------------------------------------------------------------------------- the parser
