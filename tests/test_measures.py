"""Tests for sharpsim.measures: hand-computed values, exact identities, the paper's lemmas.

Inequalities between computed quantities are checked up to ``RTOL``: each side is a
log-sum-exp of at most a few dozen doubles, so its relative rounding error is a small
multiple of 2^-52 ≈ 2.2e-16; 1e-10 leaves five orders of magnitude of headroom while
being far below any gap the assertions are about.
"""

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy.special import logsumexp
from strategies import (
    autoregressive_policies,
    prob_tables,
    prob_tables_of_shape,
    prompt_distributions,
    tabular_policies,
    unique_mode_tables,
)

import sharpsim as ss
import sharpsim.measures as measures

RTOL = 1e-10
INF = math.inf

# The 2 x 3 world used for hand-computed values.
WORLD = ss.TabularPolicy([[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]])
MU = np.array([0.25, 0.75])

betas = st.sampled_from([1e-3, 0.05, 0.3, 1.0, 4.0, 100.0])
gammas = st.sampled_from([0.0, 0.1, 0.3, 0.55, 0.8, 0.95])


@st.composite
def worlds(draw, table=prob_tables, **kwargs):
    """A tabular policy and a prompt distribution for it."""
    pi = ss.TabularPolicy(draw(table(**kwargs)))
    return pi, draw(prompt_distributions(pi.n_contexts))


@st.composite
def policy_pairs(draw):
    """Two tabular policies of the same shape and a prompt distribution."""
    first = draw(prob_tables())
    second = draw(prob_tables_of_shape(*first.shape))
    mu = draw(prompt_distributions(first.shape[0]))
    return ss.TabularPolicy(first), ss.TabularPolicy(second), mu


def support(mu, n):
    return np.ones(n, bool) if mu is None else np.asarray(mu) > 0


def weights(mu, n):
    return np.full(n, 1.0 / n) if mu is None else np.asarray(mu)


# ------------------------------------------------------------------ hand-computed values (2 x 3 world)


def test_mode_mask_and_mass_hand():
    np.testing.assert_array_equal(ss.mode_mask(WORLD), [[True, False, False], [True, True, False]])
    np.testing.assert_array_equal(
        ss.mode_mask(WORLD, 0.55), [[True, True, False], [True, True, True]]
    )
    np.testing.assert_allclose(ss.mode_mass(WORLD), [0.5, 0.8], rtol=RTOL)
    np.testing.assert_allclose(ss.mode_mass(WORLD, 0.55), [0.8, 1.0], rtol=RTOL)
    np.testing.assert_allclose(ss.log_mode_mass(WORLD), np.log([0.5, 0.8]), rtol=RTOL)


def test_coverage_hand():
    assert ss.coverage(WORLD, MU) == pytest.approx(0.25 / 0.5 + 0.75 / 0.8, rel=RTOL)
    assert ss.coverage(WORLD) == pytest.approx(0.5 * (2 + 1.25), rel=RTOL)
    assert ss.coverage(WORLD, MU, gamma=0.55) == pytest.approx(0.25 / 0.8 + 0.75 / 1.0, rel=RTOL)
    assert ss.coverage(WORLD, MU, p=2) == pytest.approx(
        math.sqrt(0.25 * 4 + 0.75 * 1.25**2), rel=RTOL
    )
    assert ss.coverage(WORLD, MU, p=INF) == pytest.approx(2.0, rel=RTOL)
    assert ss.coverage(WORLD, [0.0, 1.0], p=INF) == pytest.approx(1.25, rel=RTOL)
    assert ss.adaptive_coverage(WORLD, MU) == pytest.approx(0.25 / 0.5 + 0.75 / 0.4, rel=RTOL)


def test_margin_hand():
    assert ss.margin(WORLD, MU) == pytest.approx(0.5 / 0.3 - 1, rel=RTOL)
    assert ss.margin(WORLD, [0.0, 1.0]) == pytest.approx(0.4 / 0.2 - 1, rel=RTOL)
    assert ss.margin(WORLD, [0.0, 1.0], assumption="J.2") == pytest.approx(0.8 / 0.2 - 1, rel=RTOL)
    # gamma = 0.55: row 0 has {0.5, 0.3} in the set, 0.2 outside; row 1 imposes nothing.
    assert ss.margin(WORLD, MU, gamma=0.55) == pytest.approx(0.5 / 0.2 - 1, rel=RTOL)
    assert ss.margin(WORLD, MU, gamma=0.55, assumption="J.2") == pytest.approx(
        0.8 / 0.2 - 1, rel=RTOL
    )
    assert ss.margin(WORLD, [0.0, 1.0], gamma=0.55) == INF
    assert ss.margin(ss.TabularPolicy([[0.5, 0.5, 0.0]])) == INF


def test_tilted_hand():
    p = WORLD.probs
    np.testing.assert_allclose(
        ss.tilted(WORLD, 1.0).probs, p**2 / (p**2).sum(1, keepdims=True), rtol=RTOL
    )
    np.testing.assert_allclose(
        ss.tilted(WORLD, 0.5).probs, p**3 / (p**3).sum(1, keepdims=True), rtol=RTOL
    )
    reward = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 0.0]])
    expected = p * np.exp(reward / 2.0)
    np.testing.assert_allclose(
        ss.tilted(WORLD, 2.0, reward).probs, expected / expected.sum(1, keepdims=True), rtol=RTOL
    )


def test_divergences_hand():
    p = WORLD.probs
    t = p**2 / (p**2).sum(1, keepdims=True)
    tilt = ss.tilted(WORLD, 1.0)
    assert ss.concentrability(tilt, WORLD, MU) == pytest.approx(MU @ (t**2 / p).sum(1), rel=RTOL)
    assert ss.concentrability(WORLD, tilt, MU, power=0.5) == pytest.approx(
        MU @ (p * np.sqrt(p / t)).sum(1), rel=RTOL
    )
    uniform = ss.TabularPolicy(np.full((2, 3), 1 / 3))
    assert ss.kl_divergence(WORLD, uniform, MU) == pytest.approx(
        MU @ (p * np.log(3 * p)).sum(1), rel=RTOL
    )
    np.testing.assert_allclose(
        ss.kl_divergence(WORLD, uniform, per_prompt=True), (p * np.log(3 * p)).sum(1), rtol=RTOL
    )


def test_regularized_objective_hand():
    p = WORLD.probs
    q = np.array([[0.2, 0.2, 0.6], [0.1, 0.6, 0.3]])
    model = ss.TabularPolicy(q)
    kl = (q * np.log(q / p)).sum(1)
    expected = MU @ ((q * np.log(p)).sum(1) - 0.7 * kl)
    assert ss.regularized_objective(model, WORLD, 0.7, mu=MU) == pytest.approx(expected, rel=RTOL)
    reward = np.array([[1.0, -1.0, 0.5], [0.0, 2.0, -3.0]])
    expected = MU @ ((q * reward).sum(1) - 0.7 * kl)
    assert ss.regularized_objective(model, WORLD, 0.7, reward, MU) == pytest.approx(
        expected, rel=RTOL
    )


def test_sharpening_error_hand():
    # base mode masses 0.5 and 0.8.
    assert ss.sharpening_error(WORLD, WORLD, 0.3, MU) == 0.25
    assert ss.sharpening_error(WORLD, WORLD, 0.1, MU) == 1.0
    assert ss.sharpening_error(WORLD, WORLD, 0.6, MU) == 0.0
    assert ss.sharpening_error(WORLD, WORLD, 0.1, MU, gamma=0.55) == 0.25
    model = ss.TabularPolicy([[0.1, 0.9, 0.0], [0.3, 0.3, 0.4]])  # masses on base's y*: 0.1, 0.6
    assert ss.sharpening_error(model, WORLD, 0.5, MU) == 0.25
    assert ss.is_sharpened(model, WORLD, 0.25, 0.5, MU)
    assert not ss.is_sharpened(model, WORLD, 0.2, 0.5, MU)


def test_lower_bound_family_coverage_formula():
    """C_cov,γ,p of the Theorem 3.1' family is ((1-Δ) + (M(1-γ))^p Δ)^(1/p) (SPEC §9, γ = 1/2)."""
    d, M, delta_mass, gamma = 3, 8, 0.1, 0.5
    probs = np.zeros((d + 1, M + 1))
    probs[0, 0] = 1.0
    for i in range(1, d + 1):
        probs[i, 1:] = (M - 2) / (M * (M - 1))
        probs[i, i] = 2 / M
    pi = ss.TabularPolicy(probs)
    mu = np.r_[1 - delta_mass, np.full(d, delta_mass / d)]
    for p in (1, 2, 3.5):
        expected = ((1 - delta_mass) + (M * (1 - gamma)) ** p * delta_mass) ** (1 / p)
        assert ss.coverage(pi, mu, gamma=gamma, p=p) == pytest.approx(expected, rel=RTOL)
    assert ss.coverage(pi, mu, gamma=gamma, p=INF) == pytest.approx(M * (1 - gamma), rel=RTOL)


def test_approximate_coverage_values():
    pi = ss.TabularPolicy([[0.4, 0.35, 0.25]])
    assert ss.coverage(pi) == pytest.approx(2.5, rel=RTOL)
    assert ss.coverage(pi, gamma=0.2) == pytest.approx(1 / 0.75, rel=RTOL)  # threshold 0.32
    assert ss.coverage(pi, gamma=0.5) == pytest.approx(1.0, rel=RTOL)  # threshold 0.2


# ------------------------------------------------------------------ mode sets


@given(prob_tables(), gammas)
def test_mode_mask_structure(probs, gamma):
    pi = ss.TabularPolicy(probs)
    mask = ss.mode_mask(pi, gamma)
    assert mask.dtype == bool and mask.shape == probs.shape
    assert np.all(mask.any(axis=1))
    assert np.all(mask[np.arange(len(probs)), np.argmax(probs, axis=1)])
    assert not np.any(mask & (probs == 0))


@given(prob_tables())
def test_mode_mask_gamma_zero_is_exact_ties(probs):
    pi = ss.TabularPolicy(probs)
    lp = pi.log_probs
    np.testing.assert_array_equal(ss.mode_mask(pi), lp == lp.max(axis=1, keepdims=True))


@given(prob_tables(), gammas, gammas)
def test_mode_mask_monotone_in_gamma(probs, g1, g2):
    pi = ss.TabularPolicy(probs)
    small, large = sorted((g1, g2))
    assert np.all(ss.mode_mask(pi, small) <= ss.mode_mask(pi, large))


@given(prob_tables(), gammas)
def test_mode_mask_matches_definition_off_the_boundary(probs, gamma):
    """Away from the knife edge π = (1-γ)·max, membership is exactly the definition in App. F.1."""
    mask = ss.mode_mask(ss.TabularPolicy(probs), gamma)
    threshold = (1 - gamma) * probs.max(axis=1, keepdims=True)
    clear = np.abs(probs - threshold) > 1e-12 * threshold
    np.testing.assert_array_equal(mask[clear], (probs >= threshold)[clear])


@given(prob_tables(), gammas)
def test_mode_mass_matches_masked_sum(probs, gamma):
    pi = ss.TabularPolicy(probs)
    mask = ss.mode_mask(pi, gamma)
    np.testing.assert_allclose(ss.mode_mass(pi, gamma), np.where(mask, probs, 0).sum(1), rtol=RTOL)


# ------------------------------------------------------------------ coverage family


@given(worlds(), gammas, st.sampled_from([1, 1.5, 2, 7]))
def test_coverage_at_least_one_and_gamma_monotone(world, gamma, p):
    pi, mu = world
    c_gamma = ss.coverage(pi, mu, gamma, p)
    assert c_gamma >= 1 - RTOL
    assert c_gamma <= ss.coverage(pi, mu, 0.0, p) * (1 + RTOL)


@given(worlds(), gammas)
def test_coverage_monotone_in_p(world, gamma):
    pi, mu = world
    values = [ss.coverage(pi, mu, gamma, p) for p in (1, 1.5, 2, 5, 40, INF)]
    assert all(a <= b * (1 + RTOL) for a, b in zip(values, values[1:]))
    on = support(mu, pi.n_contexts)
    assert values[-1] == pytest.approx(np.max(1 / ss.mode_mass(pi, gamma)[on]), rel=RTOL)


@given(worlds(), gammas, st.sampled_from([1, 2.5]))
def test_coverage_matches_direct_formula(world, gamma, p):
    pi, mu = world
    w = weights(mu, pi.n_contexts)
    direct = (w @ ss.mode_mass(pi, gamma) ** (-p)) ** (1 / p)
    assert ss.coverage(pi, mu, gamma, p) == pytest.approx(direct, rel=RTOL)


@given(worlds())
def test_adaptive_coverage_dominates_coverage_with_equality_iff_unique_modes(world):
    """C̄_cov = E[1/max π] ≥ E[1/π(y*)] = C_cov, equal iff every mode on supp μ is unique (App. D)."""
    pi, mu = world
    c_cov, c_bar = ss.coverage(pi, mu), ss.adaptive_coverage(pi, mu)
    unique = ss.mode_mask(pi).sum(axis=1) == 1
    if np.all(unique[support(mu, pi.n_contexts)]):
        assert c_bar == pytest.approx(c_cov, rel=RTOL)
    else:
        # A tied prompt x with weight μ(x) adds at least μ(x)·(1 - 1/2)/max π ≥ μ(x)/2 to the gap.
        assert c_bar > c_cov * (1 + RTOL)


def test_coverage_large_p_does_not_overflow_prematurely():
    """Naively a**200 with a ≈ 500 overflows; the power mean itself is about a·0.5^(1/p)."""
    n = 1000
    probs = np.zeros((2, n))
    probs[0] = 1.0 / (n + 1)
    probs[0, 0] = 2.0 / (n + 1)  # unique mode, mass 2/(n+1)
    probs[1, 0] = 1.0
    pi = ss.TabularPolicy(probs)
    a = (n + 1) / 2
    for p in (200, 1e6):
        expected = a * (0.5 + 0.5 * a ** (-p)) ** (1 / p)
        assert ss.coverage(pi, p=p) == pytest.approx(expected, rel=RTOL)
    assert ss.coverage(pi, p=INF) == pytest.approx(a, rel=RTOL)


# ------------------------------------------------------------------ margin


@given(worlds(table=unique_mode_tables))
def test_margin_assumptions_agree_for_unique_modes(world):
    pi, mu = world
    value = ss.margin(pi, mu)
    assert value > 0
    assert ss.margin(pi, mu, assumption="J.2") == pytest.approx(value, rel=RTOL)


@given(worlds(), gammas)
def test_margin_set_mass_version_is_larger_and_matches_definition(world, gamma):
    pi, mu = world
    m42, mj2 = ss.margin(pi, mu, gamma), ss.margin(pi, mu, gamma, assumption="J.2")
    assert mj2 >= m42 * (1 - RTOL)
    probs, mask = pi.probs, ss.mode_mask(pi, gamma)
    runner_up = np.where(mask, 0.0, probs).max(axis=1)
    on = support(mu, pi.n_contexts) & (runner_up > 0)
    if not on.any():
        assert m42 == INF and mj2 == INF
        return
    expected = np.min(probs.max(axis=1)[on] / runner_up[on]) - 1
    assert m42 == pytest.approx(expected, rel=1e-9, abs=1e-12)
    if gamma == 0.0:
        assert m42 > 0


# ------------------------------------------------------------------ tilted model


@given(prob_tables(), st.sampled_from([1e-12, 1e-100, 1e-300]))
def test_tilted_tends_to_uniform_on_modes(probs, beta):
    """π*_β → Unif(y*(x)) as β → 0 (Sec. 4.2), without NaN even for β = 1e-300."""
    pi = ss.TabularPolicy(probs)
    out = ss.tilted(pi, beta)
    assert not np.any(np.isnan(out.log_probs))
    mask = ss.mode_mask(pi)
    # Distinct weights differ by a factor ≥ 4/3, so non-modes get exp(-0.28/β) = 0.
    np.testing.assert_allclose(
        out.probs, mask / mask.sum(axis=1, keepdims=True), rtol=1e-12, atol=0
    )


@given(prob_tables(), betas)
def test_tilted_is_power_model_and_keeps_zeros(probs, beta):
    pi = ss.TabularPolicy(probs)
    out = ss.tilted(pi, beta)
    logits = (1 + 1 / beta) * pi.log_probs
    expected = logits - np.max(logits, axis=1, keepdims=True)
    expected -= np.log(np.exp(expected).sum(axis=1, keepdims=True))
    finite = np.isfinite(expected)
    np.testing.assert_array_equal(np.isfinite(out.log_probs), finite)
    np.testing.assert_allclose(out.log_probs[finite], expected[finite], rtol=1e-9, atol=1e-9)


@given(prob_tables(), betas)
def test_tilted_default_reward_is_log_likelihood(probs, beta):
    pi = ss.TabularPolicy(probs)
    np.testing.assert_array_equal(
        ss.tilted(pi, beta).log_probs, ss.tilted(pi, beta, pi.log_probs).log_probs
    )

    class LogLikelihood:
        def table(self, base):
            return base.log_probs

    np.testing.assert_array_equal(
        ss.tilted(pi, beta).log_probs, ss.tilted(pi, beta, LogLikelihood()).log_probs
    )


@given(prob_tables(), st.integers(0, 2**32 - 1), st.sampled_from([1e-2, 1.0, 1e3, 1e9]))
def test_tilted_large_beta_approaches_base_for_bounded_reward(probs, seed, beta):
    """|log π*_β - log π| ≤ (max r - min r)/β on supp π: π*_β → π because r/β → 0."""
    pi = ss.TabularPolicy(probs)
    reward = np.random.default_rng(seed).uniform(-3, 3, size=probs.shape)
    out = ss.tilted(pi, beta, reward)
    on = probs > 0
    spread = (np.where(on, reward, -INF).max(1) - np.where(on, reward, INF).min(1))[:, None]
    rows = np.nonzero(on)[0]
    gap = np.abs(out.log_probs[on] - pi.log_probs[on])
    assert np.all(gap <= spread[rows, 0] / beta + 1e-12 * (1 + np.abs(pi.log_probs[on])))
    assert np.all(out.probs[~on] == 0)


def test_tilted_tiny_masses_stay_in_log_space():
    pi = ss.TabularPolicy([[1 - 2e-300, 1e-300, 1e-300]])
    out = ss.tilted(pi, 1e-3)
    # log π* = 1001·log(1e-300) - log Z: far below the smallest double, yet finite in log space.
    assert np.all(np.isfinite(out.log_probs))
    assert out.log_probs[0, 1] == pytest.approx(1001 * math.log(1e-300), rel=1e-12)


def test_tilted_minus_inf_reward_forbids_response():
    out = ss.tilted(WORLD, 1.0, [[-INF, 0.0, 0.0], [0.0, 0.0, 0.0]])
    assert out.probs[0, 0] == 0.0
    np.testing.assert_allclose(out.probs[0], [0.0, 0.6, 0.4], rtol=RTOL)
    with pytest.raises(ValueError, match="reward is -inf on every response"):
        ss.tilted(WORLD, 1.0, [[-INF, -INF, -INF], [0.0, 0.0, 0.0]])


def test_objective_minus_inf_reward_on_underflowed_mass():
    """π(y) = e^-100000 underflows to 0 but is positive: a -inf reward there gives J = -inf, not NaN."""
    pi = ss.TabularPolicy.from_log_probs(np.array([[0.0, -1e5]]))
    base = ss.TabularPolicy([[0.5, 0.5]])
    assert ss.regularized_objective(pi, base, 1.0, [[0.0, -INF]]) == -INF
    assert ss.regularized_objective(pi, base, 1.0, [[0.0, -1.0]]) == pytest.approx(
        -math.log(2), rel=RTOL
    )


# ------------------------------------------------------------------ Lemma 4.1 and margin => sharpness


@given(worlds(), betas)
def test_lemma_4_1(world, beta):
    """C_{π*_β} ≤ C_cov and C_{π_base/π*_β; β} ≤ |Y| for every β > 0 (Lemma 4.1)."""
    base, mu = world
    star = ss.tilted(base, beta)
    assert ss.concentrability(star, base, mu) <= ss.coverage(base, mu) * (1 + RTOL)
    assert ss.concentrability(base, star, mu, power=beta) <= base.n_responses * (1 + RTOL)


@given(worlds(), st.sampled_from([1.0, 2.0, 10.0, 1e3]), gammas)
def test_lemma_4_1_gamma_version_for_beta_at_least_one(world, beta, gamma):
    """C_{π*_β} ≤ (1-γ)^(-1)·C_cov,γ (Lemma 4.1') — holds for β ≥ 1, see the counterexample below."""
    base, mu = world
    star = ss.tilted(base, beta)
    assert ss.concentrability(star, base, mu) <= ss.coverage(base, mu, gamma) / (1 - gamma) * (
        1 + RTOL
    )


@given(worlds(), betas, gammas)
def test_lemma_4_1_gamma_version_corrected(world, beta, gamma):
    """For every β > 0: C_{π*_β} ≤ (1-γ)^(-1/β)·C_cov,γ (Z ≥ π(y*_γ)·((1-γ)·max π)^(1/β))."""
    base, mu = world
    star = ss.tilted(base, beta)
    log_bound = -math.log1p(-gamma) / beta + math.log(ss.coverage(base, mu, gamma))
    assert math.log(ss.concentrability(star, base, mu)) <= log_bound + RTOL


def test_lemma_4_1_gamma_version_fails_for_small_beta():
    """The (1-γ)^(-1) form of Lemma 4.1' is false for small β: one mode, 99 near-modes.

    Every response is in y*_γ (γ = 1/2), so C_cov,γ = 1, but π*_β concentrates on the
    mode of mass 0.0101 and C_{π*_β} ≈ 98 > 2 = (1-γ)^(-1)·C_cov,γ.
    """
    top = 0.0101
    base = ss.TabularPolicy([[top] + [(1 - top) / 99] * 99])
    assert ss.coverage(base, gamma=0.5) == pytest.approx(1.0, rel=RTOL)
    assert ss.concentrability(ss.tilted(base, 1e-3), base) > 90


def _sharpness_beta(gamma_margin, n_responses, delta):
    return min(gamma_margin, 1.0) / (2 * math.log(2 * n_responses / delta))


@given(unique_mode_tables(), st.sampled_from([0.01, 0.1, 0.5]))
def test_margin_implies_sharpness(probs, delta):
    """With β = γ_margin/(2 log(2|Y|/δ)), γ_margin ≤ 1, π*_β(y*(x)|x) ≥ 1 - δ/2 (SPEC §5, Thm J.2).

    Theorem J.2 takes γ_margin ∈ (0, 1); a larger margin is capped at 1, which
    is still a valid margin.
    """
    base = ss.TabularPolicy(probs)
    beta = _sharpness_beta(ss.margin(base), base.n_responses, delta)
    mass = ss.mode_mass(ss.tilted(base, beta))
    assert np.all(mass >= 1 - delta / 2 - RTOL)


@given(unique_mode_tables(), st.sampled_from([0.01, 0.1, 0.5]))
def test_margin_condition_form_implies_sharpness(probs, delta):
    """(1 + γ_margin)^(1+1/β) ≥ 2|Y|/δ implies π*_β(y*|x) ≥ 1 - δ/2, for any margin size."""
    base = ss.TabularPolicy(probs)
    log_gain = math.log1p(ss.margin(base))
    log_target = math.log(2 * base.n_responses / delta)
    beta = 1.0 if log_gain >= log_target else 1.0 / (log_target / log_gain - 1.0)
    assume((1 + 1 / beta) * log_gain >= log_target)  # guards only against rounding in the inversion
    assert np.all(ss.mode_mass(ss.tilted(base, beta)) >= 1 - delta / 2 - RTOL)


def test_margin_sharpness_beta_needs_margin_at_most_one():
    """Uncapped, β = γ_margin/(2 log(2|Y|/δ)) fails for γ_margin = 10 (why Thm J.2 has γ_margin < 1)."""
    n, delta = 1000, 0.1
    w = np.r_[1.0, np.full(n - 1, 1 / 11)]
    base = ss.TabularPolicy([w / w.sum()])
    assert ss.margin(base) == pytest.approx(10.0, rel=1e-9)
    uncapped = ss.margin(base) / (2 * math.log(2 * n / delta))
    assert ss.mode_mass(ss.tilted(base, uncapped))[0] < 0.6
    assert ss.mode_mass(ss.tilted(base, _sharpness_beta(10.0, n, delta)))[0] >= 1 - delta / 2


# ------------------------------------------------------------------ J_β and divergences


@st.composite
def reward_tables(draw, shape, base_probs):
    """Random rewards in [-5, 5], sometimes -inf, but finite at each row's base mode."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    reward = rng.uniform(-5, 5, size=shape)
    if draw(st.booleans()):
        reward[rng.random(shape) < 0.2] = -INF
        reward[np.arange(shape[0]), np.argmax(base_probs, axis=1)] = 0.0
    return reward


@given(st.data(), betas)
def test_regularized_gap_equals_beta_kl(data, beta):
    """J_β(π*_β) - J_β(π) = β·KL(π ‖ π*_β) (proof of Theorem J.1), default and array rewards."""
    base, pi, mu = data.draw(policy_pairs())
    reward = data.draw(st.one_of(st.none(), reward_tables(base.probs.shape, base.probs)))
    star = ss.tilted(base, beta, reward)
    j_star = ss.regularized_objective(star, base, beta, reward, mu)
    j_pi = ss.regularized_objective(pi, base, beta, reward, mu)
    gap = beta * ss.kl_divergence(pi, star, mu)
    assert np.isfinite(j_star)
    if j_pi == -INF:
        assert gap == INF
    else:
        assert j_star - j_pi == pytest.approx(
            gap, rel=1e-9, abs=1e-9 * (1 + abs(j_star) + abs(j_pi))
        )


@given(policy_pairs())
def test_kl_properties(pair):
    p, q, mu = pair
    assert ss.kl_divergence(p, p, mu) == 0.0
    per = ss.kl_divergence(p, q, per_prompt=True)
    assert per.shape == (p.n_contexts,) and np.all(per >= 0)
    # Pinsker: KL ≥ 2·TV², so distinct rows have strictly positive divergence.
    tv = 0.5 * np.abs(p.probs - q.probs).sum(axis=1)
    assert np.all(per >= 2 * tv**2 * (1 - RTOL) - 1e-15)
    lacks = np.any((p.probs > 0) & (q.probs == 0), axis=1)
    np.testing.assert_array_equal(per == INF, lacks)
    w = weights(mu, p.n_contexts)
    on = w > 0
    expected = INF if np.any(lacks & on) else float(w[on] @ per[on])
    assert ss.kl_divergence(p, q, mu) == pytest.approx(expected, rel=RTOL)


@given(policy_pairs(), st.sampled_from([0.1, 0.5, 1.0, 2.0]))
def test_concentrability_properties(pair, power):
    p, q, mu = pair
    assert ss.concentrability(p, p, mu, power) == pytest.approx(1.0, rel=RTOL)
    value = ss.concentrability(p, q, mu, power)
    w = weights(mu, p.n_contexts)
    lacks = np.any((p.probs > 0) & (q.probs == 0), axis=1) & (w > 0)
    if lacks.any():
        assert value == INF
        return
    _assert_matches_log_reference(value, p, q, w, power)
    if power == 1.0:
        assert value >= 1 - RTOL  # E_p[p/q] ≥ 1 by Cauchy–Schwarz


def _assert_matches_log_reference(value, p, q, w, power):
    """``value == Σ_x w_x Σ_y p·(p/q)^β`` to 1e-9 relative, the reference summed in log space.

    In probability space ``p/q`` alone can overflow (``p = 1e-10``, ``q = 5e-324``) while
    every term ``p·(p/q)^β`` is finite, so the reference never leaves logs.
    """
    on = w > 0
    pos = p.probs[on] > 0
    with np.errstate(divide="ignore"):
        log_p, log_q = np.log(p.probs[on]), np.log(q.probs[on])
    log_terms = np.where(pos, log_p + power * (log_p - np.where(pos, log_q, 0.0)), -INF)
    log_reference = float(logsumexp(logsumexp(log_terms, axis=1), b=w[on]))
    if log_reference > math.log(np.finfo(float).max):
        assert value == INF
    else:
        assert math.log(value) == pytest.approx(log_reference, abs=1e-9)


def test_concentrability_reference_where_the_ratio_overflows():
    """The case that broke the old probability-space reference: p/q = 2e313 overflows, p·p/q does not."""
    p, q = ss.TabularPolicy([[1e-10, 1.0 - 1e-10]]), ss.TabularPolicy([[5e-324, 1.0]])
    with np.errstate(over="ignore"):
        assert not np.isfinite(p.probs[0, 0] / q.probs[0, 0])
    value = ss.concentrability(p, q, None, 1.0)
    assert np.isfinite(value)
    _assert_matches_log_reference(value, p, q, np.ones(1), 1.0)


# ------------------------------------------------------------------ sharpening error


@given(st.data(), st.sampled_from([0.01, 0.2, 0.7]), gammas)
def test_sharpening_error_matches_definition(data, delta, gamma):
    base, model, mu = data.draw(policy_pairs())
    err = ss.sharpening_error(model, base, delta, mu, gamma)
    assert 0.0 <= err <= 1.0
    mass = np.where(ss.mode_mask(base, gamma), model.probs, 0.0).sum(axis=1)
    clear = np.abs(mass - (1 - delta)) > 1e-12  # away from the knife edge mass = 1-δ
    w = weights(mu, base.n_contexts)
    assume(np.all(clear | (w == 0)))
    assert err == pytest.approx(w @ (mass < 1 - delta), abs=1e-12)
    for eps in (0.0, err, min(1.0, err + 0.05), max(0.0, err - 0.05)):
        assert ss.is_sharpened(model, base, eps, delta, mu, gamma) == (err <= eps)


@given(worlds(), st.sampled_from([1e-3, 0.1]), gammas)
def test_tilted_at_tiny_beta_is_sharpened(world, delta, gamma):
    base, mu = world
    assert ss.sharpening_error(ss.tilted(base, 1e-9), base, delta, mu, gamma) == 0.0
    assert ss.is_sharpened(ss.tilted(base, 1e-9), base, 0.0, delta, mu, gamma)


# ------------------------------------------------------------------ plumbing


class _Enumerable:
    """Stands in for an autoregressive policy: exact measures enumerate it via to_tabular()."""

    def __init__(self, tab):
        self.tab = tab

    def to_tabular(self):
        return self.tab


def test_policies_with_to_tabular_are_accepted():
    wrapped = _Enumerable(WORLD)
    assert ss.coverage(wrapped, MU) == ss.coverage(WORLD, MU)
    assert ss.margin(wrapped) == ss.margin(WORLD)
    np.testing.assert_array_equal(
        ss.tilted(wrapped, 0.5).log_probs, ss.tilted(WORLD, 0.5).log_probs
    )
    assert ss.sharpening_error(wrapped, WORLD, 0.3, MU) == ss.sharpening_error(
        WORLD, wrapped, 0.3, MU
    )
    assert ss.kl_divergence(wrapped, WORLD) == 0.0


@given(policy_pairs(), betas, gammas)
def test_row_blocks_give_the_same_answers(monkeypatch_free_pair, beta, gamma):
    """Processing one row at a time (tiny block size) gives bit-identical results."""
    p, q, mu = monkeypatch_free_pair
    calls = [
        lambda: ss.log_mode_mass(p, gamma),
        lambda: ss.coverage(p, mu, gamma, 2),
        lambda: ss.margin(p, mu, gamma, assumption="J.2"),
        lambda: ss.concentrability(p, q, mu, 0.5),
        lambda: ss.kl_divergence(p, q, per_prompt=True),
        lambda: ss.tilted(p, beta).log_probs,
        lambda: ss.regularized_objective(q, p, beta, mu=mu),
        lambda: ss.sharpening_error(q, p, 0.3, mu, gamma),
    ]
    whole = [f() for f in calls]
    saved = measures._common._BLOCK_ELEMENTS
    measures._common._BLOCK_ELEMENTS = 1
    try:
        blocked = [f() for f in calls]
    finally:
        measures._common._BLOCK_ELEMENTS = saved
    for a, b in zip(whole, blocked):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ bad input

OTHER_SHAPE = ss.TabularPolicy([[0.5, 0.5]])

BAD_CALLS = [
    (lambda: ss.mode_mask(WORLD, gamma=1.0), ValueError, "gamma"),
    (lambda: ss.mode_mask(WORLD, gamma=-0.1), ValueError, "gamma"),
    (lambda: ss.mode_mask(WORLD, gamma="0"), TypeError, "gamma"),
    (lambda: ss.mode_mask(np.array([[0.5, 0.5]]), 0.0), TypeError, "pi"),
    (lambda: ss.log_mode_mass(WORLD, gamma=np.nan), ValueError, "gamma"),
    (lambda: ss.mode_mass("policy"), TypeError, "pi"),
    (lambda: ss.coverage(WORLD, p=0.5), ValueError, "p must be"),
    (lambda: ss.coverage(WORLD, p=True), TypeError, "p must be"),
    (lambda: ss.coverage(WORLD, p=-INF), ValueError, "p must be"),
    (lambda: ss.coverage(WORLD, mu=[1.0]), ValueError, "mu must have length"),
    (lambda: ss.coverage(WORLD, mu=[1.5, -0.5]), ValueError, "mu must be non-negative"),
    (lambda: ss.coverage(WORLD, mu=[0.5, 0.6]), ValueError, "mu must sum to 1"),
    (lambda: ss.coverage(WORLD, gamma=1.5), ValueError, "gamma"),
    (lambda: ss.adaptive_coverage(WORLD, mu=[0.2, 0.2]), ValueError, "mu must sum to 1"),
    (lambda: ss.adaptive_coverage(None), TypeError, "pi"),
    (lambda: ss.margin(WORLD, assumption="4.3"), ValueError, "assumption"),
    (lambda: ss.margin(WORLD, gamma=1.0), ValueError, "gamma"),
    (lambda: ss.margin(WORLD, mu=[1.0, 0.0, 0.0]), ValueError, "mu must have length"),
    (lambda: ss.concentrability(WORLD, OTHER_SHAPE), ValueError, "same shape"),
    (lambda: ss.concentrability(WORLD, WORLD, power=0.0), ValueError, "power"),
    (lambda: ss.concentrability(WORLD, "ref"), TypeError, "ref"),
    (lambda: ss.kl_divergence(WORLD, OTHER_SHAPE), ValueError, "same shape"),
    (lambda: ss.kl_divergence(WORLD, WORLD, mu=[1.0]), ValueError, "mu must have length"),
    (lambda: ss.kl_divergence(3, WORLD), TypeError, "p must be"),
    (lambda: ss.tilted(WORLD, 0.0), ValueError, "beta"),
    (lambda: ss.tilted(WORLD, -1.0), ValueError, "beta"),
    (lambda: ss.tilted(WORLD, INF), ValueError, "beta"),
    (lambda: ss.tilted(WORLD, "1"), TypeError, "beta"),
    (lambda: ss.tilted(WORLD, 1.0, np.zeros((2, 2))), ValueError, "reward must have shape"),
    (
        lambda: ss.tilted(WORLD, 1.0, np.full((2, 3), np.nan)),
        ValueError,
        "reward must not contain NaN",
    ),
    (
        lambda: ss.tilted(WORLD, 1.0, np.full((2, 3), INF)),
        ValueError,
        "reward must not contain NaN",
    ),
    (lambda: ss.tilted(WORLD, 1.0, np.full((2, 3), "a")), TypeError, "reward must be a real array"),
    (lambda: ss.regularized_objective(WORLD, OTHER_SHAPE, 1.0), ValueError, "same shape"),
    (lambda: ss.regularized_objective(WORLD, WORLD, 0.0), ValueError, "beta"),
    (
        lambda: ss.regularized_objective(WORLD, WORLD, 1.0, np.zeros(3)),
        ValueError,
        "reward must have shape",
    ),
    (
        lambda: ss.regularized_objective(WORLD, WORLD, 1.0, mu=[0.5, 0.5, 0.0]),
        ValueError,
        "mu must have",
    ),
    (lambda: ss.sharpening_error(WORLD, OTHER_SHAPE, 0.1), ValueError, "same shape"),
    (lambda: ss.sharpening_error(WORLD, WORLD, 0.0), ValueError, "delta"),
    (lambda: ss.sharpening_error(WORLD, WORLD, 1.0), ValueError, "delta"),
    (lambda: ss.sharpening_error(WORLD, WORLD, 0.1, gamma=1.0), ValueError, "gamma"),
    (
        lambda: ss.sharpening_error(WORLD, WORLD, 0.1, mu=[-1.0, 2.0]),
        ValueError,
        "mu must be non-negative",
    ),
    (lambda: ss.sharpening_error([[1.0]], WORLD, 0.1), TypeError, "model"),
    (lambda: ss.is_sharpened(WORLD, WORLD, 1.5, 0.1), ValueError, "epsilon"),
    (lambda: ss.is_sharpened(WORLD, WORLD, None, 0.1), TypeError, "epsilon"),
    (lambda: ss.is_sharpened(WORLD, WORLD, 0.1, 2.0), ValueError, "delta"),
]


@pytest.mark.parametrize("call, error, match", BAD_CALLS)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_markov_policy_is_enumerated():
    """Exact measures of an autoregressive policy are those of its enumeration (V^H responses)."""
    rng = np.random.default_rng(0)
    initial = rng.dirichlet(np.ones(3), size=2)  # [X=2, V=3]
    transition = rng.dirichlet(np.ones(3), size=(2, 2, 3))  # [X, H-1=2, V, V]
    ar = ss.MarkovPolicy(initial, transition)
    tab = ar.to_tabular()
    assert tab.n_responses == 27
    assert ss.coverage(ar, MU, gamma=0.3) == ss.coverage(tab, MU, gamma=0.3)
    assert ss.margin(ar, MU) == ss.margin(tab, MU)
    np.testing.assert_array_equal(ss.tilted(ar, 0.2).log_probs, ss.tilted(tab, 0.2).log_probs)
    assert ss.sharpening_error(ss.tilted(ar, 1e-6), ar, 0.01, MU) == 0.0


def test_tilted_astronomical_beta_keeps_the_base_without_overflow():
    # β·log π used to overflow to -inf (a RuntimeWarning, and the response lost its mass).
    pi = ss.TabularPolicy([[0.9, 0.1], [1 - 1e-300, 1e-300]])
    out = ss.tilted(pi, 1e308)
    np.testing.assert_allclose(out.log_probs, pi.log_probs, rtol=1e-12, atol=1e-15)


def test_concentrability_astronomical_power_overflows_to_inf_without_warning():
    # power·log(π/π') used to overflow with a RuntimeWarning; the true value exceeds any double.
    pi = ss.TabularPolicy([[0.5, 0.5]])
    ref = ss.TabularPolicy([[1 - 1e-300, 1e-300]])
    assert ss.concentrability(pi, ref, power=1e306) == np.inf
    assert ss.concentrability(ref, ref, power=1e306) == 1.0


def test_mode_mask_ties_survive_rounding_of_autoregressive_products():
    """Mathematically tied sequences of an enumerated AR model differ by ulps; they must still tie."""
    joint = np.array([3, 3, 0, 3, 3, 3, 0, 1, 3]) / 19
    policy = ss.JointAutoregressivePolicy(joint[None, :], 3, 2)
    assert ss.mode_mask(policy).sum() == 6
    assert ss.coverage(policy) == pytest.approx(19 / 18, rel=1e-12)
    assert ss.mode_mask(policy)[0, ss.encode_sequences(policy.mode([0]), 3)[0]]


@pytest.mark.parametrize("bad", ["yes", 1, None, np.array([True])])
def test_kl_per_prompt_must_be_bool(bad):
    p = ss.TabularPolicy([[0.5, 0.5]])
    with pytest.raises(TypeError, match="per_prompt must be a bool"):
        ss.kl_divergence(p, p, per_prompt=bad)
    assert ss.kl_divergence(p, p, per_prompt=np.bool_(True)).tolist() == [0.0]


@given(
    world=st.one_of(tabular_policies(), autoregressive_policies().map(lambda p: p.to_tabular())),
    gamma=st.sampled_from([0.0, 0.3, 0.9]),
)
def test_mode_mask_blocks_of_rows_do_not_change_the_mask(world, gamma):
    """``mode_mask`` works on cache-sized blocks of rows (ulp ties included); blocks change no bit."""
    whole = measures.modes._mode_mask_rows(world.log_probs, gamma)
    saved = measures.modes._MASK_BLOCK_ELEMENTS
    try:
        measures.modes._MASK_BLOCK_ELEMENTS = world.n_responses  # one row per block
        blocked = ss.mode_mask(world, gamma)
    finally:
        measures.modes._MASK_BLOCK_ELEMENTS = saved
    assert np.array_equal(whole, blocked)
