"""The imperfect-reward verify rows pass, and each FAILS on every mutant it names (SPEC §11)."""

import pytest

from sharpsim.theory.verify import CHECK_NAMES, KILLS, MUTANTS, run
from sharpsim.theory.verify.imperfect import IMPERFECT_CHECKS
from sharpsim.theory.verify.imperfect_mutants import IMPERFECT_KILLS, IMPERFECT_MUTANTS

ROWS = [check.__name__ for check in IMPERFECT_CHECKS]


def test_rows_and_mutants_are_registered():
    assert set(ROWS) <= set(CHECK_NAMES)
    assert set(IMPERFECT_KILLS) == set(ROWS)
    for name, field, _, function in IMPERFECT_MUTANTS:
        assert MUTANTS[name].replaces == field and MUTANTS[name].function is function
    assert all(KILLS[row] == IMPERFECT_KILLS[row] for row in ROWS)


@pytest.mark.parametrize("row", ROWS)
def test_row_passes(row):
    report = run(quick=True, only=[row])
    assert report.passed, report.table()


@pytest.mark.parametrize("row, mutant", [(row, m) for row in ROWS for m in IMPERFECT_KILLS[row]])
def test_row_fails_on_its_mutant(row, mutant):
    report = run(quick=True, only=[row], toolkit=MUTANTS[mutant].toolkit())
    assert not report.passed, report.table()
    assert report.rows[0].checked != "crashed", report.rows[
        0
    ].measured  # caught by the check, not a crash
