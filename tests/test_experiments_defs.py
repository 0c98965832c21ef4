"""The registered experiments: documented record keys, types, determinism, and the numbers behind them.

Each experiment runs on a tiny cell (fast); exact columns are compared with
the core's exact functions, Monte Carlo columns with their exact twins inside
a band derived from a stated confidence level (Bonferroni over the rows of a
test; Hoeffding or binomial, never tuned).
"""

import math

import numpy as np
import pytest
from scipy import stats

import sharpsim as ss
from sharpsim import experiments
from sharpsim.experiments import decoding, inference, rlhf, sft
from sharpsim.theory.bounds import sft_error_bound, xpo_regret_bound
from sharpsim.theory.instances import (
    hidden_knowledge_task,
    lower_bound_bayes_error,
    lower_bound_family,
)

LEVEL = 1e-3  # family-wise level of every statistical check in this file
RESERVED = {"experiment", "cell", "seed"}

#: Documented record keys of each experiment (the figure functions rely on them).
KEYS = {
    "bon_lift": {
        "reward",
        "N",
        "accuracy_exact",
        "accuracy_mc",
        "loglik_exact",
        "loglik_mc",
        "greedy_accuracy",
        "sample_accuracy",
        "mode_accuracy",
        "pass_at_n",
    },
    "bon_loglik": {
        "reward",
        "N",
        "accuracy_exact",
        "accuracy_mc",
        "loglik_exact",
        "loglik_mc",
        "greedy_accuracy",
        "sample_accuracy",
        "mode_accuracy",
        "pass_at_n",
    },
    "loglik_correctness": {"source", "correct", "bin_lo", "mass", "mean", "count"},
    "bon_concentration": {"panel", "world", "x", "exact", "mc", "bound"},
    "sft_error": {"n", "error_mc", "error_mc_finite", "error_exact", "bound", "C_cov"},
    "sample_size": {"epsilon", "M", "C_cov", "m", "n", "N", "log_class_size"},
    "adaptive_sft": {
        "epsilon",
        "m_adaptive",
        "n_adaptive",
        "m_plain",
        "error_adaptive_exact",
        "m_adaptive_mc",
        "m_adaptive_mc_se",
        "error_adaptive_mc",
        "C_bar_cov",
    },
    "amortization": {
        "visits",
        "queries",
        "accuracy_sft",
        "loglik_sft",
        "accuracy_greedy",
        "loglik_greedy",
        "accuracy_bon",
        "loglik_bon",
        "accuracy_limit",
        "loglik_limit",
    },
    "phase_transition": {"ratio", "m", "Delta", "error_exact", "error_mc", "error_mc_se"},
    "separation": {"method", "queries", "reached", "n_responses", "C_cov", "margin"},
    "xpo_dynamics": {"t", "queries", "gap", "beta_kl", "error", "bound", "beta"},
    "decoding": {
        "method",
        "hit_exact",
        "loglik_exact",
        "hit_mc",
        "loglik_mc",
        "has_exact",
        "mode_mass",
    },
    "power_chain": {
        "kind",
        "chain",
        "block",
        "tau",
        "step",
        "tv",
        "tv_noise",
        "gap",
        "t_mix",
        "n_states",
        "growth",
    },
    "imperfect_scaling": {"method", "n", "regret", "eps_realised", "beta", "c_1"},
    "imperfect_rates": {
        "c_1",
        "eps_realised",
        "bon_tuned",
        "bon_best_n",
        "itp_tuned",
        "bon_bound",
        "itp_bound",
        "rate",
    },
    "itp_heatmap": {"beta", "n", "regret", "beta_star", "eps_realised"},
}

#: A tiny cell per experiment (parameters as in the grids, sizes cut down).
TINY = {
    "bon_lift": {"bonus": 1.0, "n_prompts": 8},
    "bon_loglik": {"bonus": 1.0, "n_prompts": 8},
    "loglik_correctness": {"bonus": 1.0, "n_prompts": 8, "n_samples": 4},
    "bon_concentration": {"mode_mass": 0.3, "draws": 60},
    "sft_error": {"N": 2, "reps": 2},
    "sample_size": {"sweep": "1/eps", "k": 0},
    "adaptive_sft": {"k": 0, "reps": 2},
    "amortization": {"N": 4, "bonus": 1.0, "n_prompts": 8},
    "phase_transition": {"d": 2, "M": 8, "trials": 10},
    "separation": {"d": 2, "T": 4},
    "xpo_dynamics": {"d": 2, "T": 4, "alpha": 1e-3},
    "decoding": {"world": "maxcut", "draws": 20},
    "power_chain": {"alpha": 3.0, "vocab": 2, "horizon": 4, "draws": 100},
    "imperfect_scaling": {"eps": 0.01},
    "imperfect_rates": {"coverage": 100.0, "eps": 0.002},
    "itp_heatmap": {"eps": 0.003},
}

_CACHE = {}


def tiny_records(name, seed=0):
    key = (name, seed)
    if key not in _CACHE:
        _CACHE[key] = experiments.get(name).func(np.random.default_rng(seed), **TINY[name])
    return _CACHE[key]


def test_every_experiment_has_keys_and_figures():
    names = {e.name for e in experiments.list()}
    assert set(KEYS) <= names
    from sharpsim import plotting

    for name in KEYS:
        exp = experiments.get(name)
        assert exp.figures == (name,) and plotting.FIGURES[name].experiment == name
        assert exp.cells(quick=True) and exp.cells(quick=False)
        assert not (set(exp.grid) & KEYS[name]) and not (set(exp.grid) & RESERVED)


@pytest.mark.parametrize("name", sorted(KEYS))
def test_tiny_cell_records(name):
    records = tiny_records(name)
    assert records
    for r in records:
        assert set(r) == KEYS[name], set(r) ^ KEYS[name]
        for v in r.values():
            assert type(v) in (int, float, bool, str), (name, type(v))
            assert not (isinstance(v, float) and math.isnan(v))


def test_quick_grid_cells_accept_their_parameters():
    # Every quick cell's keys are arguments of the function (no cell would fail on a TypeError).
    import inspect

    for name in KEYS:
        exp = experiments.get(name)
        params = inspect.signature(exp.func).parameters
        for cell in exp.cells(True) + exp.cells(False):
            assert set(cell) <= set(params) - {"rng"}


def test_same_seed_same_records():
    for name in ("bon_lift", "loglik_correctness", "decoding"):
        again = experiments.get(name).func(np.random.default_rng(0), **TINY[name])
        assert again == tiny_records(name)


# --------------------------------------------------------------------------- inference experiments


def test_bon_lift_loglik_columns_are_the_exact_law():
    task = inference._task(np.random.default_rng(0), 8, 1.0)
    table = task.base.to_tabular()
    for r in tiny_records("bon_loglik"):
        if r["reward"] == "log-likelihood":
            law = ss.best_of_n_law(task.base, r["N"]).probs
            expected = float(
                np.sum(
                    np.where(law > 0, law * np.where(law > 0, table.log_probs, 0), 0), axis=1
                ).mean()
            )
            assert r["loglik_exact"] == pytest.approx(expected, abs=1e-12)
    assert tiny_records("bon_loglik") == tiny_records("bon_lift")


def test_bon_lift_exact_columns():
    records = tiny_records("bon_lift")
    for r in records:
        # The pick is one of the N draws: it is correct only if some draw is (any reward).
        assert 0.0 <= r["accuracy_exact"] <= r["pass_at_n"] + 1e-12
        if r["N"] == 1:  # one draw: every reward picks a sample, pass@1 = sample accuracy
            assert r["accuracy_exact"] == pytest.approx(r["sample_accuracy"], abs=1e-12)
            assert r["pass_at_n"] == pytest.approx(r["sample_accuracy"], abs=1e-12)
    # The task is the first draw of the rng: rebuild it and compare the claims.
    task = inference._task(np.random.default_rng(0), 8, 1.0)
    assert records[0]["greedy_accuracy"] == task.claims["greedy_accuracy"]
    big = [
        r for r in records if r["reward"] == "log-likelihood" and r["N"] == max(inference.BON_NS)
    ][0]
    law = ss.best_of_n_law(task.base, big["N"])
    acc = float((law.probs * task.details["is_correct"]).sum(axis=1).mean())
    assert big["accuracy_exact"] == pytest.approx(acc, abs=1e-12)


def test_bon_lift_sampled_accuracy_agrees_with_exact_law():
    # accuracy_mc is a mean of n_prompts independent Bernoulli picks whose mean is accuracy_exact:
    # Hoeffding at level LEVEL / #rows. Majority vote is excluded (sampled = empirical vote, exact = population).
    records = [r for r in tiny_records("bon_lift") if r["reward"] != "majority vote"]
    n = TINY["bon_lift"]["n_prompts"]
    width = math.sqrt(math.log(2 * len(records) / LEVEL) / (2 * n))
    for r in records:
        assert abs(r["accuracy_mc"] - r["accuracy_exact"]) <= width


def test_loglik_correctness_masses_and_means():
    records = tiny_records("loglik_correctness")
    task = inference._task(np.random.default_rng(0), 8, 1.0)
    for source in ("exact", "sampled"):
        for side in (True, False):
            rows = [r for r in records if r["source"] == source and r["correct"] == side]
            if rows:
                assert sum(r["mass"] for r in rows) == pytest.approx(1.0, abs=1e-12)
                assert len({r["bin_lo"] for r in rows}) == len(rows)
    exact_true = [r for r in records if r["source"] == "exact" and r["correct"]][0]
    exact_false = [r for r in records if r["source"] == "exact" and not r["correct"]][0]
    assert exact_true["mean"] == pytest.approx(task.claims["mean_log_prob_correct"], abs=1e-9)
    assert exact_false["mean"] == pytest.approx(task.claims["mean_log_prob_incorrect"], abs=1e-9)


def test_bon_concentration_exact_bound_and_sampling():
    records = tiny_records("bon_concentration")
    bon = [r for r in records if r["panel"] == "bon"]
    draws = TINY["bon_concentration"]["draws"]
    z = stats.norm.ppf(1 - LEVEL / (2 * len(bon)))
    for r in bon:
        p, N = 0.3, r["x"]
        assert r["exact"] == pytest.approx(1 - (1 - p) ** N, abs=1e-12)
        assert (
            r["bound"] <= r["exact"] + 1e-12
        )  # 1 - e^{-pN} <= 1 - (1-p)^N: Prop. C.1 is a valid bound
        se = math.sqrt(max(r["exact"] * (1 - r["exact"]), 1e-12) / draws)
        assert abs(r["mc"] - r["exact"]) <= z * se + 1.0 / draws
    power = [r for r in records if r["panel"] == "power"]
    pivot = [r for r in power if r["world"].startswith("pivot")]
    policy = ss.theory.instances.power_sampling_pivot_example().base
    for r in pivot:
        tv = (
            0.5
            * np.abs(
                ss.token_temperature_law(policy, 1 / r["x"]).probs
                - ss.power_law(policy, r["x"]).probs
            ).sum()
        )
        assert r["exact"] == pytest.approx(tv, abs=1e-12)
    assert [r["exact"] for r in pivot if r["x"] == 1.0] == [pytest.approx(0.0, abs=1e-12)]


def test_bon_concentration_world_has_the_stated_coverage():
    world = inference._coverage_world(np.random.default_rng(1), 0.03)
    assert ss.coverage(world) == pytest.approx(1 / 0.03)
    assert ss.mode_mask(world).sum() == 1


# --------------------------------------------------------------------------- SFT experiments


def test_sft_error_exact_and_bound_columns():
    records = tiny_records("sft_error")
    w = sft.SFT_WORLD
    inst = lower_bound_family(w["d"], w["M"], w["Delta"], index=[2, 5])
    base, mu = inst.base, np.asarray(inst.mu)
    N = TINY["sft_error"]["N"]
    for r in records:
        assert r["error_exact"] == ss.expected_sft_error(base, r["n"], N, 2 * w["delta"], mu)
        assert r["bound"] == sft_error_bound(
            r["n"], N, w["delta"], ss.coverage(base, mu), w["d"] * math.log(w["M"]), 0.05
        )


def test_sft_error_monte_carlo_matches_exact():
    # error_mc is a mean of `reps` errors in [0, 1] with mean error_exact: Hoeffding, Bonferroni over rows.
    reps = 30
    records = sft.sft_error(np.random.default_rng(3), N=4, reps=reps)
    width = math.sqrt(math.log(2 * len(records) / LEVEL) / (2 * reps))
    for r in records:
        assert abs(r["error_mc"] - r["error_exact"]) <= width


def test_min_n_and_sample_size_point():
    assert sft.min_n(lambda n: 1.0 / n, 0.01) == 100
    assert sft.min_n(lambda n: 1.0, 0.5, n_max=64) is None
    (r,) = tiny_records("sample_size")
    base, mu = sft.hard_world(r["M"], r["epsilon"], sft.SAMPLE_SIZE["d"])
    delta = sft.SAMPLE_SIZE["delta"]
    assert r["m"] == r["n"] * r["N"]
    assert ss.expected_sft_error(base, r["n"], r["N"], delta, mu) <= r["epsilon"]
    assert r["n"] == 1 or ss.expected_sft_error(base, r["n"] - 1, r["N"], delta, mu) > r["epsilon"]
    assert r["C_cov"] == pytest.approx(ss.coverage(base, mu))


def test_adaptive_sft_exact_columns():
    (r,) = tiny_records("adaptive_sft")
    base, mu = sft.hard_world(
        r["M"] if "M" in r else int(round(5.0 / r["epsilon"])), r["epsilon"], 4
    )
    err, m = ss.expected_adaptive_sft_error(base, r["n_adaptive"], 0.5, mu)
    assert (r["error_adaptive_exact"], r["m_adaptive"]) == (err, m)
    assert (
        err <= r["epsilon"] < ss.expected_adaptive_sft_error(base, r["n_adaptive"] - 1, 0.5, mu)[0]
    )
    assert r["m_adaptive"] < r["m_plain"]


def test_adaptive_sft_monte_carlo_queries_match_exact():
    # Mean realised queries over 60 runs vs the exact E[m]: CLT z-test at level LEVEL with the sample SE.
    (r,) = experiments.get("adaptive_sft").func(np.random.default_rng(4), k=0, reps=60)
    z = stats.norm.ppf(1 - LEVEL / 2)
    assert abs(r["m_adaptive_mc"] - r["m_adaptive"]) <= z * r["m_adaptive_mc_se"]


def test_amortization_limits():
    records = tiny_records("amortization")
    for r in records:
        assert 0 <= r["accuracy_sft"] <= 1 and np.isfinite(r["loglik_sft"])
        assert (
            r["queries"]
            == r["visits"] * TINY["amortization"]["n_prompts"] * TINY["amortization"]["N"]
        )
    one = sft.amortization(np.random.default_rng(0), N=1, bonus=1.0, n_prompts=8)
    # N = 1: the BoN law is the base, so the n → ∞ SFT limit is base greedy and BoN is a plain sample.
    task = hidden_knowledge_task(
        8, 4, bonus=1.0, horizon=3, variable_length=True, rng=np.random.default_rng(0)
    )
    for r in one:
        assert r["accuracy_limit"] == r["accuracy_greedy"] == task.claims["greedy_accuracy"]
        assert r["accuracy_bon"] == pytest.approx(task.claims["sample_accuracy"], abs=1e-12)


# --------------------------------------------------------------------------- lower bound, RLHF, decoding


def test_phase_transition_exact_and_monte_carlo():
    records = tiny_records("phase_transition")
    c = TINY["phase_transition"]
    z = stats.norm.ppf(1 - LEVEL / (2 * len(records)))
    for r in records:
        n = r["m"]  # N = 1
        assert r["error_exact"] == float(lower_bound_bayes_error(c["d"], c["M"], r["Delta"], n, 1))
        assert r["ratio"] == pytest.approx(r["m"] / (c["d"] * c["M"] / r["Delta"]))
        if r["error_mc_se"] > 0:
            assert (
                abs(r["error_mc"] - r["error_exact"])
                <= z * r["error_mc_se"] + r["Delta"] / c["trials"]
            )
    assert records[0]["error_exact"] > records[-1]["error_exact"]


def test_separation_sft_column_is_exact():
    records = tiny_records("separation")
    rng = np.random.default_rng(0)
    inst, base, beta, cls, _ = rlhf._world(2, rng)
    grid = np.unique(np.round(np.geomspace(1, 50 * base.n_responses, 24)).astype(int))
    m = sft.min_sft_queries(base, None, rlhf.SEPARATION["epsilon"], rlhf.SEPARATION["delta"], grid)[
        0
    ]
    (row,) = [r for r in records if r["method"] == "SFT (exact)"]
    assert row["queries"] == m and row["n_responses"] == base.n_responses
    for r in records:
        assert r["queries"] > 0


def test_xpo_dynamics_identity_and_bound():
    records = tiny_records("xpo_dynamics")
    assert [r["t"] for r in records] == list(range(1, TINY["xpo_dynamics"]["T"] + 2))
    assert [r["queries"] for r in records] == [2 * t for t in range(TINY["xpo_dynamics"]["T"] + 1)]
    for r in records:  # J_β(π*_β) − J_β(π) = β KL(π ‖ π*_β) (proof of Thm J.1)
        assert r["gap"] == pytest.approx(r["beta_kl"], rel=1e-6, abs=1e-9)
    _, base, beta, _, B = rlhf._world(2, np.random.default_rng(0))
    r = records[-1]
    r_max = float(-base.log_probs.min())
    expected = xpo_regret_bound(
        r["t"] - 1,
        ss.theory.bounds.linear_softmax_sec_bound(2, r["t"] - 1),
        ss.theory.bounds.linear_softmax_log_covering_number(2, B, 0.01),
        0.05,
        r_max,
        beta * r_max,
        beta,
        0.01,
    )
    assert r["bound"] == pytest.approx(expected)


def test_decoding_exact_columns_and_sampling():
    records = tiny_records("decoding")
    by = {r["method"]: r for r in records}
    assert by["exact mode"]["hit_exact"] == 1.0
    for name in ("greedy", "beam (width 2)", "beam (width 4)", "exact mode"):
        assert by[name]["hit_mc"] == by[name]["hit_exact"]
    assert by["greedy"]["hit_exact"] == 0.0  # Prop. E.1: greedy misses every maximum cut
    assert (
        max(r["loglik_exact"] for r in records if r["has_exact"])
        == by["exact mode"]["loglik_exact"]
    )
    draws = TINY["decoding"]["draws"]
    z = stats.norm.ppf(1 - LEVEL / 4)
    for name in [m for m in by if m.startswith(("best-of", "power")) and "MCMC" not in m]:
        p = by[name]["hit_exact"]
        assert abs(by[name]["hit_mc"] - p) <= z * math.sqrt(p * (1 - p) / draws) + 1.0 / draws


def test_decoding_markov_world():
    records = decoding.decoding(np.random.default_rng(2), "markov", 30)
    by = {r["method"]: r for r in records}
    assert by["exact mode"]["hit_exact"] == 1.0
    assert all(0 <= r["hit_exact"] <= 1 for r in records)


def test_mean_table_groups_sorts_numbers_and_refuses_bad_columns():
    from sharpsim.experiments import mean_table

    recs = [
        {"m": "b", "N": 10, "v": 1.0},
        {"m": "b", "N": 10, "v": 2.0},
        {"m": "a", "N": 2, "v": 4.0},
    ]
    lines = mean_table(recs, ("m", "N"), ("v",)).splitlines()
    assert [line.split() for line in lines] == [
        ["m", "N", "v"],
        ["a", "2", "4"],
        ["b", "10", "1.5"],
    ]
    with pytest.raises(TypeError, match="by"):
        mean_table(recs, "m", ("v",))
    with pytest.raises(TypeError, match="values"):
        mean_table(recs, ("m",), [])
