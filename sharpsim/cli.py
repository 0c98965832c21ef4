"""The ``sharpsim`` command (also ``python -m sharpsim``).

Subcommands:
  list       the registered experiments (and the named worlds of ``info``)
  run        one experiment's sweep, grid × seeds, saved (resumable) to --out
  figures    sweep experiments and draw their paper-style figures
  verify     check every stated result of the paper numerically (exit 1 on any FAIL)
  info       exact quantities of a named toy world
  demo       the README's worked example on an embedded toy world
  reproduce  the main job: figures + theorem check + a one-page report.md
  lm         the optional torch backend on a real causal LM (``sharpsim[torch]``)

Exit status: 0 success; 1 a check or a figure failed, or a task crashed;
2 a usage error (one line on stderr, no traceback; ``--debug`` shows it);
130 interrupted by Ctrl-C, 143 by SIGTERM (one line says what was kept; finished
sweep tasks are on disk: rerun the same command to resume).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

EXECUTOR_HELP = (
    "Where the work runs: --jobs J worker processes on this machine (default: every core; "
    "1 runs in-process), --dask-local N a Dask LocalCluster of N workers on 127.0.0.1, "
    "--dask-scheduler tcp://HOST:PORT an existing Dask cluster (both need sharpsim[dask]). "
    "Results are identical whichever runs them."
)
TORCH_HINT = 'the lm command needs the torch extra: pip install "sharpsim[torch]"'


class UsageError(Exception):
    """A mistake in the command line or its arguments: one line, exit status 2."""


class _Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an interrupt so the run stops as cleanly as on Ctrl-C (exit 143)."""


def _on_sigterm(signum, frame):
    raise _Terminated()


def _interrupted(exc: KeyboardInterrupt) -> int:
    """Print the one line of an interrupted command (what was kept, how to resume); its exit status."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this line short
    from .experiments.drive import Interrupted

    kept, terminated = None, False
    seen: BaseException | None = exc
    while seen is not None:  # an interrupt during the clean-up hides the first one's context
        terminated = terminated or isinstance(seen, _Terminated)
        if isinstance(seen, Interrupted) and kept is None:
            kept = str(seen)
        seen = seen.__context__
    what = "terminated" if terminated else "interrupted"
    kept = kept or "no task had finished: rerun the same command to start again"
    sys.stderr.write(f"sharpsim: {what}; {kept}\n")  # one write, so one whole line
    sys.stderr.flush()
    return 128 + (signal.SIGTERM if terminated else signal.SIGINT)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _int_at_least(minimum: int, what: str):
    """An argparse type: an int ``>= minimum``, with a one-line message naming ``what`` otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected a {what} integer, got {text!r}")
        return value

    return parse


_nonnegative = _int_at_least(0, "non-negative")
_positive = _int_at_least(1, "positive")


def _address(text: str) -> str:
    if "://" not in text:
        raise argparse.ArgumentTypeError(f"expected an address like tcp://HOST:PORT, got {text!r}")
    return text


# --------------------------------------------------------------------------- helpers


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
    from .experiments.executors import open_executor

    return open_executor(
        jobs=args.jobs,
        dask_local_workers=args.dask_local,
        dask_scheduler_address=args.dask_scheduler,
        preload=_DRAWING if draws else (),
    )


def _workers(args) -> str:
    from .experiments.executors import available_cores

    if args.dask_local:
        return f"Dask LocalCluster of {args.dask_local} workers"
    if args.dask_scheduler:
        return f"Dask cluster at {args.dask_scheduler}"
    jobs = args.jobs or available_cores()
    return "1 process" if jobs == 1 else f"{jobs} worker processes"


def _progress(args):
    """(progress flag for the bar, per-item log) from --quiet and whether we are on a terminal."""
    from .experiments.mainjob import stderr_log

    if args.quiet:
        return False, None
    tty = sys.stdout.isatty() and sys.stderr.isatty()
    return None, (None if tty else stderr_log)


def _experiments(only):
    from . import experiments

    known = {e.name: e for e in experiments.list()}
    if only:
        unknown = [n for n in only if n not in known]
        if unknown:
            raise UsageError(
                f"no experiment named {', '.join(map(repr, unknown))}; known: "
                f"{', '.join(known) or 'none'}"
            )
        return [known[n] for n in dict.fromkeys(only)]
    return list(known.values())


def _check_names() -> list[str]:
    from .experiments.mainjob import check_names

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
    from . import experiments
    from .experiments import worlds

    exps = experiments.list()
    if not exps:
        print("No experiments are registered.")
    width = max([len(e.name) for e in exps] + [10])
    for exp in exps:
        figs = f"  [figures: {', '.join(exp.figures)}]" if exp.figures else ""
        print(f"{exp.name:{width}s}  {exp.description}{figs}")
    print(f"\nWorlds for 'sharpsim info': {', '.join(worlds.names())}")
    return 0


def _run(args) -> int:
    from . import experiments
    from .experiments.mainjob import data_folder

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
    from .experiments.mainjob import run_job

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
    from .experiments.mainjob import run_job

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
    from .experiments import worlds

    print(worlds.format_info(worlds.describe(args.world)))
    return 0


def _demo(args) -> int:
    from .demo import run_demo

    print(run_demo(seed=args.seed).text)
    return 0


def _reproduce(args) -> int:
    from .experiments.mainjob import run_job, write_report

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
        from .torch.cli import main as lm_main
    except ImportError:
        raise UsageError(TORCH_HINT) from None
    try:
        return lm_main(argv)
    except SystemExit as exc:  # its argparse: --help, usage errors
        return exc.code if isinstance(exc.code, int) else 2


# --------------------------------------------------------------------------- the parser


def _add_executor(parser) -> None:
    group = parser.add_argument_group("executor", EXECUTOR_HELP).add_mutually_exclusive_group()
    group.add_argument(
        "--jobs", type=_positive, metavar="J", help="worker processes (default: every core)"
    )
    group.add_argument(
        "--dask-local", type=_positive, metavar="N", help="start a Dask LocalCluster of N workers"
    )
    group.add_argument(
        "--dask-scheduler",
        type=_address,
        metavar="ADDR",
        help="join the Dask scheduler at tcp://HOST:PORT",
    )


def _add_seed(parser, what: str) -> None:
    parser.add_argument(
        "--seed",
        type=_nonnegative,
        default=0,
        metavar="S",
        help=f"root seed (a non-negative integer, default 0); {what}",
    )


def _add_quiet(parser) -> None:
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar or progress lines (the bar shows only on a terminal anyway)",
    )


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    common = _Parser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the full traceback on errors",
    )
    parser = _Parser(
        prog="sharpsim",
        parents=[common],
        description="Simulate self-improvement by sharpening (Huang et al., ICLR 2025).",
        epilog="Exit status: 0 ok; 1 a check or figure failed or a task crashed; 2 a usage error; "
        "130 interrupted (Ctrl-C), 143 terminated (SIGTERM): finished sweep tasks are kept, rerun to resume. "
        "Run 'sharpsim COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"sharpsim {__version__}")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )

    def add(name, func, help_text, **kwargs):
        p = sub.add_parser(name, help=help_text, description=help_text, parents=[common], **kwargs)
        p.set_defaults(func=func)
        return p

    add("list", _list, "list the registered experiments and the named worlds")

    run = add(
        "run", _run, "run one experiment's sweep (grid × seeds); resumable with the same --out"
    )
    run.add_argument("name", metavar="NAME", help="an experiment name (see 'sharpsim list')")
    run.add_argument(
        "--quick", action="store_true", help="the small grid and seed count (default: full grid)"
    )
    run.add_argument(
        "--seeds",
        type=_positive,
        metavar="K",
        help="seeds per grid cell (default: the experiment's); a sweep may have at most "
        "1,000,000 tasks (cells x seeds) and must fit in half the available memory at about "
        "4 KiB a task, or it is refused before anything runs",
    )
    _add_seed(run, "cell c, seed k uses SeedSequence(S, spawn_key=(c, k))")
    run.add_argument(
        "--out",
        metavar="DIR",
        help="folder for results.csv and manifest.json (default: results/data/{quick|full}/NAME)",
    )
    _add_executor(run)
    _add_quiet(run)

    figures = add("figures", _figures, "sweep experiments and draw their figures (PNG and PDF)")
    figures.add_argument(
        "--quick", action="store_true", help="quick grids (default: the paper-scale grids)"
    )
    figures.add_argument(
        "--only", nargs="+", metavar="NAME", help="only these experiments (see 'sharpsim list')"
    )
    figures.add_argument(
        "--out", default="figures", metavar="DIR", help="folder for the figures (default: figures/)"
    )
    figures.add_argument(
        "--data",
        default="results/data",
        metavar="DIR",
        help="folder for the sweeps' results, reused when rerun (default: results/data/)",
    )
    _add_seed(figures, "every sweep derives its streams from it")
    _add_executor(figures)
    _add_quiet(figures)

    names = _check_names()
    verify = add("verify", _verify, "check the paper's results numerically (exit 1 on any FAIL)")
    verify.add_argument(
        "--quick", action="store_true", help="the CI-sized run (default: the full one)"
    )
    _add_seed(verify, "each check gets its own stream from SeedSequence(S).spawn")
    verify.add_argument(
        "--only",
        nargs="+",
        metavar="CHECK",
        help="run only these checks (the check_ prefix is optional): "
        + ", ".join(n.removeprefix("check_") for n in names),
    )
    verify.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    _add_executor(verify)
    _add_quiet(verify)

    from .experiments.worlds import names as world_names

    info = add(
        "info",
        _info,
        "exact quantities of a named toy world (coverage, margin, mode mass, |Y|, ...)",
    )
    info.add_argument(
        "world", metavar="WORLD", choices=world_names(), help="one of: " + ", ".join(world_names())
    )

    demo = add("demo", _demo, "the README's worked example on a seeded toy world")
    _add_seed(demo, "it seeds the toy world and the best-of-N draw")

    rep = add(
        "reproduce",
        _reproduce,
        "the main job: every experiment's figures, the theorem check and a one-page report.md",
    )
    rep.add_argument(
        "--full",
        action="store_true",
        help="paper-scale grids and the full theorem check (default: quick, a few minutes)",
    )
    rep.add_argument(
        "--out",
        metavar="DIR",
        help="output folder (default: results/, or results-full/ with --full): report.md, "
        "figures/, data/, verify.txt, verify.json",
    )
    _add_seed(rep, "the sweeps and the checks derive their streams from it")
    _add_executor(rep)
    _add_quiet(rep)

    add(
        "lm",
        None,
        "the torch backend on a real causal LM: 'sharpsim lm --help' (needs sharpsim[torch])",
    )
    return parser


def _split_lm(argv: list[str]):
    """``(debug, rest)`` when the command is ``lm`` (everything after it goes to the torch CLI), else ``None``."""
    flags = []
    for i, token in enumerate(argv):
        if token == "lm":
            return "--debug" in flags, argv[i + 1 :]
        if not token.startswith("-"):
            return None
        flags.append(token)
    return None


def main(argv=None) -> int:
    """Run the command line; return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")  # worker processes: one BLAS thread each
    debug = "--debug" in argv
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread:
        previous = signal.getsignal(signal.SIGINT), signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return _main(argv, debug)
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, previous[0])
            signal.signal(signal.SIGTERM, previous[1])


def _main(argv: list[str], debug: bool) -> int:
    try:
        lm = _split_lm(argv)
        if lm is not None:
            debug = lm[0]
            return _lm(lm[1])
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help, --version and argparse's one-line errors
            return exc.code if isinstance(exc.code, int) else 2
        return args.func(args)
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        sys.stderr.close()
        return 0
    except KeyboardInterrupt as exc:
        return _interrupted(exc)
    except Exception as exc:
        if debug:
            raise
        from .experiments import ResultsMismatchError
        from .experiments.executors import ExecutorStartError, MissingExtraError
        from .experiments.lock import FolderLockedError
        from .experiments.results import CorruptResultsError
        from .experiments.sizes import SweepTooLargeError

        refused = (
            UsageError,
            ResultsMismatchError,
            MissingExtraError,
            ExecutorStartError,
            FolderLockedError,
            CorruptResultsError,
            SweepTooLargeError,
        )
        if isinstance(exc, refused):
            print(f"sharpsim: error: {exc}", file=sys.stderr)
            return 2
        print(
            f"sharpsim: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
