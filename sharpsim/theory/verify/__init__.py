"""``sharpsim verify``: every stated result of the paper, checked numerically.

Exact statements (Prop. 3.1, Prop. C.1, Lemma 4.1, Lemma I.1, margin ⇒
sharpness, the J_β identity, the BoN law, Prop. E.1, Prop. E.2) are checked exactly on
seeded random worlds and named instances; rates (Thm 4.1′, Thm D.1, Thm 3.1′,
Example J.1) are checked by exact sample-size searches and fitted log-log
slopes. ``run()`` returns a :class:`VerifyReport`; the command prints its
table and exits non-zero on any FAIL.

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
from .rates import RATE_CHECKS
from .report import CheckResult, VerifyReport
from .toolkit import Toolkit

ALL_CHECKS = EXACT_CHECKS + RATE_CHECKS


def run(quick: bool = True, seed: int = 0, toolkit: Toolkit | None = None, only=None,
        progress: bool = False) -> VerifyReport:
    """Run the checks and return the report.

    Args:
      quick: the small CI-sized version (under two minutes on 2 cores) or the full one.
      seed: root seed; each check gets its own stream from ``SeedSequence(seed).spawn``.
      toolkit: the implementations to check (default: sharpsim's own).
      only: optional list of check function names to run (``"check_lemma_i1"``).
      progress: print each row to stderr as it finishes.
    """
    toolkit = Toolkit.default() if toolkit is None else toolkit
    if only is not None:
        unknown = set(only) - {c.__name__ for c in ALL_CHECKS}
        if unknown:
            raise ValueError(f"only names unknown checks {sorted(unknown)}; known: {[c.__name__ for c in ALL_CHECKS]}")
    checks = [c for c in ALL_CHECKS if only is None or c.__name__ in only]
    streams = np.random.SeedSequence(seed).spawn(len(ALL_CHECKS))
    rows = []
    for check in checks:
        rng = np.random.default_rng(streams[ALL_CHECKS.index(check)])
        start = time.perf_counter()
        try:
            row = check(toolkit, rng, quick)
        except Exception as exc:  # a crash is a FAIL with the reason, never a silent pass
            row = CheckResult(check.__name__, "crashed", f"{type(exc).__name__}: {exc}", "no error", False)
        row.seconds = time.perf_counter() - start
        rows.append(row)
        if progress:
            print(f"[{'PASS' if row.passed else 'FAIL'}] {row.result} ({row.seconds:.1f}s)", file=sys.stderr)
    return VerifyReport(rows, quick=quick, seed=seed)


__all__ = ["CheckResult", "Toolkit", "VerifyReport", "run", "ALL_CHECKS"]
