import json
from dataclasses import fields

import pytest
from hypothesis import settings

from sharpsim.cli import main
from sharpsim.demo import run_demo
from sharpsim.theory.verify import (
    ALL_CHECKS,
    CHECK_NAMES,
    KILLS,
    MUTANTS,
    CheckResult,
    Toolkit,
    VerifyReport,
    run,
)

EXACT = [
    "check_bon_law",
    "check_prop_c1",
    "check_lemma_4_1",
    "check_margin_sharpness",
    "check_prop_e1",
    "check_j_beta_identity",
    "check_tilted_limit",
    "check_lemma_i1",
    "check_prop_3_1",
    "check_power_sampling",
]
#: Rows that take seconds (rates, Monte Carlo of whole algorithms): their mutation tests are `slow`.
HEAVY = {
    "check_sft_slopes",
    "check_adaptive_slope",
    "check_sft_bound",
    "check_lower_bound_phase",
    "check_separation",
}


def _marked(check: str, *values):
    marks = [pytest.mark.slow] if check in HEAVY else []
    return pytest.param(
        check, *values, marks=marks, id="-".join((check,) + tuple(map(str, values)))
    )


def test_report_structure_and_json():
    report = run(quick=True, only=EXACT)
    assert isinstance(report, VerifyReport)
    assert [r.result for r in report.rows][:2] == ["BoN law", "Prop. C.1"]
    assert report.passed, report.table()
    for row in report.rows:
        assert row.kind in {"exact", "statistical", "rate"}
        assert row.checked and row.measured and row.expected
    data = json.loads(report.to_json())
    assert data["passed"] and len(data["rows"]) == len(EXACT)
    assert all(row["mutants_killed"] for row in data["rows"])
    assert set(data["mutants"]) == {name for row in data["rows"] for name in row["mutants_killed"]}
    assert "seconds" not in data["rows"][0] and "seconds" in report.to_dict(timings=True)["rows"][0]
    assert "PASS" in report.table() and "FAIL" not in report.table()


# ---------------------------------------------------------------- mutation tests (issue 7 §3)


def test_every_row_names_its_mutants_and_every_implementation_has_one():
    assert set(KILLS) == set(CHECK_NAMES)
    assert all(KILLS[name] for name in CHECK_NAMES)
    assert {name for names in KILLS.values() for name in names} == set(MUTANTS)
    assert {m.replaces for m in MUTANTS.values()} == {f.name for f in fields(Toolkit)}


@pytest.mark.parametrize("check, mutant", [_marked(c, m) for c in CHECK_NAMES for m in KILLS[c]])
def test_row_fails_on_its_mutant(check, mutant):
    """Each row FAILS when one implementation it relies on is replaced by a plausible wrong version."""
    report = run(quick=True, only=[check], toolkit=MUTANTS[mutant].toolkit())
    assert not report.passed, report.table()
    assert mutant in report.rows[0].mutants_killed


#: Each algorithm (and law) broken so that it hands back the base model unchanged, and the row that
#: must FAIL on it because it reads what the user gets back (`.policy`, the returned law, the draws).
RETURNS_BASE = {
    "SFT": ("sft_returns_base", "check_sft_bound"),
    "adaptive SFT": ("adaptive_sft_returns_base", "check_adaptive_slope"),
    "DPO": ("dpo_returns_base", "check_separation"),
    "XPO": ("xpo_returns_base", "check_separation"),
    "best-of-N law": ("bon_law_ignores_n", "check_bon_law"),
    "best-of-N sampler": ("bon_sampler_returns_base", "check_bon_sampler"),
    "adaptive best-of-N sampler": ("adaptive_sampler_returns_base", "check_lemma_i1"),
    "adaptive best-of-N law": ("adaptive_law_returns_base", "check_lemma_i1"),
    "power law": ("power_law_returns_base", "check_power_sampling"),
    "power sampling (MCMC)": ("power_mcmc_returns_base", "check_power_sampling"),
}


@pytest.mark.parametrize("algorithm", list(RETURNS_BASE))
def test_row_fails_when_the_algorithm_returns_the_base_unchanged(algorithm):
    mutant, check = RETURNS_BASE[algorithm]
    assert MUTANTS[mutant].description and mutant in KILLS[check]
    report = run(quick=True, only=[check], toolkit=MUTANTS[mutant].toolkit())
    assert not report.passed, report.table()
    assert "FAIL" in report.table()


def test_xpo_row_reads_the_returned_policy_not_only_the_iterates():
    """XPO returning π_base with its iterates intact (0.1.x passed this): the row says what failed."""
    report = run(
        quick=True, only=["check_separation"], toolkit=MUTANTS["xpo_returns_base"].toolkit()
    )
    row = report.rows[0]
    assert not row.passed and "XPO returned sharp models: False" in row.measured
    assert not all(row.numbers["xpo_returned_policy_sharp"])


def _recording_toolkit(calls: set) -> Toolkit:
    def wrap(name, function):
        def recorded(*args, **kwargs):
            calls.add(name)
            return function(*args, **kwargs)

        return recorded

    default = Toolkit.default()
    return default.with_(
        **{f.name: wrap(f.name, getattr(default, f.name)) for f in fields(Toolkit)}
    )


@pytest.mark.parametrize("check", [_marked(c) for c in CHECK_NAMES])
def test_row_passes_and_every_implementation_it_calls_has_a_mutant_it_kills(check):
    calls = set()
    report = run(quick=True, only=[check], toolkit=_recording_toolkit(calls))
    assert report.passed, report.table()
    covered = {MUTANTS[name].replaces for name in KILLS[check]}
    assert calls and calls <= covered, (
        f"{check} calls {sorted(calls - covered)} with no mutant it is shown to kill"
    )


def test_crash_in_a_check_is_a_fail_not_an_error():
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    report = run(
        quick=True,
        only=["check_prop_c1"],
        toolkit=Toolkit.default().with_(bon_failure_probability=explode),
    )
    assert not report.passed and "boom" in report.rows[0].measured


# ---------------------------------------------------------------- arguments (issue 7 §5)


def test_unknown_check_name():
    with pytest.raises(ValueError, match="unknown checks"):
        run(only=["check_nothing"])
    with pytest.raises(TypeError, match="only"):
        run(only="check_prop_c1")


@pytest.mark.parametrize("seed", [-1, 1.5, True, "0"])
def test_bad_seed_names_seed(seed):
    with pytest.raises(ValueError, match="seed"):
        run(seed=seed, only=["check_prop_c1"])


def test_check_names_are_unique_and_in_run_order():
    assert CHECK_NAMES == tuple(c.__name__ for c in ALL_CHECKS)
    assert len(set(CHECK_NAMES)) == len(CHECK_NAMES)


def test_cli_verify_exit_codes(tmp_path, capsys):
    out = tmp_path / "v.json"
    assert main(["verify", "--quick", "--only", "check_prop_c1", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["passed"]
    assert "Prop. C.1" in capsys.readouterr().out


# ---------------------------------------------------------------- a 100-column terminal (issue 15)


def test_table_lines_fit_in_100_columns_and_wrap_without_losing_text():
    report = run(quick=True, only=EXACT + ["check_power_sampling"])
    long = "x" * 30 + " " + "; ".join(f"item {i} = {i / 7:.6f}" for i in range(40))
    report.rows.append(CheckResult("A long row name", long, long, long, False))
    table = report.table()
    assert max(len(line) for line in table.splitlines()) <= 100
    words = " ".join(table.split())
    for row in report.rows:
        for text in (row.checked, row.measured, row.expected):
            assert " ".join(text.split()) in words  # wrapped, never cut
    assert "FAIL" in table and report.table(width=60) != table
    assert max(len(line) for line in report.table(width=60).splitlines()) <= 60
    with pytest.raises(ValueError, match="width"):
        report.table(width=20)


# ---------------------------------------------------------------- same seed, same bytes (issue 7 §4)

RANDOM_ROWS = ["check_bon_sampler", "check_lemma_i1", "check_prop_e2", "check_margin_sharpness"]


def test_same_seed_same_bytes_for_the_random_rows():
    a, b = run(quick=True, seed=3, only=RANDOM_ROWS), run(quick=True, seed=3, only=RANDOM_ROWS)
    assert a.table() == b.table() and a.to_json() == b.to_json()
    assert run(quick=True, seed=4, only=RANDOM_ROWS).to_json() != a.to_json()


@pytest.mark.slow
def test_quick_verify_passes_end_to_end_with_the_same_bytes_twice():
    """`sharpsim verify --quick`: every row PASSES, and a second run with the seed gives the same bytes."""
    first = run(quick=True, seed=0)
    assert first.passed, first.table()
    assert max(len(line) for line in first.table().splitlines()) <= 100  # a 100-column terminal
    second = run(quick=True, seed=0)
    assert first.table() == second.table()
    assert first.to_json() == second.to_json()


def test_demo_same_seed_same_bytes():
    a, b = run_demo(seed=2), run_demo(seed=2)
    assert a.text == b.text
    assert json.dumps(a.numbers, sort_keys=True) == json.dumps(b.numbers, sort_keys=True)
    assert run_demo(seed=3).text != a.text


def test_demo_prints_rounded_numbers_and_refuses_a_bad_seed():
    text = run_demo(seed=0).text
    coverage_line = text.splitlines()[1]
    assert all(
        len(token.split(".")[-1]) <= 4 for token in coverage_line.split() if token[0].isdigit()
    )
    with pytest.raises(ValueError, match="seed"):
        run_demo(seed=-1)


# ---------------------------------------------------------------- the suite never flakes (issue 7 §7)


def test_hypothesis_ci_profile_is_derandomised_without_a_database():
    ci = settings.get_profile("ci")
    assert ci.derandomize and ci.database is None
    assert not settings.get_profile("default").derandomize


# ---------------------------------------------------------------- the cheaper Example J.1 searches are exact


def _separation_setup(d=2):
    import math

    import sharpsim as ss
    from sharpsim.theory.bounds import xpo_beta
    from sharpsim.theory.instances import separation_instance

    inst = separation_instance(d, rng=1, max_size=4096)
    beta = xpo_beta(0.1, ss.margin(inst.base), math.log(inst.base.n_responses))
    cls = ss.LinearSoftmaxClass(inst.details["features"], B=2.0 * (1.0 + 1.0 / beta))
    return inst.base, cls, beta, int(inst.details["mode_index"])


def _first_hit_of_one_run(base, cls, beta, mode, T, seed):
    import math

    import sharpsim as ss

    res = ss.xpo_sharpening(base, T, beta, 1e-3, cls, rng=seed, keep_data=True)
    for policy, queries in zip(res.data["iterates"], res.diagnostics["queries"]):
        if policy.probs[0, mode] >= 0.9:
            return float(queries)
    return math.inf


@pytest.mark.slow
def test_xpo_doubling_schedule_and_capped_median_equal_full_runs():
    import numpy as np

    from sharpsim.theory.verify.separation import _median_xpo_queries, _xpo_queries

    base, cls, beta, mode = _separation_setup()
    tk = Toolkit.default()
    for seed in (0, 1, 2):
        assert _xpo_queries(tk, base, cls, beta, mode, 0.1, 24, seed)[0] == _first_hit_of_one_run(
            base, cls, beta, mode, 12, seed
        )
    seeds = [int(s) for s in np.random.default_rng(7).integers(2**63, size=3)]
    full = sorted(_first_hit_of_one_run(base, cls, beta, mode, 12, s) for s in seeds)[1]
    assert (
        _median_xpo_queries(tk, base, cls, beta, mode, 0.1, 24, np.random.default_rng(7), 3)[0]
        == full
    )


def test_pruned_sft_search_equals_the_full_search():
    from sharpsim.theory.verify.search import hard_world, min_n, n_grid, sft_queries_needed

    tk = Toolkit.default()
    base, mu = hard_world(40, 0.1, 2)
    best = {"m": float("inf")}
    for N in n_grid(40):  # every N searched to the end, no pruning
        if tk.sft_error_plateau(base, int(N), 0.5, mu) > 0.1:
            continue
        n = min_n(lambda k: tk.expected_sft_error(base, k, int(N), 0.5, mu), 0.1, 1 << 14)
        if n is not None:
            best["m"] = min(best["m"], n * int(N))
    assert sft_queries_needed(tk, base, mu, 0.1, 0.5, n_grid(40))["m"] == best["m"]
