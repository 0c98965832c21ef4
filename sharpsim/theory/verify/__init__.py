"""``sharpsim verify``: every stated result of the paper, checked numerically.

Exact statements (Prop. 3.1, Prop. C.1, Lemma 4.1, Lemma I.1, margin ⇒
sharpness, the J_β identity, the BoN law, Prop. E.1, Prop. E.2, power
sampling) are checked exactly on seeded random worlds and named instances;
rates (Thm 4.1′, Thm D.1, Thm 3.1′, Example J.1) are checked by exact
sample-size searches and fitted log-log slopes. Every row reads what the user
gets back (the returned law, the draws, the fitted ``.policy``), never only a
record of the run. ``run()`` returns a :class:`VerifyReport`; the command
prints its table (at most 100 columns; the numbers are in ``to_json()``) and
exits non-zero on any FAIL.

Every row can fail: :mod:`.mutants` holds one plausible wrong version of each
implementation a row calls, ``KILLS`` names the ones each row catches (listed
per row in the JSON as ``mutants_killed``), and the tests run every pair. With
the same ``seed`` the table and ``to_json()`` are the same bytes.

Example:
  >>> from sharpsim.theory.verify import run
  >>> report = run(quick=True, only=["check_prop_c1"])
  >>> report.passed
  True
"""

from __future__ import annotations

import sys
import time

import numpy as np

from .exact import EXACT_CHECKS
from .imperfect import IMPERFECT_CHECKS
from .imperfect_mutants import IMPERFECT_KILLS, IMPERFECT_MUTANTS
from .mutants import KILLS, MUTANTS, Mutant
from .power_chain import POWER_CHAIN_CHECKS, POWER_CHAIN_KILLS, POWER_CHAIN_MUTANTS
from .rates import RATE_CHECKS
from .report import CheckResult, VerifyReport
from .toolkit import Toolkit

ALL_CHECKS = EXACT_CHECKS + RATE_CHECKS + POWER_CHAIN_CHECKS + IMPERFECT_CHECKS
MUTANTS.update({m.name: m for m in POWER_CHAIN_MUTANTS})
MUTANTS.update({name: Mutant(name, field, text, fn) for name, field, text, fn in IMPERFECT_MUTANTS})
KILLS.update(IMPERFECT_KILLS)
KILLS.update(POWER_CHAIN_KILLS)
#: The check names ``only=`` accepts (and ``sharpsim verify --only``), in run order.
CHECK_NAMES = tuple(check.__name__ for check in ALL_CHECKS)


def run(
    quick: bool = True,
    seed: int = 0,
    toolkit: Toolkit | None = None,
    only=None,
    progress: bool = False,
) -> VerifyReport:
    """Run the checks and return the report.

    Args:
      quick: the small CI-sized version (well under a minute on 2 cores) or the full one.
      seed: root seed, an int ``>= 0``; each check gets its own stream from
        ``SeedSequence(seed).spawn``, so the report (table and ``to_json()``)
        depends on the seed only.
      toolkit: the implementations to check (default: sharpsim's own).
      only: optional list of check function names to run (``"check_lemma_i1"``; see ``CHECK_NAMES``).
      progress: print each row to stderr as it finishes.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0; got {seed!r}")
    seed = int(seed)
    toolkit = Toolkit.default() if toolkit is None else toolkit
    if only is not None:
        if isinstance(only, str):
            raise TypeError(f"only must be a list of check names, not a string; got {only!r}")
        unknown = set(only) - set(CHECK_NAMES)
        if unknown:
            raise ValueError(
                f"only names unknown checks {sorted(unknown)}; known: {list(CHECK_NAMES)}"
            )
    checks = [c for c in ALL_CHECKS if only is None or c.__name__ in only]
    streams = np.random.SeedSequence(seed).spawn(len(ALL_CHECKS))
    rows = []
    for check in checks:
        rng = np.random.default_rng(streams[ALL_CHECKS.index(check)])
        start = time.perf_counter()
        try:
            row = check(toolkit, rng, quick)
        except Exception as exc:  # a crash is a FAIL with the reason, never a silent pass
            row = CheckResult(
                check.__name__, "crashed", f"{type(exc).__name__}: {exc}", "no error", False
            )
        row.seconds = time.perf_counter() - start
        row.mutants_killed = KILLS.get(check.__name__, ())
        rows.append(row)
        if progress:
            print(
                f"[{'PASS' if row.passed else 'FAIL'}] {row.result} ({row.seconds:.1f}s)",
                file=sys.stderr,
            )
    return VerifyReport(rows, quick=quick, seed=seed)


__all__ = [
    "CheckResult",
    "Toolkit",
    "VerifyReport",
    "run",
    "ALL_CHECKS",
    "CHECK_NAMES",
    "MUTANTS",
    "KILLS",
]
