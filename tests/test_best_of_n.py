import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from scipy.special import logsumexp
from strategies import prob_tables, reward_tables

import sharpsim as ss
from sharpsim.inference.adaptive_bon import _stop_threshold

#: Significance level of every statistical test in this file (Bonferroni-split within a test).
ALPHA = 1e-3


# --------------------------------------------------------------------------- references


def _brute_bon_law(p, r, n, tie_break):
    """Law of the BoN pick by enumerating every ordered draw ``(y_1..y_n)``."""
    law = np.zeros(len(p))
    for draws in itertools.product(np.flatnonzero(p > 0), repeat=n):
        best = max(r[y] for y in draws)
        tied = [y for y in draws if r[y] == best]
        law[tied[0] if tie_break == "first" else min(tied)] += np.prod(p[list(draws)])
    return law


def _brute_majority_law(p, answers, n, tie_break):
    """Law of BoN under the empirical majority vote, by enumerating every ordered draw."""
    law = np.zeros(len(p))
    for draws in itertools.product(np.flatnonzero(p > 0), repeat=n):
        ids = answers[list(draws)]
        counts = np.bincount(ids)
        tied = [y for y, a in zip(draws, ids) if counts[a] == counts.max()]
        law[tied[0] if tie_break == "first" else min(tied)] += np.prod(p[list(draws)])
    return law


def _chain_adaptive(p, mu, reward=None, tie_break="first", max_steps=5000):
    """Adaptive BoN (Eq. 10) one draw at a time, as a Markov chain on (running-max draw, incumbent pick).

    Returns the law of the pick and ``E[N_μ] = Σ_k P(N_μ ≥ k)``; states whose
    mass underflows to 0 are dropped.
    """
    log_p = np.full(len(p), -np.inf)
    log_p[p > 0] = np.log(p[p > 0])
    r = log_p if reward is None else np.asarray(reward, dtype=float)
    c = _stop_threshold(log_p, mu)
    support = np.flatnonzero(p > 0)
    law, expected, running = np.zeros(len(p)), 0.0, {(None, None): 1.0}
    for k in range(1, max_steps + 1):
        nxt = {}
        for (top, best), mass in running.items():
            for y in support:
                new_top = y if top is None or p[y] > p[top] else top
                wins = (
                    best is None
                    or r[y] > r[best]
                    or (tie_break == "index" and r[y] == r[best] and y < best)
                )
                key = (new_top, y if wins else best)
                nxt[key] = nxt.get(key, 0.0) + mass * p[y]
        expected += sum(nxt.values())
        running = {}
        for (top, best), mass in nxt.items():
            if k >= c[top]:
                law[best] += mass
            elif mass > 0:
                running[(top, best)] = mass
        if not running:
            return law, expected
    raise AssertionError("stopping time did not end within max_steps")


def _assert_sample_matches(counts, probs, alpha):
    """Chi-square goodness of fit (cells with expected < 5 pooled); zero-probability cells must be empty."""
    counts, probs = np.asarray(counts), np.asarray(probs)
    assert counts[probs == 0].sum() == 0
    expected = counts.sum() * probs
    small = expected < 5
    obs = np.r_[counts[~small], counts[small].sum()]
    exp = np.r_[expected[~small], expected[small].sum()]
    keep = exp > 0
    if keep.sum() < 2:
        return
    exp = (
        exp[keep] * obs[keep].sum() / exp[keep].sum()
    )  # removes the ≤1e-12 rounding of the law's row sum
    assert stats.chisquare(obs[keep], exp).pvalue > alpha


def _assert_same_distribution(a, b, n_categories, alpha):
    """Chi-square test of homogeneity of two samples of category indices."""
    table = np.array(
        [np.bincount(a, minlength=n_categories), np.bincount(b, minlength=n_categories)]
    )
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return
    assert stats.chi2_contingency(table).pvalue > alpha


def _row_log_sums(law):
    return logsumexp(law.log_probs, axis=1)


# --------------------------------------------------------------------------- exact law: properties


@given(prob_tables(max_responses=4), st.data())
def test_law_equals_enumeration_with_ties(probs, data):
    n_x, n_y = probs.shape
    rewards = data.draw(reward_tables(n_x, n_y))
    n = data.draw(st.integers(1, 4))
    for tie_break in ("first", "index"):
        law = ss.best_of_n_law(
            ss.TabularPolicy(probs), n, reward=rewards, tie_break=tie_break
        ).probs
        for x in range(n_x):
            np.testing.assert_allclose(
                law[x], _brute_bon_law(probs[x], rewards[x], n, tie_break), rtol=1e-9, atol=1e-15
            )


@given(prob_tables(), st.data())
def test_law_sums_to_one_for_huge_n(probs, data):
    rewards = data.draw(st.one_of(st.none(), reward_tables(*probs.shape)))
    n = data.draw(st.sampled_from([1, 2, 7, 10**6, 10**12]))
    tie_break = data.draw(st.sampled_from(["first", "index"]))
    law = ss.best_of_n_law(ss.TabularPolicy(probs), n, reward=rewards, tie_break=tie_break)
    np.testing.assert_allclose(_row_log_sums(law), 0.0, atol=1e-10)
    assert not np.any(np.isnan(law.log_probs))
    assert np.all(law.log_probs[probs == 0] == -np.inf)


@given(prob_tables(), st.data())
def test_law_with_one_draw_is_the_base(probs, data):
    pi = ss.TabularPolicy(probs)
    rewards = data.draw(st.one_of(st.none(), reward_tables(*probs.shape)))
    for tie_break in ("first", "index"):
        law = ss.best_of_n_law(pi, 1, reward=rewards, tie_break=tie_break).log_probs
        np.testing.assert_array_equal(law == -np.inf, pi.log_probs == -np.inf)
        finite = np.isfinite(pi.log_probs)
        np.testing.assert_allclose(law[finite], pi.log_probs[finite], rtol=1e-9, atol=1e-12)


def _argmax_set(probs, rewards):
    top = np.max(np.where(probs > 0, rewards, -np.inf), axis=1, keepdims=True)
    return (probs > 0) & (rewards == top)


@given(prob_tables(), st.data())
def test_mass_on_reward_argmax_is_monotone_and_closed_form(probs, data):
    rewards = data.draw(reward_tables(*probs.shape))
    best = _argmax_set(probs, rewards)
    best_mass, off_mass = (
        np.where(best, probs, 0.0).sum(axis=1),
        np.where(best, 0.0, probs).sum(axis=1),
    )
    with np.errstate(divide="ignore"):
        # log of the off-argmax mass, from whichever of the two sums is small (no cancellation)
        log_off = np.where(best_mass < 0.5, np.log1p(-np.minimum(best_mass, 0.5)), np.log(off_mass))
    previous = np.zeros(probs.shape[0])
    for n in (1, 2, 3, 10, 100, 10**4, 10**6):
        law = ss.best_of_n_law(ss.TabularPolicy(probs), n, reward=rewards).probs
        mass = np.where(best, law, 0.0).sum(axis=1)
        assert np.all(mass >= previous - 1e-12)
        np.testing.assert_allclose(mass, -np.expm1(n * log_off), rtol=1e-9, atol=1e-12)
        previous = mass


@given(prob_tables(), st.data())
def test_law_tends_to_base_restricted_to_reward_argmax(probs, data):
    rewards = data.draw(st.one_of(st.none(), reward_tables(*probs.shape)))
    with np.errstate(divide="ignore"):
        best = _argmax_set(probs, np.log(probs) if rewards is None else rewards)
    limit = np.where(best, probs, 0.0)
    limit /= limit.sum(axis=1, keepdims=True)
    law = ss.best_of_n_law(ss.TabularPolicy(probs), 10**300, reward=rewards).probs
    np.testing.assert_allclose(law, limit, rtol=1e-9, atol=1e-300)


@given(prob_tables(), st.data())
def test_ties_split_proportionally_to_base(probs, data):
    rewards = data.draw(reward_tables(*probs.shape))
    n = data.draw(st.sampled_from([2, 5, 1000]))
    pi = ss.TabularPolicy(probs)
    law = ss.best_of_n_law(pi, n, reward=rewards).log_probs
    for x in range(probs.shape[0]):
        for value in np.unique(rewards[x]):
            group = (rewards[x] == value) & (probs[x] > 0)
            log_ratio = (
                law[x, group] - pi.log_probs[x, group]
            )  # constant within a tie group (log space: no underflow)
            if group.sum() >= 2 and np.isfinite(log_ratio[0]):
                np.testing.assert_allclose(
                    log_ratio, log_ratio[0], rtol=0, atol=1e-9 * max(1.0, abs(log_ratio[0]))
                )


@given(prob_tables(), st.sampled_from([0.0, 0.3, 0.7]), st.sampled_from([1, 3, 50, 1000]))
def test_proposition_c1_identity(probs, gamma, n):
    pi = ss.TabularPolicy(probs)
    law = ss.best_of_n_law(pi, n).probs
    off_mode = ~ss.mode_mask(pi, gamma)
    miss = np.where(off_mode, law, 0.0).sum(axis=1)
    np.testing.assert_allclose(
        miss, ss.bon_failure_probability(pi, n, gamma), rtol=1e-9, atol=1e-300
    )


@given(prob_tables(), st.sampled_from([0.0, 0.5]), st.sampled_from([0.5, 0.1, 1e-3, 1e-12]))
def test_sufficient_n_meets_failure_level(probs, gamma, rho):
    pi = ss.TabularPolicy(probs)
    n_needed = ss.bon_sufficient_n(pi, rho, gamma)
    expected = np.ceil(np.log(1 / rho) / ss.mode_mass(pi, gamma))
    np.testing.assert_array_equal(n_needed, expected)
    for x, n in enumerate(n_needed):
        assert ss.bon_failure_probability(pi, int(n), gamma)[x] <= rho * (1 + 1e-12)


def test_log_space_survives_tiny_masses_and_a_million_draws():
    pi = ss.TabularPolicy([[1e-300, 0.25, 0.75 - 1e-300], [0.5, 0.5 - 1e-200, 1e-200]])
    law = ss.best_of_n_law(pi, 10**6).log_probs
    assert law[0, 0] == pytest.approx(10**6 * math.log(1e-300), rel=1e-12)
    # F = 0.25 + 1e-300 and m = 0.25 for the middle response: (F^N - (F - m)^N) = 0.25^N to double precision.
    assert law[0, 1] == pytest.approx(10**6 * math.log(0.25), rel=1e-12)
    assert law[0, 2] == pytest.approx(-(0.25**10**6), abs=1e-300)
    assert law[1, 2] == pytest.approx(10**6 * math.log(1e-200), rel=1e-12)
    assert not np.any(np.isnan(law))


# --------------------------------------------------------------------------- samplers against the law


def _picks_as_index(res, policy):
    if hasattr(policy, "horizon"):
        return ss.encode_sequences(res.responses, policy.vocab_size)
    return res.responses


@pytest.mark.parametrize("tie_break", ["first", "index"])
def test_faithful_and_law_samplers_match_exact_law_tabular(tie_break):
    """Chi-square at level 1e-3 split over 2 prompts x 3 tests (both samplers vs law, and vs each other)."""
    probs = np.array([[0.3, 0.3, 0.2, 0.1, 0.1, 0.0], [0.05, 0.05, 0.4, 0.4, 0.05, 0.05]])
    rewards = np.array([[1.0, 1.0, 2.0, 2.0, 0.0, 5.0], [0.0, 3.0, 1.0, 1.0, 3.0, 3.0]])
    pi, k, n = ss.TabularPolicy(probs), 20_000, 3
    x = np.repeat([0, 1], k)
    law = ss.best_of_n_law(pi, n, reward=rewards, tie_break=tie_break).probs
    faithful = ss.best_of_n(
        pi, x, n, reward=rewards, tie_break=tie_break, rng=1, chunk_size=3 * k
    ).responses
    by_law = ss.best_of_n(
        pi, x, n, reward=rewards, method="law", tie_break=tie_break, rng=2
    ).responses
    alpha = ALPHA / 6
    for p in range(2):
        f, g = faithful[x == p], by_law[x == p]
        _assert_sample_matches(np.bincount(f, minlength=6), law[p], alpha)
        _assert_sample_matches(np.bincount(g, minlength=6), law[p], alpha)
        _assert_same_distribution(f, g, 6, alpha)


@pytest.mark.parametrize("reward_name", ["log_likelihood", "length"])
def test_samplers_match_exact_law_autoregressive(reward_name):
    """V=2, H=3, end token 0; ties in likelihood and in length-normalised likelihood. Level 1e-3 over 3 tests."""
    joint = np.zeros(8)
    # padded sequences (tokens after the first 0 are 0): 000, 100, 110, 111
    joint[[0b000, 0b100, 0b110, 0b111]] = [0.2, 0.2, 0.36, 0.24]
    policy = ss.JointAutoregressivePolicy(joint[None], 2, 3)
    reward = None if reward_name == "log_likelihood" else ss.LengthNormalizedReward(0)
    k, n = 12_000, 2
    x = np.zeros(k, dtype=np.int64)
    law = ss.best_of_n_law(policy, n, reward=reward).probs[0]
    faithful = ss.best_of_n(policy, x, n, reward=reward, rng=3, chunk_size=k)
    by_law = ss.best_of_n(policy, x, n, reward=reward, method="law", rng=4)
    assert faithful.responses.shape == (k, 3) and by_law.responses.shape == (k, 3)
    np.testing.assert_allclose(faithful.log_probs, policy.log_prob(x, faithful.responses))
    f, g = _picks_as_index(faithful, policy), _picks_as_index(by_law, policy)
    _assert_sample_matches(np.bincount(f, minlength=8), law, ALPHA / 3)
    _assert_sample_matches(np.bincount(g, minlength=8), law, ALPHA / 3)
    _assert_same_distribution(f, g, 8, ALPHA / 3)


@pytest.mark.parametrize("tie_break", ["first", "index"])
def test_faithful_majority_vote_matches_enumeration(tie_break):
    """Empirical self-consistency BoN (faithful only) vs exact enumeration of all 3^4 draws; level 1e-3."""
    p = np.array([0.3, 0.45, 0.25])
    answers = np.array([0, 1, 0])
    reward = ss.MajorityVoteReward(answers[None])
    k, n = 20_000, 4
    res = ss.best_of_n(
        ss.TabularPolicy(p[None]),
        np.zeros(k, np.int64),
        n,
        reward=reward,
        tie_break=tie_break,
        rng=5,
        chunk_size=2 * k,
    )  # two chunks of two draws
    assert res.queries == k * n
    _assert_sample_matches(
        np.bincount(res.responses, minlength=3),
        _brute_majority_law(p, answers, n, tie_break),
        ALPHA,
    )


def test_majority_vote_law_method_is_refused_and_population_law_differs():
    pi = ss.TabularPolicy([[0.3, 0.45, 0.25]])
    reward = ss.MajorityVoteReward([[0, 1, 0]])
    with pytest.raises(ValueError, match="fixed function of"):
        ss.best_of_n(pi, [0], 3, reward=reward, method="law")
    population = ss.best_of_n_law(pi, 3, reward=reward).probs[0]
    np.testing.assert_allclose(
        population, _brute_bon_law(pi.probs[0], reward.table(pi)[0], 3, "first"), rtol=1e-12
    )


def test_faithful_streams_a_million_draws():
    pi = ss.TabularPolicy([[0.2, 0.5, 0.3]])
    oracle = ss.SampleEvaluateOracle(pi, rng=0)
    res = ss.best_of_n(oracle, [0], 10**6, chunk_size=1 << 16)
    assert res.queries == 10**6 == oracle.queries
    assert res.responses.tolist() == [1] and res.log_probs[0] == pi.log_probs[0, 1]


def test_law_sampler_keeps_rows_apart_across_blocks():
    """1100 prompts (two blocks of stacked CDF keys); at N = 10^6 each law is a point mass to double precision."""
    n_x, n_y = 1100, 7
    mode = np.arange(n_x) % n_y
    probs = np.full((n_x, n_y), 0.05 / (n_y - 1))
    probs[np.arange(n_x), mode] = 0.95
    pi = ss.TabularPolicy(probs)
    assert np.all(ss.best_of_n_law(pi, 10**6).probs[np.arange(n_x), mode] == 1.0)
    x = np.tile(np.arange(n_x), 3)
    res = ss.best_of_n(pi, x, 10**6, method="law", rng=0)
    np.testing.assert_array_equal(res.responses, mode[x])
    assert res.queries == 3 * n_x * 10**6


@given(st.sampled_from(["faithful", "law"]), st.booleans(), st.sampled_from(["first", "index"]))
def test_no_prompts_give_empty_results(method, sequences, tie_break):
    policy = (
        ss.JointAutoregressivePolicy([[0.1, 0.2, 0.3, 0.4]], 2, 2)
        if sequences
        else ss.TabularPolicy([[0.5, 0.5]])
    )
    res = ss.best_of_n(policy, np.zeros(0, np.int64), 3, method=method, tie_break=tie_break, rng=0)
    assert (
        res.responses.shape == ((0, 2) if sequences else (0,))
        and res.log_probs.shape == (0,)
        and res.queries == 0
    )


def test_queries_are_counted_and_budget_respected():
    pi = ss.TabularPolicy([[0.6, 0.4], [0.1, 0.9]])
    for method in ("faithful", "law"):
        oracle = ss.SampleEvaluateOracle(pi, budget=100, rng=0)
        res = ss.best_of_n(oracle, [0, 1, 1], 30, method=method)
        assert res.queries == 90 == oracle.queries
        with pytest.raises(ss.QueryBudgetExceeded):
            ss.best_of_n(oracle, [0], 11, method=method)
        assert oracle.queries == 90


# --------------------------------------------------------------------------- adaptive best-of-N


@given(prob_tables(max_responses=4), st.sampled_from([0.3, 1.0, 1.7, 3.2]))
def test_adaptive_law_and_mean_match_step_by_step_chain(probs, mu):
    pi = ss.TabularPolicy(probs)
    law = ss.adaptive_best_of_n_law(pi, mu).probs
    mean = ss.adaptive_best_of_n_expected_samples(pi, mu)
    for x in range(probs.shape[0]):
        ref_law, ref_mean = _chain_adaptive(probs[x], mu)
        np.testing.assert_allclose(law[x], ref_law, rtol=1e-9, atol=1e-13)
        assert mean[x] == pytest.approx(ref_mean, rel=1e-9)


@given(prob_tables(), st.floats(0.05, 8.0))
def test_adaptive_exact_quantities_obey_lemma_i1(probs, mu):
    pi = ss.TabularPolicy(probs)
    law = ss.adaptive_best_of_n_law(pi, mu)
    np.testing.assert_allclose(_row_log_sums(law), 0.0, atol=1e-10)
    mode = ss.mode_mask(pi)
    n_modes, p_star = mode.sum(axis=1), probs.max(axis=1)
    mean = ss.adaptive_best_of_n_expected_samples(pi, mu)
    # no stop before c(P*) = ⌈μ/P*⌉, with k·P* reaching μ by the package's threshold rule (TIE_RTOL)
    first_stop = _stop_threshold(pi.log_probs.max(axis=1), mu)
    assert np.all(
        first_stop == np.ceil(mu / p_star) - (np.ceil(mu / p_star) - 1 >= mu / p_star * (1 - 1e-9))
    )
    assert np.all(mean >= first_stop * (1 - 1e-12))
    assert np.all(mean <= (mu + 1 / n_modes) / p_star * (1 + 1e-12))
    miss = np.where(mode, 0.0, law.probs).sum(axis=1)
    assert np.all(miss <= np.exp(-n_modes * mu) * (1 + 1e-9))


def test_adaptive_sampler_matches_exact_law_and_lemma_i1():
    """Level 1e-3 split over 4 one- or two-sided tests: pick law (chi-square), mean N (z-test),
    Lemma I.1's mean bound (one-sided z) and miss bound exp(-|y*|μ) (one-sided binomial)."""
    probs = np.array([[0.3, 0.3, 0.15, 0.15, 0.1]])  # |y*| = 2, P* = 0.3
    pi, mu, k = ss.TabularPolicy(probs), 1.3, 30_000
    oracle = ss.SampleEvaluateOracle(pi, rng=11)
    res = ss.adaptive_best_of_n(oracle, np.zeros(k, np.int64), mu)
    assert res.queries == oracle.queries == res.samples_per_prompt.sum() and res.stopped.all()
    alpha = ALPHA / 4
    z = stats.norm.isf(alpha / 2)
    _assert_sample_matches(
        np.bincount(res.responses, minlength=5), ss.adaptive_best_of_n_law(pi, mu).probs[0], alpha
    )
    n_mu = res.samples_per_prompt
    se = n_mu.std(ddof=1) / math.sqrt(k)
    exact_mean = ss.adaptive_best_of_n_expected_samples(pi, mu)[0]
    assert abs(n_mu.mean() - exact_mean) <= z * se
    assert n_mu.mean() <= (mu + 1 / 2) / 0.3 + stats.norm.isf(alpha) * se
    misses = int(np.count_nonzero(res.responses >= 2))
    assert stats.binomtest(misses, k, math.exp(-2 * mu), alternative="greater").pvalue > alpha


def test_adaptive_sampler_on_sequences_and_tie_rules():
    """Level 1e-3 over 3 chi-square tests: 'first' vs the exact law and vs the chain, 'index' vs the chain."""
    joint = np.array([0.05, 0.3, 0.3, 0.05, 0.1, 0.1, 0.05, 0.05])
    policy = ss.JointAutoregressivePolicy(joint[None], 2, 3)
    k, mu = 20_000, 2.2
    law = ss.adaptive_best_of_n_law(policy, mu).probs[0]
    np.testing.assert_allclose(law, _chain_adaptive(joint, mu)[0], rtol=1e-9, atol=1e-15)
    for tie_break, seed in (("first", 12), ("index", 13)):
        res = ss.adaptive_best_of_n(
            policy, np.zeros(k, np.int64), mu, rng=seed, tie_break=tie_break
        )
        counts = np.bincount(ss.encode_sequences(res.responses, 2), minlength=8)
        _assert_sample_matches(
            counts, _chain_adaptive(joint, mu, tie_break=tie_break)[0], ALPHA / 3
        )
        if tie_break == "first":
            _assert_sample_matches(counts, law, ALPHA / 3)


def test_adaptive_sampler_with_another_reward_matches_chain():
    """The rule stops on π_base but picks by reward (here: least likely first); chi-square at level 1e-3."""
    p = np.array([0.5, 0.3, 0.2])
    reward = np.array([0.0, 1.0, 2.0])
    pi, mu, k = ss.TabularPolicy(p[None]), 1.4, 20_000
    res = ss.adaptive_best_of_n(pi, np.zeros(k, np.int64), mu, reward=reward[None], rng=14)
    assert np.all(res.log_probs == pi.log_probs[0, res.responses])
    ref_law, ref_mean = _chain_adaptive(p, mu, reward=reward)
    _assert_sample_matches(np.bincount(res.responses, minlength=3), ref_law, ALPHA)
    assert ref_mean == pytest.approx(ss.adaptive_best_of_n_expected_samples(pi, mu)[0], rel=1e-12)


def test_adaptive_cap_raises_or_flags():
    pi = ss.TabularPolicy([[0.01] * 100])  # needs ⌈μ/0.01⌉ = 200 draws at μ = 2
    with pytest.raises(RuntimeError, match="max_samples=50"):
        ss.adaptive_best_of_n(pi, [0, 0], 2.0, max_samples=50, rng=0)
    oracle = ss.SampleEvaluateOracle(pi, rng=0)
    res = ss.adaptive_best_of_n(oracle, [0, 0], 2.0, max_samples=50, on_cap="flag")
    assert (
        not res.stopped.any()
        and res.samples_per_prompt.tolist() == [50, 50]
        and oracle.queries == 100
    )
    full = ss.adaptive_best_of_n(pi, [0, 0, 0], 2.0, max_samples=200, rng=0)
    assert full.stopped.all() and full.samples_per_prompt.tolist() == [200, 200, 200]


def test_adaptive_with_no_prompts():
    pi = ss.TabularPolicy([[0.5, 0.25, 0.25]])
    empty = ss.adaptive_best_of_n(pi, np.zeros(0, np.int64), 1.0, rng=0)
    assert (
        empty.responses.shape == (0,)
        and empty.queries == 0
        and empty.samples_per_prompt.shape == (0,)
    )


# --------------------------------------------------------------------------- bad inputs


def test_law_bad_inputs():
    pi = ss.TabularPolicy([[0.5, 0.5]])
    with pytest.raises(ValueError, match="n must be >= 1"):
        ss.best_of_n_law(pi, 0)
    with pytest.raises(TypeError, match="n must be an integer"):
        ss.best_of_n_law(pi, 2.0)
    with pytest.raises(ValueError, match="n must be at most"):
        ss.best_of_n_law(pi, 10**400)
    with pytest.raises(ValueError, match="tie_break must be one of"):
        ss.best_of_n_law(pi, 2, tie_break="random")

    class WrongTable(ss.LogLikelihoodReward):
        def table(self, base):
            return np.zeros((2, 2))

    with pytest.raises(ValueError, match=r"reward.table must have shape \(1, 2\)"):
        ss.best_of_n_law(pi, 2, reward=WrongTable())
    with pytest.raises(ValueError, match="values must have shape"):
        ss.best_of_n_law(pi, 2, reward=[[1.0, 2.0, 3.0]])
    with pytest.raises(TypeError, match="reward must be None, a reward object"):
        ss.best_of_n_law(pi, 2, reward="loglik")
    with pytest.raises(TypeError, match="pi must be a TabularPolicy"):
        ss.best_of_n_law(np.array([[0.5, 0.5]]), 2)


def test_sampler_bad_inputs():
    pi = ss.TabularPolicy([[0.5, 0.5]])
    oracle = ss.SampleEvaluateOracle(pi, rng=0)
    with pytest.raises(ValueError, match="N must be >= 1"):
        ss.best_of_n(pi, [0], 0)
    with pytest.raises(ValueError, match="method must be one of"):
        ss.best_of_n(pi, [0], 2, method="exact")
    with pytest.raises(ValueError, match="tie_break must be one of"):
        ss.best_of_n(pi, [0], 2, tie_break="last")
    with pytest.raises(ValueError, match="x must be 1-d"):
        ss.best_of_n(pi, [[0]], 2)
    with pytest.raises(ValueError, match=r"x entries must be in \[0, 1\)"):
        ss.best_of_n(pi, [1], 2)
    with pytest.raises(ValueError, match="rng must be None when source is a SampleEvaluateOracle"):
        ss.best_of_n(oracle, [0], 2, rng=1)
    with pytest.raises(TypeError, match="source must be a SampleEvaluateOracle or a policy"):
        ss.best_of_n(np.eye(2), [0], 2)
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        ss.best_of_n(pi, [0], 2, chunk_size=0)

    class WrongShape(ss.LogLikelihoodReward):
        def score(self, x, y, log_prob):
            return np.zeros(3)

    with pytest.raises(ValueError, match=r"reward.score must return shape \(1, 2\)"):
        ss.best_of_n(pi, [0], 2, reward=WrongShape(), rng=0)


def test_adaptive_bad_inputs():
    pi = ss.TabularPolicy([[0.5, 0.5]])
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="mu_stop must be in"):
            ss.adaptive_best_of_n(pi, [0], bad)
        with pytest.raises(ValueError, match="mu_stop must be in"):
            ss.adaptive_best_of_n_expected_samples(pi, bad)
        with pytest.raises(ValueError, match="mu_stop must be in"):
            ss.adaptive_best_of_n_law(pi, bad)
    with pytest.raises(ValueError, match="mu_stop must be finite"):
        ss.adaptive_best_of_n(pi, [0], np.nan)
    with pytest.raises(ValueError, match="max_samples must be >= 1"):
        ss.adaptive_best_of_n(pi, [0], 1.0, max_samples=0)
    with pytest.raises(ValueError, match="on_cap must be one of"):
        ss.adaptive_best_of_n(pi, [0], 1.0, on_cap="truncate")
    with pytest.raises(ValueError, match="fixed function"):
        ss.adaptive_best_of_n(pi, [0], 1.0, reward=ss.MajorityVoteReward([[0, 1]]))


def test_proposition_c1_bad_inputs():
    pi = ss.TabularPolicy([[0.5, 0.5]])
    with pytest.raises(ValueError, match="N must be >= 1"):
        ss.bon_failure_probability(pi, 0)
    with pytest.raises(ValueError, match="gamma"):
        ss.bon_failure_probability(pi, 3, gamma=1.0)
    for rho in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="rho must be in"):
            ss.bon_sufficient_n(pi, rho)
    with pytest.raises(TypeError, match="rho must be a real number"):
        ss.bon_sufficient_n(pi, "0.1")


@pytest.mark.parametrize("tie_break", ["first", "index"])
def test_faithful_majority_vote_with_huge_sparse_answer_ids(tie_break):
    # Answer ids are labels: 10**12-sized ids used to allocate a 10**12-column answer store.
    pi = ss.TabularPolicy([[0.3, 0.3, 0.2, 0.2], [0.1, 0.2, 0.3, 0.4]])
    x = np.repeat([0, 1], 50)
    dense = ss.MajorityVoteReward(lambda r: np.asarray(r) // 2)
    sparse = ss.MajorityVoteReward(lambda r: (3 - np.asarray(r) // 2) * 10**12)
    for chunk in (
        1000,
        100,
    ):  # one chunk; then 1 draw per chunk, answers first seen in later chunks
        a = ss.best_of_n(pi, x, 5, reward=dense, tie_break=tie_break, rng=1, chunk_size=chunk)
        b = ss.best_of_n(pi, x, 5, reward=sparse, tie_break=tie_break, rng=1, chunk_size=chunk)
        np.testing.assert_array_equal(a.responses, b.responses)
        np.testing.assert_array_equal(a.log_probs, b.log_probs)


def test_adaptive_exact_laws_with_astronomical_stopping_times():
    # c(p) = ⌈μ/p⌉ ≈ 1e306 for p = 1e-300: c·log S used to overflow with a RuntimeWarning.
    pi = ss.TabularPolicy([[0.5, 0.5 - 1e-300, 1e-300]])
    expected = ss.adaptive_best_of_n_expected_samples(pi, 1e6)
    np.testing.assert_allclose(
        expected, [2e6], rtol=1e-9
    )  # c_top = 2e6 and later draws never matter
    law = ss.adaptive_best_of_n_law(pi, 1e6)
    np.testing.assert_allclose(law.probs, [[0.5, 0.5, 0.0]], atol=1e-12)


# --------------------------------------------------------------------------- extremes (issue 7 §5)


def test_faithful_best_of_n_refuses_huge_n_before_drawing():
    oracle = ss.SampleEvaluateOracle(ss.TabularPolicy([[0.5, 0.5]]), rng=0)
    with pytest.raises(ValueError, match="N = 1000000000000000000 .* max_draws = 10000000000"):
        ss.best_of_n(oracle, [0, 0], 10**18)
    assert oracle.queries == 0
    with pytest.raises(ValueError, match="max_draws = 10"):
        ss.best_of_n(oracle, [0, 0], 6, max_draws=10)
    assert ss.best_of_n(oracle, [0, 0], 5, max_draws=10).queries == 10
    res = ss.best_of_n(oracle, [0, 0], 10**18, method="law")  # the law draws nothing per response
    assert res.queries == 2 * 10**18
    with pytest.raises(TypeError, match="max_draws must be an integer"):
        ss.best_of_n(oracle, [0], 2, max_draws=1.5)


def test_adaptive_best_of_n_refuses_or_caps_huge_mu():
    pi = ss.TabularPolicy([[0.5, 0.5]])
    oracle = ss.SampleEvaluateOracle(pi, rng=0)
    with pytest.raises(ValueError, match="mu_stop = 1e\\+15 .* max_draws = 10000000000"):
        ss.adaptive_best_of_n(oracle, [0, 0], 1e15)
    assert oracle.queries == 0
    # the cap binds while drawing: raised (default) or flagged, never a silent hang
    tiny = ss.TabularPolicy([[1e-6] * 10**6])  # the rule needs k ≥ μ/1e-6 draws
    with pytest.raises(RuntimeError, match="max_draws=1000 in all"):
        ss.adaptive_best_of_n(tiny, [0], 1.0, rng=0, max_draws=1000)
    res = ss.adaptive_best_of_n(tiny, [0, 0], 1.0, rng=0, max_draws=1000, on_cap="flag")
    assert res.queries <= 1000 and not res.stopped.any()
    assert res.queries == int(res.samples_per_prompt.sum())
