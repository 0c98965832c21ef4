import json

import numpy as np
import pytest

import sharpsim as ss
from sharpsim.cli import main
from sharpsim.theory.verify import ALL_CHECKS, Toolkit, VerifyReport, run

EXACT = ["check_bon_law", "check_prop_c1", "check_lemma_4_1", "check_margin_sharpness", "check_prop_e1",
         "check_j_beta_identity", "check_tilted_limit", "check_lemma_i1", "check_prop_3_1"]


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
    assert "PASS" in report.table() and "FAIL" not in report.table()


def _broken_bon_law(pi, n, reward=None, tie_break="first"):
    """Ignores N: returns the base model itself."""
    return ss.as_tabular(pi)


def _broken_tilted(pi, beta, reward=None):
    """Wrong exponent: π^(1+β) instead of π^(1+1/β)."""
    return ss.tilted(pi, 1.0 / beta, reward)


def _broken_greedy(policy, x):
    """Picks the least likely token at each step."""
    x = np.asarray(x)
    prefix = np.zeros((x.shape[0], 0), dtype=np.int64)
    for _ in range(policy.horizon):
        step = np.argmin(np.where(np.isfinite(policy.next_token_log_probs(x, prefix)),
                                  policy.next_token_log_probs(x, prefix), np.inf), axis=-1)
        prefix = np.concatenate([prefix, step[:, None]], axis=1)
    return prefix


@pytest.mark.parametrize(
    "replacement, must_fail",
    [
        ({"best_of_n_law": _broken_bon_law}, ["BoN law", "Prop. C.1"]),
        ({"tilted": _broken_tilted}, ["Margin => sharp", "pi*_beta -> mode", "Thm J.1 identity"]),
        ({"greedy_decode": _broken_greedy}, ["Prop. 3.1"]),
    ],
)
def test_verify_fails_on_broken_algorithms(replacement, must_fail):
    report = run(quick=True, only=EXACT, toolkit=Toolkit.default().with_(**replacement))
    failed = {r.result for r in report.rows if not r.passed}
    assert set(must_fail) <= failed, report.table()
    assert not report.passed


def test_crash_in_a_check_is_a_fail_not_an_error():
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    report = run(quick=True, only=["check_prop_c1"], toolkit=Toolkit.default().with_(bon_failure_probability=explode))
    assert not report.passed and "boom" in report.rows[0].measured


def test_unknown_check_name():
    with pytest.raises(ValueError, match="unknown checks"):
        run(only=["check_nothing"])


def test_cli_verify_exit_codes(tmp_path, capsys):
    out = tmp_path / "v.json"
    assert main(["verify", "--quick", "--only", "check_prop_c1", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["passed"]
    assert "Prop. C.1" in capsys.readouterr().out


def test_same_seed_same_numbers():
    a = run(quick=True, seed=3, only=["check_bon_sampler"]).rows[0].numbers
    b = run(quick=True, seed=3, only=["check_bon_sampler"]).rows[0].numbers
    assert a == b


def test_every_check_is_named_uniquely():
    names = [c.__name__ for c in ALL_CHECKS]
    assert len(names) == len(set(names))


def test_quick_verify_passes_end_to_end():
    """The CI-sized theorem check: every row must PASS (this is `sharpsim verify --quick`)."""
    report = run(quick=True)
    assert report.passed, report.table()
