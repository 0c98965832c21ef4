"""The argparse parsers of ``sharpsim`` (one-line errors, typed arguments, one subparser per command)."""

from __future__ import annotations

import argparse

from .commands import _check_names, _demo, _figures, _info, _list, _reproduce, _run, _verify

EXECUTOR_HELP = (
    "Where the work runs: --jobs J worker processes on this machine (default: every core; "
    "1 runs in-process), --dask-local N a Dask LocalCluster of N workers on 127.0.0.1, "
    "--dask-scheduler tcp://HOST:PORT an existing Dask cluster (both need sharpsim[dask]). "
    "Results are identical whichever runs them."
)


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
    from .. import __version__

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

    from ..experiments.worlds import names as world_names

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
