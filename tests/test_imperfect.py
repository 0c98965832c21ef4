"""Imperfect rewards (SPEC §11): χ²-regularised target, ITP's exact law and sampler, BoN's exact regret."""

from itertools import product

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from strategies import prob_tables
from test_rewards import padded_policies

import sharpsim as ss
from sharpsim.inference.pessimism import _chi2_rows
from sharpsim.reward_models import normalized_log_likelihood

UNIT = st.sampled_from([0.0, 0.1, 0.1, 0.5, 0.9, 1.0, 1.0])
BETAS = st.sampled_from([1e-12, 1e-3, 0.05, 0.7, 3.0, 1e12])


@st.composite
def worlds(draw, max_responses=6):
    """``(π_ref, r̂)``: a table with ties, zeros and tiny masses, and rewards in [0, 1] with ties."""
    probs = draw(prob_tables(max_contexts=3, max_responses=max_responses))
    values = draw(st.lists(UNIT, min_size=probs.size, max_size=probs.size))
    return ss.TabularPolicy(probs), np.array(values).reshape(probs.shape)


def _objective(q, p, r, beta):
    on = p > 0
    return q @ r - beta / 2 * (np.sum(q[on] ** 2 / p[on]) - 1.0)


# --------------------------------------------------------------------------- chi2_regularized


@given(worlds(), BETAS)
def test_chi2_law_sums_to_one_and_lives_on_the_reference_support(world, beta):
    pi, r = world
    law = ss.chi2_regularized(pi, r, beta).probs
    assert np.all(np.isfinite(law))
    np.testing.assert_allclose(law.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(law[pi.probs == 0] == 0)


@given(worlds(), st.sampled_from([1e-3, 0.05, 0.7, 3.0]), st.integers(0, 2**32 - 1))
def test_chi2_law_beats_every_feasible_perturbation(world, beta, seed):
    """Optimality: the objective is concave, so mixing towards any law on the support never helps."""
    pi, r = world
    law = ss.chi2_regularized(pi, r, beta).probs
    rng = np.random.default_rng(seed)
    for p, row_r, q in zip(pi.probs, r, law):
        best = _objective(q, p, row_r, beta)
        for _ in range(20):
            nu = rng.dirichlet(np.ones(p.size)) * (p > 0)
            nu /= nu.sum()
            t = rng.choice([1e-6, 1e-3, 0.1, 1.0])
            cand = (1 - t) * q + t * nu
            scale = max(1.0, abs(best), beta * np.sum(cand[p > 0] ** 2 / p[p > 0]))
            assert _objective(cand, p, row_r, beta) <= best + 1e-12 * scale


@given(worlds(), st.sampled_from([1e-3, 0.05, 0.7, 3.0, 1e6]))
def test_chi2_threshold_is_the_root(world, beta):
    pi, r = world
    lam = ss.chi2_threshold(pi, r, beta)
    slack = np.sum(pi.probs * np.maximum(r - lam[:, None], 0.0), axis=1)
    np.testing.assert_allclose(slack, beta, rtol=1e-9, atol=1e-15)
    law = ss.chi2_regularized(pi, r, beta).probs
    np.testing.assert_allclose(law, pi.probs * np.maximum(r - lam[:, None], 0) / beta, atol=1e-9)


@given(worlds())
def test_chi2_limits_argmax_split_by_reference_and_reference(world):
    pi, r = world
    top = ss.optimal_comparator(pi, r).probs
    small = min(
        0.5 * p[row == lv[0]].sum() * (lv[0] - lv[1]) if lv.size > 1 else 1.0
        for p, row in zip(pi.probs, r)
        for lv in [np.unique(row[p > 0])[::-1]]
    )
    np.testing.assert_allclose(ss.chi2_regularized(pi, r, small).probs, top, atol=1e-12)
    np.testing.assert_allclose(ss.chi2_regularized(pi, r, 1e12).probs, pi.probs, atol=1e-11)


def test_chi2_stable_at_extreme_beta_and_tiny_masses():
    pi = ss.TabularPolicy([[1e-300, 0.5, 0.5 - 1e-300], [0.25, 0.25, 0.5]])
    r = [[1.0, 0.3, 0.3], [0.2, 0.2 + 1e-17, 0.9]]  # an ulp-level tie in the second row
    for beta in (1e-12, 1e-6, 1.0, 1e6, 1e12):
        law = ss.chi2_regularized(pi, r, beta).probs
        assert np.all(np.isfinite(law)) and np.allclose(law.sum(axis=1), 1.0, atol=1e-12)
        assert law[1, 0] == law[1, 1]  # tied rewards, equal masses: equal weights
    # β = 1e-12: the 1e-300 top response has weight 1 + 0.7/β exactly (no cancellation).
    law = ss.chi2_regularized(pi, r, 1e-12).probs
    np.testing.assert_allclose(law[0, 0], 1e-300 * (1 + 0.7e12), rtol=1e-12)


def test_chi2_constant_is_beta_over_two_kkt():
    """At the solution r − β·π/π_ref is constant on the support (KKT of the (β/2)·χ² objective)."""
    pi = ss.TabularPolicy([[0.4, 0.3, 0.2, 0.1]])
    r = np.array([[0.9, 0.7, 0.2, 0.1]])
    law = ss.chi2_regularized(pi, r, 0.3).probs[0]
    on = law > 0
    grad = r[0] - 0.3 * law / pi.probs[0]
    assert np.ptp(grad[on]) < 1e-12 and np.all(grad[~on] <= grad[on][0] + 1e-12)


def test_chi2_accepts_a_reward_model_and_uses_its_proxy():
    pi = ss.TabularPolicy([[0.5, 0.5]])
    rm = ss.RewardModel([[0.0, 1.0]], [[1.0, 0.0]])
    np.testing.assert_allclose(ss.chi2_regularized(pi, rm, 0.1).probs, [[1.0, 0.0]])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"beta": 0.0}, "beta"),
        ({"beta": "x"}, "beta"),
        ({"reward": [[1.0, 0.0, 0.0]]}, "reward"),
        ({"reward": [[np.nan, 0.0]]}, "reward"),
        ({"reward": [[-np.inf, 0.0]]}, "reward"),
        ({"reward": "bad"}, "reward"),
    ],
)
def test_chi2_bad_input_names_the_argument(kwargs, match):
    args = {"pi": ss.TabularPolicy([[0.5, 0.5]]), "reward": [[1.0, 0.0]], "beta": 0.1} | kwargs
    with pytest.raises((ValueError, TypeError), match=match):
        ss.chi2_regularized(**args)


# --------------------------------------------------------------------------- best-of-N under a proxy


@given(worlds(max_responses=5), st.data())
def test_bon_true_values_equal_the_exact_law(world, data):
    pi, r = world
    true = np.array(data.draw(st.lists(UNIT, min_size=r.size, max_size=r.size))).reshape(r.shape)
    rm = ss.RewardModel(true, r)
    ns = [1, 2, 7, 1000, 10**6]
    got = ss.bon_true_values(pi, rm, ns)
    want = np.array([rm.value(ss.best_of_n_law(pi, n, reward=rm)) for n in ns]).T
    np.testing.assert_allclose(got, want, atol=1e-12)


@given(prob_tables(max_contexts=3, max_responses=6), st.sampled_from([1, 3, 50, 10**6]))
def test_eps_zero_recovers_the_sharpening_papers_best_of_n(probs, n):
    """r̂ = r* = the normalised likelihood: best-of-N by the proxy is best-of-N by log π (Section 3.1)."""
    pi = ss.TabularPolicy(probs)
    r = normalized_log_likelihood(pi.log_probs)
    rm = ss.RewardModel(r, r)
    assert np.all(rm.error(pi) == 0)
    np.testing.assert_allclose(
        ss.best_of_n_law(pi, n, reward=rm).probs, ss.best_of_n_law(pi, n).probs, atol=1e-12
    )


def test_bon_regret_curve_bad_input():
    pi = ss.TabularPolicy([[0.5, 0.5]])
    rm = ss.RewardModel([[1.0, 0.0]], [[0.0, 1.0]])
    with pytest.raises(ValueError, match="ns"):
        ss.bon_regret_curve(pi, rm, [1, 0])
    with pytest.raises(TypeError, match="reward_model"):
        ss.bon_true_values(pi, [[1.0, 0.0]], [1])
    with pytest.raises(ValueError, match="pi"):
        ss.bon_true_values(ss.TabularPolicy([[1.0]]), rm, [1])


# --------------------------------------------------------------------------- ITP: exact law and sampler


@given(worlds(max_responses=4), st.integers(1, 4), st.sampled_from([0.05, 0.3, 2.0]))
def test_itp_estimated_law_equals_brute_force_over_ordered_draws(world, n, beta):
    """The composition sum equals the sum over all |Y|^N ordered phase-1 draws."""
    pi, r = world
    law = ss.itp_law(pi, r, beta, n, phase1="estimated").probs
    np.testing.assert_allclose(law.sum(axis=1), 1.0, atol=1e-12)
    for x in range(pi.n_contexts):
        p = pi.probs[x]
        want = np.zeros_like(p)
        for draws in product(np.flatnonzero(p > 0), repeat=n):
            lam = _chi2_rows(np.full((1, n), 1.0 / n), r[x][list(draws)][None, :], beta)[1][0]
            a = np.maximum(r[x] - lam, 0) / (1 - lam)
            accept = a @ p
            miss = (1 - accept) ** n
            want += np.prod(p[list(draws)]) * (p * a * (1 - miss) / accept + miss * p)
        np.testing.assert_allclose(law[x], want, atol=1e-12)


@given(worlds(), st.sampled_from([0.01, 0.3, 5.0]), st.sampled_from([1, 10, 10**6]))
def test_itp_population_law_is_a_mixture_of_target_and_reference(world, beta, n):
    pi, r = world
    target = ss.chi2_regularized(pi, r, beta).probs
    lam = ss.chi2_threshold(pi, r, beta)
    q = (1 - beta / (1 - lam)) ** n
    want = (1 - q[:, None]) * target + q[:, None] * pi.probs
    np.testing.assert_allclose(ss.itp_law(pi, r, beta, n).probs, want, atol=1e-12)


def test_itp_limits_in_beta():
    """β → ∞: π_ref whatever N. Small β and N → ∞: the arg-max of r̂ split ∝ π_ref."""
    pi = ss.TabularPolicy([[0.4, 0.3, 0.3]])
    r = [[0.2, 0.8, 0.8]]
    for phase in ("population", "estimated"):
        np.testing.assert_allclose(
            ss.itp_law(pi, r, 1e9, 5, phase1=phase).probs, pi.probs, atol=1e-8
        )
    np.testing.assert_allclose(ss.itp_law(pi, r, 1e-3, 10**6).probs, [[0.0, 0.5, 0.5]], atol=1e-12)


def test_itp_sampler_matches_the_exact_law_chi_square():
    """Frequencies of 40000 runs vs itp_law(phase1='estimated'); level 1e-3 per case, Bonferroni over 2."""
    pi = ss.TabularPolicy([[0.35, 0.3, 0.2, 0.15]])
    r = np.array([[0.1, 0.5, 0.5, 1.0]])
    k = 40000
    for n, beta in ((1, 0.2), (4, 0.05)):
        law = ss.itp_law(pi, r, beta, n, phase1="estimated").probs[0]
        out = ss.inference_time_pessimism(pi, np.zeros(k, dtype=np.int64), n, beta, r, rng=n)
        counts = np.bincount(out.responses, minlength=4)
        assert stats.chisquare(counts, k * law).pvalue >= 1e-3 / 2
        assert out.queries == k * n + out.proposals.sum() + (~out.accepted).sum()
        assert np.all(out.proposals <= n)


def test_itp_sampler_counts_queries_through_the_oracle_and_is_reproducible():
    pi = ss.TabularPolicy([[0.5, 0.5], [0.9, 0.1]])
    oracle = ss.SampleEvaluateOracle(pi, rng=3)
    out = ss.inference_time_pessimism(oracle, [0, 1, 1], 5, 0.2, [[1.0, 0.0], [0.0, 1.0]])
    assert oracle.queries == out.queries
    a = ss.inference_time_pessimism(pi, [0, 1, 1], 5, 0.2, [[1.0, 0.0], [0.0, 1.0]], rng=7)
    b = ss.inference_time_pessimism(pi, [0, 1, 1], 5, 0.2, [[1.0, 0.0], [0.0, 1.0]], rng=7)
    assert a.responses.tobytes() == b.responses.tobytes() and a.queries == b.queries


@given(padded_policies(vocab=2, horizon=2, end_token=0))
def test_itp_sampler_on_sequences_returns_token_arrays(policy):
    table = ss.all_sequences(2, 2).sum(axis=1)[None, :] / 2.0
    rm = np.repeat(table, policy.n_contexts, axis=0)
    out = ss.inference_time_pessimism(
        policy, np.arange(policy.n_contexts), 3, 0.5, ss.TableReward(rm, vocab_size=2), rng=0
    )
    assert out.responses.shape == (policy.n_contexts, 2)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n": 0}, "n"),
        ({"phase1": "magic"}, "phase1"),
        ({"r_max": 0.5}, "r_max"),
        ({"beta": -1.0}, "beta"),
        ({"max_compositions": 2, "phase1": "estimated"}, "max_compositions"),
    ],
)
def test_itp_law_bad_input_names_the_argument(kwargs, match):
    args = {
        "pi": ss.TabularPolicy([[0.5, 0.5]]),
        "reward": [[1.0, 0.0]],
        "beta": 0.1,
        "n": 3,
    } | kwargs
    with pytest.raises((ValueError, TypeError), match=match):
        ss.itp_law(**args)


def test_itp_sampler_bad_input():
    pi = ss.TabularPolicy([[0.5, 0.5]])
    with pytest.raises(ValueError, match="N"):
        ss.inference_time_pessimism(pi, [0], 0, 0.1, [[1.0, 0.0]])
    with pytest.raises(ValueError, match="r_max"):
        ss.inference_time_pessimism(pi, [0], 3, 0.1, [[2.0, 0.0]], rng=0)
    with pytest.raises(ValueError, match="reward"):
        ss.inference_time_pessimism(pi, [0], 3, 0.1, ss.MajorityVoteReward([[0, 1]]), rng=0)


# --------------------------------------------------------------------------- reward models


@given(worlds(), st.data())
def test_reward_model_error_coverage_and_regret(world, data):
    pi, r = world
    true = np.array(data.draw(st.lists(UNIT, min_size=r.size, max_size=r.size))).reshape(r.shape)
    rm = ss.RewardModel(true, r)
    np.testing.assert_allclose(rm.error(pi), np.sum(pi.probs * (r - true) ** 2, axis=1))
    comp = ss.optimal_comparator(pi, rm)
    c_inf, c_1 = ss.comparator_coverage(comp, pi)
    assert np.all(c_1 <= c_inf * (1 + 1e-12)) and np.all(c_1 >= 1 - 1e-12)
    assert rm.regret(comp, pi) == pytest.approx(0.0, abs=1e-15)
    assert rm.regret(pi, pi) >= -1e-15


@given(
    prob_tables(max_contexts=2, max_responses=8, allow_zeros=False),
    st.sampled_from([0.0, 0.01, 0.2]),
)
def test_adversarial_model_spends_at_most_the_budget_on_rare_responses(probs, eps):
    pi = ss.TabularPolicy(probs)
    true = np.linspace(0, 0.5, probs.shape[1])[None, :].repeat(probs.shape[0], axis=0)
    rm = ss.adversarial_reward_model(pi, true, eps, n_rare=2)
    assert np.all(rm.error(pi) <= eps**2 * (1 + 1e-12))
    assert np.all(rm.proxy >= rm.true) and np.all((rm.proxy > rm.true).sum(axis=1) <= 2)


def test_self_reward_models_map_to_unit_interval():
    pi = ss.TabularPolicy([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    per = ss.self_reward_model(pi, "perturbed", sigma=0.5, rng=0)
    assert per.true.max() == 1.0 and 0 <= per.proxy.min() and per.proxy.max() == 1.0
    assert np.all(ss.self_reward_model(pi, "perturbed", sigma=0.0).error(pi) == 0)
    maj = ss.self_reward_model(pi, "majority", answers=[[0, 1, 1], [0, 0, 1]], k=8, rng=1)
    np.testing.assert_allclose(maj.true, [[0.5, 0.5, 0.5], [0.2, 0.2, 0.8]])
    assert np.all(np.isin(maj.proxy * 8, np.arange(9)))


@given(padded_policies(vocab=3, horizon=3, end_token=0))
def test_length_normalised_self_reward_model(policy):
    rm = ss.self_reward_model(policy, "length_normalized", end_token=0)
    lengths = ss.LengthNormalizedReward(0).lengths(ss.all_sequences(3, 3))
    tab = ss.as_tabular(policy)
    np.testing.assert_allclose(rm.true, normalized_log_likelihood(tab.log_probs))
    np.testing.assert_allclose(rm.proxy, normalized_log_likelihood(tab.log_probs / lengths))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: ss.RewardModel([[1.5, 0.0]], [[0.0, 0.0]]), "true"),
        (lambda: ss.RewardModel([[0.5, 0.0]], [[0.0, -0.1]]), "proxy"),
        (lambda: ss.RewardModel([[0.5, 0.0]], [[0.0]]), "proxy"),
        (lambda: ss.self_reward_model(ss.TabularPolicy([[1.0]]), "oracle"), "proxy"),
        (lambda: ss.self_reward_model(ss.TabularPolicy([[1.0]]), "perturbed", sigma=-1.0), "sigma"),
        (
            lambda: ss.self_reward_model(ss.TabularPolicy([[1.0]]), "majority", answers=[[0]], k=0),
            "k",
        ),
        (lambda: ss.adversarial_reward_model(ss.TabularPolicy([[1.0]]), [[0.0]], -0.1, 1), "eps"),
        (lambda: ss.RewardModel([[0.5, 0.0]], [[0.0, 0.0]]).error(ss.TabularPolicy([[1.0]])), "pi"),
        (
            lambda: ss.RewardModel([[0.5]], [[0.0]]).value(ss.TabularPolicy([[1.0]]), "both"),
            "which",
        ),
    ],
)
def test_reward_model_bad_input_names_the_argument(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


# --------------------------------------------------------------------------- bounds and instances


def test_bounds_bad_input_and_tuning():
    from sharpsim.theory import bounds

    with pytest.raises(ValueError, match="c_inf"):
        bounds.bon_regret_bound(3, 0.1, 0.5)
    with pytest.raises(ValueError, match="n must be at most"):
        bounds.reward_hacking_lower_bound(10**6, 0.1)
    with pytest.raises(ValueError, match="c must be >= 2"):
        bounds.minimax_lower_bound(0.01, 1.5)
    with pytest.raises(ValueError, match="beta"):
        bounds.itp_regret_bound(0.0, 0.1, 2.0)
    # the tuned N minimises the bound over its integer neighbours, and grows as eps shrinks
    for eps, c in ((0.01, 4.0), (0.001, 50.0)):
        n = bounds.bon_tuned_n(eps, c)
        b = bounds.bon_regret_bound(n, eps, c)
        assert b <= bounds.bon_regret_bound(n + 1, eps, c) and (
            n == 1 or b <= bounds.bon_regret_bound(n - 1, eps, c)
        )
    assert bounds.bon_tuned_n(0.001, 4.0) > bounds.bon_tuned_n(0.01, 4.0)
    beta = bounds.itp_tuned_beta(0.01, 9.0)
    assert bounds.itp_regret_bound(beta, 0.01, 9.0) == pytest.approx(2 * 0.01 * 3)
    assert all(
        bounds.itp_regret_bound(0.1, 0.01, 4.0, n) >= bounds.itp_regret_bound(0.1, 0.01, 4.0, n + 1)
        for n in range(1, 50)
    )


@pytest.mark.parametrize("eps, n", [(0.1, 2), (0.05, 50), (0.01, 10**4)])
def test_reward_hacking_instance_regret_formula(eps, n):
    inst = ss.theory.instances.reward_hacking_instance(eps, n)
    assert inst.reward_model.error(inst.pi)[0] == pytest.approx(eps**2, rel=1e-12)
    delta = eps * np.sqrt(n) / 2
    exact = delta * (1 - (1 - 1 / n) ** n + (0.5 - 1 / n) ** n)
    reg = inst.reward_model.regret(
        ss.best_of_n_law(inst.pi, n, reward=inst.reward_model), inst.pi, inst.comparator
    )
    assert reg == pytest.approx(exact, rel=1e-10)
    assert reg >= ss.theory.bounds.reward_hacking_lower_bound(n, eps)


# --------------------------------------------------------------------------- a pool of sampled candidates


@given(
    st.lists(st.sampled_from([-np.inf, 0.0, 0.5, 0.5, 1.0]), min_size=1, max_size=4),
    st.integers(1, 3),
    st.data(),
)
def test_pool_bon_values_equal_brute_force_over_ordered_draws(proxy, n, data):
    m = len(proxy)
    true = np.array(data.draw(st.lists(st.floats(-5, 0), min_size=m, max_size=m)))
    want = 0.0
    for draws in product(range(m), repeat=n):
        scores = np.array(proxy)[list(draws)]
        tied = [d for d, s in zip(draws, scores) if s == scores.max()]
        want += np.mean(true[tied]) / m**n  # ties split uniformly (= ∝ pool mass)
    got = ss.pool_bon_true_values([proxy], [true], [n])[0, 0]
    assert got == pytest.approx(want, rel=1e-12, abs=1e-12)


def test_pool_bon_values_bad_input():
    with pytest.raises(ValueError, match="true_scores"):
        ss.pool_bon_true_values([[0.0, 1.0]], [[0.0]], [1])
    with pytest.raises(ValueError, match="true_scores"):
        ss.pool_bon_true_values([[0.0, 1.0]], [[0.0, -np.inf]], [1])
    with pytest.raises(ValueError, match="proxy_scores"):
        ss.pool_bon_true_values([[np.nan, 1.0]], [[0.0, 0.0]], [1])
    with pytest.raises(ValueError, match="ns"):
        ss.pool_bon_true_values([[0.0, 1.0]], [[0.0, 0.0]], [0])


def test_itp_estimated_law_tends_to_the_population_law():
    """Two reward levels: N+1 count vectors, so N = 64000 is exact and cheap.

    Far from the kink of λ̂ (here p̂_top = 1/3) the gap is the curvature bias of a smooth
    function of λ̂, of order Var(λ̂) ∝ 1/N: 16 times more draws, about 16 times smaller.
    """
    pi = ss.TabularPolicy([[0.7, 0.2, 0.1]])
    r = [[0.2, 0.8, 0.8]]
    tv = []
    for n in (10, 4000, 64000):
        est = ss.itp_law(pi, r, 0.2, n, phase1="estimated").probs
        pop = ss.itp_law(pi, r, 0.2, n).probs
        tv.append(0.5 * np.abs(est - pop).sum())
    assert tv[0] > tv[1] > tv[2] and tv[2] < 1e-4
    assert 8 < tv[1] / tv[2] < 32
