"""The ``sharpsim`` command (also ``python -m sharpsim``).

The package: :mod:`.parser` (the argparse parsers, :func:`build_parser`),
:mod:`.commands` (one function per subcommand) and :mod:`.main` (:func:`main`:
errors, interrupts and exit statuses).

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

from .commands import UsageError
from .main import main
from .parser import build_parser

__all__ = ["UsageError", "build_parser", "main"]
