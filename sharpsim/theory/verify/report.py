"""The report ``sharpsim verify`` prints: one row per checked statement."""

from __future__ import annotations

import json
import textwrap
from dataclasses import asdict, dataclass, field

#: Widest line of :meth:`VerifyReport.table` (a 100-column terminal).
TABLE_WIDTH = 100


@dataclass
class CheckResult:
    """One checked statement.

    Attributes:
      result: the paper's label (``"Prop. C.1"``).
      checked: what was checked, in words.
      measured: what the run measured (short text).
      expected: what the paper says it should be (short text).
      passed: whether ``measured`` agrees with ``expected``.
      kind: ``"exact"`` (an identity or inequality computed exactly),
        ``"statistical"`` (a Monte Carlo test at a stated level) or ``"rate"``
        (a fitted slope or a bound comparison).
      seconds: wall-clock time of the check.
      numbers: the raw numbers behind ``measured`` (JSON-ready).
      mutants_killed: names of the wrong implementations (:mod:`.mutants`)
        this row is shown to FAIL on (each one tested in ``tests/test_verify.py``).
    """

    result: str
    checked: str
    measured: str
    expected: str
    passed: bool
    kind: str = "exact"
    seconds: float = 0.0
    numbers: dict = field(default_factory=dict)
    mutants_killed: tuple = ()


@dataclass
class VerifyReport:
    """All rows of a ``verify`` run, with the settings that produced them.

    Example:
      >>> r = VerifyReport([CheckResult("Lemma X", "a", "1", "1", True)], quick=True, seed=0)
      >>> r.passed, r.n_failed
      (True, 0)
    """

    rows: list
    quick: bool
    seed: int

    @property
    def passed(self) -> bool:
        return all(row.passed for row in self.rows)

    @property
    def n_failed(self) -> int:
        return sum(not row.passed for row in self.rows)

    def table(self, width: int = TABLE_WIDTH) -> str:
        """A plain-text table no line of which is longer than ``width`` characters.

        One block per row: the result and its verdict, then what was checked,
        what was measured and what the paper says, each wrapped (never cut)
        to the width. The raw numbers are in :meth:`to_json`.

        Example:
          >>> r = VerifyReport([CheckResult("Lemma X", "a", "1", "1", True)], quick=True, seed=0)
          >>> print(r.table())
          result   verdict  checked / measured / expected
          -------  -------  ------------------------------
          Lemma X  PASS     checked:  a
                            measured: 1
                            expected: 1
          <BLANKLINE>
          1 checks (quick mode, seed 0): all checks passed
        """
        label = max([len("result")] + [len(r.result) for r in self.rows])
        indent = label + 2 + len("verdict") + 2
        if width < indent + 30:
            raise ValueError(f"width must be at least {indent + 30}; got {width}")
        head = f"{'result':{label}s}  verdict  checked / measured / expected"
        lines = [head, f"{'-' * label}  -------  {'-' * 30}"]
        for r in self.rows:
            verdict = "PASS" if r.passed else "FAIL"
            fields = (
                ("checked:  ", r.checked),
                ("measured: ", r.measured),
                ("expected: ", r.expected),
            )
            for i, (name, text) in enumerate(fields):
                first = f"{r.result:{label}s}  {verdict:7s}  " if i == 0 else " " * indent
                wrapped = textwrap.wrap(text, width - indent - len(name)) or [""]
                lines.append(first + name + wrapped[0])
                lines += [" " * (indent + len(name)) + more for more in wrapped[1:]]
        verdict = "all checks passed" if self.passed else f"{self.n_failed} check(s) FAILED"
        mode = "quick" if self.quick else "full"
        lines.append(f"\n{len(self.rows)} checks ({mode} mode, seed {self.seed}): {verdict}")
        return "\n".join(line.rstrip() for line in lines)

    def to_dict(self, timings: bool = False) -> dict:
        """JSON-ready dict; ``timings=True`` adds each row's wall-clock ``seconds``.

        Without timings the dict (and :meth:`to_json`) depends on the seed only:
        two runs with the same seed give the same bytes. ``mutants`` describes
        every wrong implementation a row names in ``mutants_killed``.
        """
        rows = []
        for row in self.rows:
            data = asdict(row)
            data["mutants_killed"] = list(row.mutants_killed)
            if not timings:
                del data["seconds"]
            rows.append(data)
        from .mutants import (
            MUTANTS,  # what each named mutant gets wrong, for a self-contained report
        )

        named = sorted({name for row in self.rows for name in row.mutants_killed})
        mutants = {
            name: {"replaces": MUTANTS[name].replaces, "description": MUTANTS[name].description}
            for name in named
            if name in MUTANTS
        }
        return {
            "quick": self.quick,
            "seed": self.seed,
            "passed": self.passed,
            "rows": rows,
            "mutants": mutants,
        }

    def to_json(self, timings: bool = False) -> str:
        """The report as JSON (see :meth:`to_dict`)."""
        return json.dumps(self.to_dict(timings), indent=2, default=_jsonable)


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
