"""``sharpsim``'s entry point: dispatch, one-line errors, interrupts and exit statuses."""

from __future__ import annotations

import os
import signal
import sys
import threading

from .commands import UsageError, _lm
from .parser import build_parser


class _Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an interrupt so the run stops as cleanly as on Ctrl-C (exit 143)."""


def _on_sigterm(signum, frame):
    raise _Terminated()


def _interrupted(exc: KeyboardInterrupt) -> int:
    """Print the one line of an interrupted command (what was kept, how to resume); its exit status."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this line short
    from ..experiments.drive import Interrupted

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
        from ..experiments import ResultsMismatchError
        from ..experiments.executors import ExecutorStartError, MissingExtraError
        from ..experiments.lock import FolderLockedError
        from ..experiments.results import CorruptResultsError
        from ..experiments.sizes import SweepTooLargeError

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
