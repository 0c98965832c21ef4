"""The real-LM study's statistics, tables and figures on synthetic records (no torch needed)."""

import numpy as np
import pytest
from scipy import stats

from sharpsim import plotting
from sharpsim.plotting import lm_stats

KINDS = ("arithmetic", "capital")


def fake_records(seeds=2, prompts=5, n_max=4, seed=0):
    """lm_bon and lm_table rows with known structure: BoN gains log-likelihood, SFT gains 1 nat."""
    rng = np.random.default_rng(seed)
    base = {"model": "fake", "device": "cpu", "dtype": "float32", "n_test": prompts}
    base["max_new_tokens"] = 4
    bon, table = [], []
    for s in range(seeds):
        for kind in KINDS:
            for i in range(prompts):
                g_ok, g_ll = bool(rng.random() < 0.3), float(rng.normal(-10, 1))
                greedy = {"greedy_correct": g_ok, "greedy_log_likelihood": g_ll}
                for N in range(1, n_max + 1):
                    ok, ll = bool(rng.random() < 0.3 + 0.1 * N), g_ll + N + rng.normal()
                    bon.append(
                        {
                            **base,
                            "experiment": "lm_bon",
                            "seed": s,
                            "kind": kind,
                            "prompt": i,
                            "N": N,
                            "correct": ok,
                            "log_likelihood": ll,
                            **greedy,
                            "accuracy_lift": float(ok) - float(g_ok),
                            "log_likelihood_lift": ll - g_ll,
                        }
                    )
                for method, gain in (("sft N=2", 1.0), ("dpo beta=1", 0.0)):
                    ll = g_ll + gain + 0.01 * rng.normal()
                    table.append(
                        {
                            **base,
                            "experiment": "lm_table",
                            "seed": s,
                            "method": method,
                            "kind": kind,
                            "prompt": i,
                            "correct": g_ok,
                            "log_likelihood": ll,
                            **greedy,
                            "accuracy_lift": 0.0,
                            "log_likelihood_lift": ll - g_ll,
                            "queries_train": 40,
                            "queries_inference": 0,
                        }
                    )
    return bon, table


def test_interval_over_seeds_is_the_student_t_interval():
    values = {0: [1.0, 3.0], 1: [4.0, 4.0], 2: [0.0, 1.0]}
    means = np.array([2.0, 4.0, 0.5])
    half = stats.t.ppf(0.975, 2) * means.std(ddof=1) / np.sqrt(3)
    got = lm_stats.interval(values)
    assert got.how == "t over 3 seeds"
    np.testing.assert_allclose(
        [got.mean, got.lo, got.hi], [means.mean(), means.mean() - half, means.mean() + half]
    )


def test_interval_with_one_seed_bootstraps_prompts_reproducibly():
    values = {7: list(np.linspace(0, 1, 11))}
    a, b = lm_stats.interval(values), lm_stats.interval(values)
    assert a == b and a.how == "bootstrap over 11 prompts"
    assert a.lo < a.mean < a.hi and a.mean == pytest.approx(0.5)
    forced = lm_stats.interval({0: [0.0, 1.0], 1: [5.0, 5.0]}, over="prompts")
    assert forced.mean == 0.5 and forced.how == "bootstrap over 2 prompts"
    with pytest.raises(ValueError):
        lm_stats.interval({})


def test_t_interval_covers_the_mean_at_its_level():
    """3 seeds of normal means: coverage within a 99.9% binomial band around 0.95 (2000 trials)."""
    rng = np.random.default_rng(1)
    trials = 2000
    hits = 0
    for _ in range(trials):
        ci = lm_stats.interval({s: list(rng.normal(0.3, 1.0, 4)) for s in range(3)})
        hits += ci.lo <= 0.3 <= ci.hi
    lo, hi = stats.binom.ppf([0.0005, 0.9995], trials, 0.95) / trials
    assert lo <= hits / trials <= hi


def test_table1_rows_match_direct_means():
    bon, table = fake_records()
    rows = lm_stats.table1(bon, table, 4)
    kinds = [r.kind for r in rows]
    assert kinds.count("all") == 4 and set(kinds) == {*KINDS, "all"}
    greedy = next(r for r in rows if r.kind == "all" and r.method == "greedy (base)")
    seed0 = [r["greedy_log_likelihood"] for r in bon if r["N"] == 1 and r["seed"] == 0]
    assert greedy.log_likelihood.mean == pytest.approx(np.mean(seed0))
    bon4 = next(r for r in rows if r.kind == "capital" and r.method == "best-of-4")
    sel = [r for r in bon if r["N"] == 4 and r["kind"] == "capital"]
    assert bon4.accuracy.mean == pytest.approx(np.mean([r["correct"] for r in sel]))
    assert bon4.queries_inference == 4 and bon4.queries_train == 0
    sft = next(r for r in rows if r.kind == "all" and r.method.startswith("SFT"))
    dpo = next(r for r in rows if r.kind == "all" and r.method.startswith("DPO"))
    assert sft.delta.excludes_zero and sft.delta.mean == pytest.approx(1.0, abs=0.05)
    assert sft.queries_train == 40 and not dpo.delta.excludes_zero


def test_markdown_tables_have_one_line_per_row():
    bon, table = fake_records()
    rows = lm_stats.table1(bon, table, 2)
    overall = lm_stats.markdown_overall(rows).splitlines()
    assert len(overall) == 2 + 4 and overall[2].startswith("| greedy (base) |")
    by_kind = lm_stats.markdown_by_kind(rows).splitlines()
    assert by_kind[0].startswith("| task kind | greedy (base) | best-of-2 | SFT-sharpened")
    assert [line.split(" | ")[0] for line in by_kind[2:]] == ["| arithmetic", "| capital", "| all"]
    ablation = lm_stats.markdown_ablation(table).splitlines()
    assert len(ablation) == 2 + 2 and "`sft N=2`" in ablation[2]


def test_figures_draw_from_records(tmp_path):
    bon, table = fake_records(seeds=1)
    for name, records in (
        ("lm_bon_heatmap", bon),
        ("lm_bon_curves", bon),
        ("lm_table", table),
        ("lm_ablation", [{**r, "experiment": "lm_ablation"} for r in table]),
    ):
        paths = plotting.figure(name, records, tmp_path)
        assert [p.suffix for p in paths] == [".png", ".pdf"] and paths[0].stat().st_size > 10_000
