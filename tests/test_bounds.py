"""Tests for sharpsim.theory.bounds: the paper's guarantees as functions.

Hand values are recomputed here with explicit arithmetic (never by calling the
function under test). Scaling identities are exact up to float rounding, so
their tolerance is a few ulps (``REL``), not a statistical band.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sharpsim.theory as theory
from sharpsim.theory import bounds as tb

REL = 1e-12  # float rounding only: every identity below is exact in real arithmetic

unit = st.floats(min_value=1e-6, max_value=0.999)
coverage = st.floats(min_value=1.0, max_value=1e6)
log_size = st.floats(min_value=0.0, max_value=1e4)
positive_log_size = st.floats(min_value=1e-3, max_value=1e4)
counts = st.integers(min_value=1, max_value=10**9)


def close(a, b, rel=REL):
    return math.isclose(a, b, rel_tol=rel, abs_tol=0.0)


# ------------------------------------------------------------------ package


def test_theory_exports_every_bound():
    for name in tb.__all__:
        assert getattr(theory, name) is getattr(tb, name)
    assert set(tb.__all__) <= set(theory.__all__)


# ------------------------------------------------------------- lower bounds


def test_lower_bounds_hand_values():
    eps, C, L = 0.1, 4.0, 20.0
    assert close(tb.lower_bound_samples(eps, C, L), C * L / (eps**2 * (1 + math.log(C / eps))))
    assert close(
        tb.adaptive_lower_bound_samples(eps, C, L), C * L / (eps * (1 + math.log(C / eps)))
    )
    p2 = 1 + math.log(C * eps ** (-1 / 2))
    assert close(tb.lower_bound_samples_p(eps, C, L, p=2), C * L / (eps**1.5 * p2))
    assert close(tb.lower_bound_samples_p(eps, C, L, p=2, adaptive=True), C * L / (eps**0.5 * p2))
    assert close(
        tb.lower_bound_samples(eps, C, L, constant=3.0),
        3 * C * L / (eps**2 * (1 + math.log(C / eps))),
    )


@given(unit, coverage, positive_log_size)
def test_theorem_3_1_and_d_2_are_the_p_equals_1_cases(eps, C, L):
    assert tb.lower_bound_samples(eps, C, L) == tb.lower_bound_samples_p(eps, C, L, p=1)
    assert tb.adaptive_lower_bound_samples(eps, C, L) == tb.lower_bound_samples_p(
        eps, C, L, p=1, adaptive=True
    )


@given(unit, coverage, positive_log_size, st.integers(1, 6))
def test_adaptive_lower_bound_is_epsilon_times_non_adaptive(eps, C, L, p):
    ratio = tb.lower_bound_samples_p(eps, C, L, p, adaptive=True) / tb.lower_bound_samples_p(
        eps, C, L, p
    )
    assert close(ratio, eps, rel=1e-11)


@given(unit, coverage, positive_log_size, st.integers(1, 6))
def test_lower_bound_epsilon_halving_ratio(eps, C, L, p):
    """Halving ε multiplies the bound by 2^(1+1/p) times the exact log-factor ratio."""
    log_factor = (1 + math.log(C) + math.log(1 / eps) / p) / (
        1 + math.log(C) + math.log(2 / eps) / p
    )
    for adaptive, power in ((False, 1 + 1 / p), (True, 1 / p)):
        ratio = tb.lower_bound_samples_p(
            eps / 2, C, L, p, adaptive=adaptive
        ) / tb.lower_bound_samples_p(eps, C, L, p, adaptive=adaptive)
        assert close(ratio, 2**power * log_factor, rel=1e-11)


@given(unit, coverage, positive_log_size, st.floats(1.0001, 100.0))
def test_lower_bound_increasing_in_C_linear_in_log_class_and_constant(eps, C, L, k):
    base = tb.lower_bound_samples(eps, C, L)
    assert tb.lower_bound_samples(eps, C * k, L) > base
    assert close(tb.lower_bound_samples(eps, C, L * k), k * base)
    assert close(tb.lower_bound_samples(eps, C, L, constant=k), k * base)


# ----------------------------------------------------------------------- SFT


def test_sft_hand_values():
    n, N, delta, C, L, rho = 1000, 30, 0.1, 5.0, 10.0, 0.05
    N_star = N / math.log(2 / delta)
    expected = (L + math.log(1 / rho)) / (delta * n) + C / N_star
    assert close(tb.sft_error_bound(n, N, delta, C, L, rho), expected)
    assert close(tb.sft_error_bound(n, N, delta, C, L, rho, constant=2.5), 2.5 * expected)

    eps = 0.1
    s = tb.sft_sample_complexity(eps, delta, C, L, rho)
    n_real = (L - math.log(rho)) / (delta * eps)
    assert close(s.n, n_real)
    assert close(s.N_star, C / eps)
    assert close(s.N, C / eps * math.log(2 / delta))
    assert close(s.m, n_real * C / eps * math.log(2 / delta))
    assert tb.sft_parameters(eps, delta, C, L, rho) == (
        math.ceil(n_real),
        math.ceil(C / eps),
        math.ceil(math.ceil(C / eps) * math.log(2 / delta)),
    )


@given(counts, st.integers(1, 10**6), unit, coverage, log_size, unit)
def test_sft_error_bound_monotone(n, N, delta, C, L, rho):
    # Non-strict: one term can be below the other's rounding unit (strictness is in the hand values).
    bound = tb.sft_error_bound(n, N, delta, C, L, rho)
    assert tb.sft_error_bound(n + 1, N, delta, C, L, rho) <= bound
    assert tb.sft_error_bound(n, N + 1, delta, C, L, rho) <= bound
    assert tb.sft_error_bound(n, N, delta, C * 1.5, L, rho) >= bound
    assert close(tb.sft_error_bound(n, N, delta, C, L, rho, constant=7.0), 7.0 * bound)


@given(unit, unit, coverage, log_size, unit, st.floats(0.01, 100.0))
def test_sft_sample_complexity_scaling(eps, delta, C, L, rho, k):
    s = tb.sft_sample_complexity(eps, delta, C, L, rho)
    assert close(tb.sft_sample_complexity(eps / 2, delta, C, L, rho).m / s.m, 4.0)
    assert close(tb.sft_sample_complexity(eps, delta, 2 * C, L, rho).m / s.m, 2.0)
    scaled = tb.sft_sample_complexity(eps, delta, C, L, rho, constant=k)
    assert (
        close(scaled.n, k * s.n) and close(scaled.N_star, k * s.N_star) and close(scaled.N, k * s.N)
    )
    assert close(scaled.m, k * k * s.m)


@given(
    st.floats(1e-3, 0.999),
    st.floats(1e-3, 0.999),
    st.floats(1.0, 1e3),
    st.floats(0.0, 50.0),
    unit,
    st.floats(0.1, 10.0),
)
def test_sft_parameters_achieve_epsilon_under_the_error_bound(eps, delta, C, L, rho, k):
    """With C_4.1 = 2k, each term of a bound with constant k is at most ε/2 (Theorem 4.1')."""
    n, _, N = tb.sft_parameters(eps, delta, C, L, rho, constant=2 * k)
    assert tb.sft_error_bound(n, N, delta, C, L, rho, constant=k) <= eps * (1 + REL)


# -------------------------------------------------------------- adaptive SFT


def test_adaptive_sft_hand_values():
    delta, L, rho, C_bar, eps = 0.1, 10.0, 0.05, 3.0, 0.1
    mu = math.log(2 / delta)
    assert close(tb.adaptive_mu_stop(delta), mu)
    assert close(
        tb.adaptive_sft_error_bound(1000, delta, L, rho), (L + math.log(1 / rho)) / (delta * 1000)
    )
    assert close(tb.adaptive_sft_expected_samples(100, delta, C_bar), 100 * (1 + mu) * C_bar)
    s = tb.adaptive_sft_sample_complexity(eps, delta, C_bar, L, rho)
    n_real = (L - math.log(rho)) / (delta * eps)
    assert close(s.n, n_real) and close(s.expected_m, n_real * (1 + mu) * C_bar)
    assert tb.adaptive_sft_expected_samples(0, delta, C_bar) == 0.0


@given(unit, unit, coverage, log_size, unit, st.floats(0.01, 100.0))
def test_adaptive_sft_scaling(eps, delta, C_bar, L, rho, k):
    s = tb.adaptive_sft_sample_complexity(eps, delta, C_bar, L, rho)
    assert close(
        tb.adaptive_sft_sample_complexity(eps / 2, delta, C_bar, L, rho).expected_m / s.expected_m,
        2.0,
    )
    assert close(
        tb.adaptive_sft_sample_complexity(eps, delta, C_bar, L, rho, constant=k).n, k * s.n
    )
    # The n it prescribes meets the error target under a bound with the same constant.
    n = math.ceil(tb.adaptive_sft_sample_complexity(eps, delta, C_bar, L, rho, constant=k).n)
    assert tb.adaptive_sft_error_bound(n, delta, L, rho, constant=k) <= eps * (1 + REL)


@given(unit)
def test_mu_stop_makes_adaptive_bon_miss_at_most_half_delta(delta):
    assert close(tb.adaptive_bon_miss_probability_bound(tb.adaptive_mu_stop(delta)), delta / 2)


# ----------------------------------------------------------------------- DPO


def test_dpo_hand_values():
    eps, delta, C_conc, C_loss, L, rho, gm = 0.1, 0.2, 4.0, 8.0, 5.0, 0.05, 0.5
    assert close(tb.dpo_beta(eps, delta, gm), gm * delta * eps)
    assert close(tb.dpo_beta(eps, delta, gm, constant=0.5), 0.5 * gm * delta * eps)
    log_term = math.log(C_loss * math.exp(L) / rho)
    n, beta, gamma = 10**6, 0.001, 0.01
    expected = (math.sqrt(C_conc * log_term**3 / n) + beta * math.log(C_conc) + gamma) / (
        gm * delta
    )
    assert close(
        tb.dpo_error_bound(n, delta, C_conc, C_loss, L, rho, gm, beta, gamma=gamma), expected
    )
    s = tb.dpo_sample_complexity(eps, delta, C_conc, C_loss, L, rho, gm)
    assert close(s.n, C_conc * log_term**3 / (gm**2 * delta**2 * eps**2)) and close(s.m, 2 * s.n)


@given(unit, unit, coverage, coverage, log_size, unit, st.floats(1e-3, 10.0), st.floats(0.1, 10.0))
def test_dpo_sample_size_makes_statistical_term_epsilon(eps, delta, C_conc, C_loss, L, rho, gm, k):
    """At n = k² C log³/(γδε)², the statistical term of a bound with constant k is exactly ε."""
    n = tb.dpo_sample_complexity(eps, delta, C_conc, C_loss, L, rho, gm, constant=k * k).n
    log_term = math.log(C_loss) + L - math.log(rho)
    statistical = k * math.sqrt(C_conc * log_term**3 / n) / (gm * delta)
    assert close(statistical, eps, rel=1e-10)
    ratio = (
        tb.dpo_sample_complexity(eps / 2, delta, C_conc, C_loss, L, rho, gm).m
        / tb.dpo_sample_complexity(eps, delta, C_conc, C_loss, L, rho, gm).m
    )
    assert close(ratio, 4.0)


@given(
    counts, unit, coverage, coverage, log_size, unit, st.floats(1e-3, 10.0), st.floats(1e-6, 1.0)
)
def test_dpo_error_bound_monotone(n, delta, C_conc, C_loss, L, rho, gm, beta):
    bound = tb.dpo_error_bound(n, delta, C_conc, C_loss, L, rho, gm, beta)
    assert tb.dpo_error_bound(n + 1, delta, C_conc, C_loss, L, rho, gm, beta) <= bound
    assert tb.dpo_error_bound(n, delta, C_conc * 2, C_loss, L, rho, gm, beta) > bound
    assert tb.dpo_error_bound(n, delta, C_conc, C_loss, L, rho, gm * 2, beta) < bound
    assert close(
        tb.dpo_error_bound(n, delta, C_conc, C_loss, L, rho, gm, beta, constant=3.0), 3 * bound
    )


# ----------------------------------------------------------------------- XPO


def test_xpo_hand_values():
    delta, gm, log_y = 0.1, 0.5, math.log(100)
    assert close(tb.xpo_beta(delta, gm, log_y), gm / (2 * math.log(2 * 100 / delta)))
    T, SEC, log_N, rho, R, V, beta, eps_disc = 1000, 5.0, 20.0, 0.05, 4.0, 0.1, 0.05, 0.001
    log_term = math.log(2 * math.exp(log_N) * T / rho)
    assert close(
        tb.xpo_alpha(T, SEC, log_N, rho, R, V, beta),
        beta / (R + V) * math.sqrt(log_term / (SEC * T)),
    )
    regret = (R + V) * math.sqrt(SEC * log_term / T) + beta * eps_disc * math.sqrt(SEC * T)
    assert close(tb.xpo_regret_bound(T, SEC, log_N, rho, R, V, beta, eps_disc), regret)
    assert close(
        tb.xpo_regret_bound(T, SEC, log_N, rho, R, V, beta, eps_disc, constant=2.0), 2 * regret
    )
    assert close(tb.xpo_discretization(0.1, 0.1, 4.0, 100), 0.1 * 0.1 / math.sqrt(400))
    assert tb.xpo_discretization(0.9, 0.9, 0.01, 1) == 0.5  # 0.81/0.1 would leave (0, 1)
    eps = 0.1
    m = (
        R**2
        * SEC
        * math.log(math.exp(log_N) / rho)
        * math.log(100 / delta) ** 2
        / (gm**2 * eps**2 * delta**2)
    )
    assert close(tb.xpo_sample_complexity(eps, delta, rho, gm, R, SEC, log_N, log_y), m)
    assert close(
        tb.xpo_linear_softmax_norm_limit(delta, gm, 10.0, log_y), gm * 10.0 / (3 * math.log(2000))
    )


@given(unit, st.floats(1e-4, 0.999), st.floats(0.0, 1e3))
def test_xpo_beta_makes_the_tilted_model_sharp(delta, gm, log_y):
    """Proof of Thm J.2: (1+γ_margin)^(1+1/β) ≥ 2|Y|/δ, so π*_β(y*|x) ≥ 1 - δ/2."""
    beta = tb.xpo_beta(delta, gm, log_y)
    assert (1 + 1 / beta) * math.log1p(gm) >= (math.log(2) + log_y - math.log(delta)) * (1 - REL)


@given(unit, st.floats(1e-4, 0.999), st.floats(1.0, 1e3), st.floats(math.log(2), 1e3))
def test_linear_softmax_norm_limit_keeps_tilted_parameter_in_class(delta, gm, B, log_y):
    """Theorem J.3: ‖(1 + 1/β)θ*‖ ≤ B when ‖θ*‖ is at the limit (needs |Y| ≥ 2)."""
    beta = tb.xpo_beta(delta, gm, log_y)
    assert (1 + 1 / beta) * tb.xpo_linear_softmax_norm_limit(delta, gm, B, log_y) <= B * (1 + REL)


def _j2_rhs(T, eps, delta, rho, beta, R, SEC, log_N, constant=1.0):
    return (
        constant
        * R**2
        * SEC
        * (math.log(2) + log_N + math.log(T) - math.log(rho))
        / (eps * delta * beta) ** 2
    )


def _is_smallest_t(T, rhs):
    """T ≥ rhs(T) and T - 1 < rhs(T - 1), up to float rounding (T can exceed 1e15, where T and T-1
    differ by less than the rounding of rhs)."""
    return T >= rhs(T) * (1 - REL) and (T == 1 or T - 1 < rhs(T - 1) * (1 + REL))


@given(
    st.floats(0.05, 0.999),
    st.floats(0.05, 0.999),
    unit,
    st.floats(0.05, 0.999),
    st.floats(1.0, 10.0),
    st.floats(1e-3, 50.0),
    st.floats(0.0, 100.0),
    st.floats(0.01, 10.0),
)
def test_xpo_iterations_is_the_smallest_t_meeting_theorem_j2(
    eps, delta, rho, beta, R, SEC, log_N, c
):
    T = tb.xpo_iterations(eps, delta, rho, beta, R, SEC, log_N, constant=c)
    assert isinstance(T, int) and T >= 1
    assert _is_smallest_t(T, lambda t: _j2_rhs(t, eps, delta, rho, beta, R, SEC, log_N, c))
    assert tb.xpo_iterations(eps / 2, delta, rho, beta, R, SEC, log_N, constant=c) >= T
    assert tb.xpo_iterations(eps, delta, rho, beta, R, SEC * 2, log_N, constant=c) >= T


@given(
    unit,
    unit,
    unit,
    st.floats(1e-3, 10.0),
    st.floats(1e-3, 1e3),
    st.floats(0.0, 1e3),
    st.floats(0.0, 1e3),
)
def test_xpo_sample_complexity_scaling(eps, delta, rho, gm, SEC, log_N, log_y):
    m = tb.xpo_sample_complexity(eps, delta, rho, gm, 2.0, SEC, log_N, log_y)
    assert close(tb.xpo_sample_complexity(eps / 2, delta, rho, gm, 2.0, SEC, log_N, log_y) / m, 4.0)
    assert close(tb.xpo_sample_complexity(eps, delta, rho, gm, 2.0, 3 * SEC, log_N, log_y) / m, 3.0)
    assert close(
        tb.xpo_sample_complexity(eps, delta, rho, gm, 2.0, SEC, log_N, log_y, constant=5.0) / m, 5.0
    )


@given(
    st.floats(0.1, 0.9),
    st.floats(0.1, 0.9),
    st.floats(0.01, 0.5),
    st.floats(0.1, 0.9),
    st.integers(1, 8),
    st.floats(1.0, 5.0),
    st.floats(0.0, 10.0),
)
def test_linear_softmax_plan_follows_the_proof_of_theorem_j3(eps, delta, rho, gm, d, B, log_y):
    plan = tb.xpo_linear_softmax_plan(eps, delta, rho, gm, d, B, log_y)
    beta = gm / (2 * (math.log(2) + log_y - math.log(delta)))
    R = math.sqrt(4 * beta**2 * B**2 + (2 * B + log_y) ** 2)
    assert close(plan.beta, beta) and close(plan.R_max, R)
    assert plan.m == 2 * plan.T

    def pieces(T):
        SEC = d * math.log(T + 1)
        eps_disc = min(eps * delta / math.sqrt(SEC * T), 0.5)
        return SEC, eps_disc, max(d * math.log(6 * B / eps_disc), 0.0)

    def rhs(T):
        SEC, _, log_N = pieces(T)
        return _j2_rhs(T, eps, delta, rho, beta, R, SEC, log_N)

    assert _is_smallest_t(plan.T, rhs)
    SEC, eps_disc, log_N = pieces(plan.T)
    assert (
        close(plan.SEC, SEC)
        and close(plan.epsilon_disc, eps_disc)
        and close(plan.log_covering_number, log_N)
    )
    log_term = math.log(2) + log_N + math.log(plan.T) - math.log(rho)
    assert close(plan.alpha, beta / (R + beta * R) * math.sqrt(log_term / (SEC * plan.T)))


# ------------------------------------------------------------------ best-of-N


def test_bon_hand_values():
    assert close(tb.bon_failure_probability(0.25, 4), 0.75**4)
    assert tb.bon_failure_probability(1.0, 3) == 0.0
    assert tb.bon_failure_probability(0.3, 0) == 1.0
    assert tb.bon_failure_probability(0.0, 5) == 1.0
    assert tb.bon_samples_needed(0.25, 0.05) == math.ceil(math.log(20) / 0.25)  # 12
    assert (
        tb.bon_samples_needed(0.25, 0.05, exact=True) == 11.0
    )  # 0.75**11 = 0.042 <= 0.05 < 0.75**10
    assert tb.bon_samples_needed(1.0, 0.5, exact=True) == 1.0
    masses = np.array([[0.5, 0.1], [1.0, 0.01]])
    out = tb.bon_failure_probability(masses, 3)
    assert out.shape == (2, 2)
    np.testing.assert_allclose(out, (1 - masses) ** 3, rtol=1e-14)


def test_bon_tiny_mass_keeps_precision():
    p, N = 1e-200, 10**12
    # (1 - p)^N = exp(N log1p(-p)) = exp(-1e-188) to double precision: exactly 1.0, never NaN.
    assert tb.bon_failure_probability(p, N) == 1.0
    assert close(tb.bon_failure_probability(1e-9, 10**9), math.exp(10**9 * math.log1p(-1e-9)))
    assert tb.bon_samples_needed(1e-200, 0.5) == math.ceil(math.log(2) / 1e-200)


@given(st.floats(1e-9, 1.0), unit)
def test_bon_counts_reach_rho_and_exact_count_is_minimal(p, rho):
    needed = tb.bon_samples_needed(p, rho)
    exact = tb.bon_samples_needed(p, rho, exact=True)
    log_miss = math.log1p(-p) if p < 1 else -math.inf
    assert exact <= needed
    assert needed * log_miss <= math.log(rho)  # Proposition C.1's count works
    assert exact * log_miss <= math.log(rho)
    assert exact == 1 or (exact - 1) * log_miss > math.log(rho)  # and no smaller count does


@given(st.floats(0.0, 1.0), st.integers(0, 10**6))
def test_bon_failure_below_exponential_bound(p, N):
    """Proof of Prop. C.1: (1-p)^N ≤ exp(-N p)."""
    assert tb.bon_failure_probability(p, N) <= math.exp(-N * p) * (1 + REL)


def test_adaptive_bon_hand_values():
    assert close(tb.adaptive_bon_expected_samples_bound(0.2, 3.0), (3.0 + 1) / 0.2)
    assert close(tb.adaptive_bon_expected_samples_bound(0.2, 3.0, n_modes=2), (3.0 + 0.5) / 0.2)
    np.testing.assert_allclose(
        tb.adaptive_bon_expected_samples_bound([0.5, 0.25], 1.0, n_modes=[1, 2]),
        [4.0, 6.0],
        rtol=1e-14,
    )
    assert close(tb.adaptive_bon_miss_probability_bound(2.0, n_modes=3), math.exp(-6.0))


@st.composite
def weights_and_mu(draw):
    w = np.array(draw(st.lists(st.integers(0, 4), min_size=1, max_size=6)), dtype=np.int64)
    if w.sum() == 0:
        w[0] = 1
    return w, draw(st.integers(1, 20))  # μ = quarter / 4


@given(weights_and_mu())
def test_lemma_i1_bound_dominates_exact_expected_stopping_time(args):
    """E[N_μ] = Σ_{k≥0} P(N_μ > k), P(N_μ > k) = P(all k draws have P(y) < μ/k) = mass{P < μ/k}^k.

    Comparisons are done in integers (P = w/W, μ = q/4), so the law is exact.
    """
    w, quarter = args
    W = int(w.sum())
    probs = w / W
    mu = quarter / 4
    K = quarter * W + 1  # beyond this, μ/k < 1/W ≤ every positive mass, so P(N_μ > k) = 0
    k = np.arange(1, K + 1)
    below = 4 * w[None, :] * k[:, None] < quarter * W  # P(y) < μ/k exactly
    survival = (below * probs[None, :]).sum(axis=1) ** k
    expected_stop = 1.0 + survival.sum()
    n_modes = int((w == w.max()).sum())
    bound = tb.adaptive_bon_expected_samples_bound(w.max() / W, mu, n_modes=n_modes)
    assert expected_stop <= bound * (1 + 1e-9)


# ------------------------------------------------------------ supporting lemmas


def test_supporting_lemmas_hand_values():
    assert close(tb.mle_hellinger_bound(1000, 10.0, 0.05), 2 * (10.0 + math.log(20)) / 1000)
    assert close(tb.linear_softmax_sec_bound(3, 99), 3 * math.log(100))
    assert close(tb.linear_softmax_sec_bound(3, 99, constant=0.5), 1.5 * math.log(100))
    assert close(tb.linear_softmax_log_covering_number(4, 2.0, 0.1), 4 * math.log(120))
    assert (
        tb.linear_softmax_log_covering_number(2, 0.1, 0.9) == 0.0
    )  # one point is a net when 6B ≤ ε


@given(counts, log_size, unit)
def test_mle_bound_decreasing_in_n(n, L, rho):
    assert tb.mle_hellinger_bound(n + 1, L, rho) < tb.mle_hellinger_bound(n, L, rho)


# ----------------------------------------------------------- finite outputs


@given(unit, unit, coverage, log_size, unit, counts, st.integers(1, 10**6))
def test_outputs_are_finite_non_negative_floats(eps, delta, C, L, rho, n, N):
    values = [
        tb.lower_bound_samples(eps, C, L),
        tb.lower_bound_samples_p(eps, C, L, 3, adaptive=True),
        tb.sft_error_bound(n, N, delta, C, L, rho),
        *tb.sft_sample_complexity(eps, delta, C, L, rho),
        *tb.adaptive_sft_sample_complexity(eps, delta, C, L, rho),
        tb.adaptive_sft_error_bound(n, delta, L, rho),
        tb.dpo_error_bound(n, delta, C, C, L, rho, 0.5, eps),
        *tb.dpo_sample_complexity(eps, delta, C, C, L, rho, 0.5),
        tb.mle_hellinger_bound(n, L, rho),
    ]
    for value in values:
        assert isinstance(value, float) and math.isfinite(value) and value >= 0


def test_overflow_is_reported_not_returned_as_inf():
    with pytest.raises(OverflowError, match="does not fit"):
        tb.lower_bound_samples(1e-300, 1e300, 1e300)
    with pytest.raises(OverflowError):
        tb.sft_parameters(1e-300, 1e-300, 1e300, 1e300, 0.5)


# ------------------------------------------------------------------ bad input

BAD_INPUTS = [
    (tb.lower_bound_samples, (0.0, 2.0, 1.0), {}, ValueError, "epsilon"),
    (tb.lower_bound_samples, (1.0, 2.0, 1.0), {}, ValueError, "epsilon"),
    (tb.lower_bound_samples, (0.1, 0.5, 1.0), {}, ValueError, "C_cov"),
    (tb.lower_bound_samples, (0.1, 2.0, -1.0), {}, ValueError, "log_class_size"),
    (tb.lower_bound_samples, (0.1, 2.0, float("nan")), {}, ValueError, "log_class_size"),
    (tb.lower_bound_samples, (0.1, 2.0, 1.0), {"constant": 0.0}, ValueError, "constant"),
    (tb.lower_bound_samples, ("0.1", 2.0, 1.0), {}, TypeError, "epsilon"),
    (tb.lower_bound_samples_p, (0.1, 2.0, 1.0, 0), {}, ValueError, "p"),
    (tb.lower_bound_samples_p, (0.1, 2.0, 1.0, 1.5), {}, TypeError, "p"),
    (tb.lower_bound_samples_p, (0.1, 2.0, 1.0), {"adaptive": 1}, TypeError, "adaptive"),
    (tb.adaptive_lower_bound_samples, (0.1, 2.0, 1.0), {"constant": -1.0}, ValueError, "constant"),
    (tb.sft_error_bound, (0, 5, 0.1, 2.0, 1.0, 0.1), {}, ValueError, "n"),
    (tb.sft_error_bound, (10, 0, 0.1, 2.0, 1.0, 0.1), {}, ValueError, "N"),
    (tb.sft_error_bound, (10, 5, 1.0, 2.0, 1.0, 0.1), {}, ValueError, "delta"),
    (tb.sft_error_bound, (10, 5, 0.1, 2.0, 1.0, 0.0), {}, ValueError, "rho"),
    (tb.sft_sample_complexity, (0.1, 0.1, 0.9, 1.0, 0.1), {}, ValueError, "C_cov"),
    (tb.sft_parameters, (0.1, 0.1, 2.0, 1.0, 1.5), {}, ValueError, "rho"),
    (tb.adaptive_mu_stop, (0.0,), {}, ValueError, "delta"),
    (tb.adaptive_sft_error_bound, (10.5, 0.1, 1.0, 0.1), {}, TypeError, "n"),
    (tb.adaptive_sft_expected_samples, (10, 0.1, 0.5), {}, ValueError, "C_bar_cov"),
    (
        tb.adaptive_sft_sample_complexity,
        (0.1, 0.1, 2.0, -3.0, 0.1),
        {},
        ValueError,
        "log_class_size",
    ),
    (tb.dpo_beta, (0.1, 0.1, 0.0), {}, ValueError, "gamma_margin"),
    (tb.dpo_error_bound, (10, 0.1, 2.0, 2.0, 1.0, 0.1, 0.5, 0.0), {}, ValueError, "beta"),
    (
        tb.dpo_error_bound,
        (10, 0.1, 2.0, 2.0, 1.0, 0.1, 0.5, 0.1),
        {"gamma": 1.0},
        ValueError,
        "gamma",
    ),
    (tb.dpo_error_bound, (10, 0.1, 0.5, 2.0, 1.0, 0.1, 0.5, 0.1), {}, ValueError, "C_conc"),
    (tb.dpo_sample_complexity, (0.1, 0.1, 2.0, 0.5, 1.0, 0.1, 0.5), {}, ValueError, "C_loss"),
    (tb.xpo_beta, (0.1, 0.5, -1.0), {}, ValueError, "log_n_responses"),
    (tb.xpo_alpha, (0, 1.0, 1.0, 0.1, 1.0, 0.0, 0.1), {}, ValueError, "T"),
    (tb.xpo_alpha, (10, 0.0, 1.0, 0.1, 1.0, 0.0, 0.1), {}, ValueError, "SEC"),
    (tb.xpo_alpha, (10, 1.0, 1.0, 0.1, 0.0, 0.0, 0.1), {}, ValueError, "R_max"),
    (tb.xpo_alpha, (10, 1.0, 1.0, 0.1, 1.0, -1.0, 0.1), {}, ValueError, "V_max"),
    (tb.xpo_regret_bound, (10, 1.0, 1.0, 0.1, 1.0, 0.0, 0.1, 1.0), {}, ValueError, "epsilon_disc"),
    (
        tb.xpo_regret_bound,
        (10, 1.0, -1.0, 0.1, 1.0, 0.0, 0.1, 0.1),
        {},
        ValueError,
        "log_covering_number",
    ),
    (tb.xpo_discretization, (0.1, 0.1, 1.0, 0), {}, ValueError, "T"),
    (tb.xpo_iterations, (0.1, 0.1, 0.1, 1.0, 2.0, 1.0, 1.0), {}, ValueError, "beta"),
    (tb.xpo_iterations, (0.1, 0.1, 0.1, 0.5, 0.5, 1.0, 1.0), {}, ValueError, "R_max"),
    (
        tb.xpo_sample_complexity,
        (0.1, 0.1, 0.1, 0.5, 2.0, 1.0, 1.0, -2.0),
        {},
        ValueError,
        "log_n_responses",
    ),
    (tb.xpo_linear_softmax_norm_limit, (0.1, 0.5, 0.5, 1.0), {}, ValueError, "B"),
    (tb.xpo_linear_softmax_norm_limit, (0.1, 1.5, 2.0, 1.0), {}, ValueError, "gamma_margin"),
    (tb.xpo_linear_softmax_plan, (0.1, 0.1, 0.1, 0.5, 0, 2.0, 1.0), {}, ValueError, "d"),
    (
        tb.xpo_linear_softmax_plan,
        (0.1, 0.1, 0.1, 0.5, 2, 2.0, 1.0),
        {"sec_constant": 0.0},
        ValueError,
        "sec_constant",
    ),
    (
        tb.xpo_linear_softmax_plan,
        (0.1, 0.1, 0.1, 0.5, 2, 2.0, 1.0),
        {"disc_constant": -1.0},
        ValueError,
        "disc_constant",
    ),
    (tb.bon_failure_probability, (1.5, 3), {}, ValueError, "mode_mass"),
    (tb.bon_failure_probability, ([0.5, np.nan], 3), {}, ValueError, "mode_mass"),
    (tb.bon_failure_probability, (0.5, -1), {}, ValueError, "N"),
    (tb.bon_failure_probability, ("a", 3), {}, TypeError, "mode_mass"),
    (tb.bon_samples_needed, (0.0, 0.1), {}, ValueError, "mode_mass"),
    (tb.bon_samples_needed, (0.5, 1.0), {}, ValueError, "rho"),
    (tb.bon_samples_needed, (0.5, 0.1), {"exact": "yes"}, TypeError, "exact"),
    (tb.adaptive_bon_expected_samples_bound, (0.0, 1.0), {}, ValueError, "max_mass"),
    (tb.adaptive_bon_expected_samples_bound, (0.5, 0.0), {}, ValueError, "mu_stop"),
    (tb.adaptive_bon_expected_samples_bound, (0.5, 1.0), {"n_modes": 0}, ValueError, "n_modes"),
    (tb.adaptive_bon_expected_samples_bound, (0.5, 1.0), {"n_modes": 1.5}, TypeError, "n_modes"),
    (tb.adaptive_bon_expected_samples_bound, (0.5, 1.0), {"n_modes": 3}, ValueError, "n_modes"),
    (tb.adaptive_bon_miss_probability_bound, (-1.0,), {}, ValueError, "mu_stop"),
    (tb.mle_hellinger_bound, (0, 1.0, 0.1), {}, ValueError, "n"),
    (tb.linear_softmax_sec_bound, (0, 10), {}, ValueError, "d"),
    (tb.linear_softmax_sec_bound, (2, True), {}, TypeError, "T"),
    (tb.linear_softmax_log_covering_number, (2, 1.0, 0.0), {}, ValueError, "epsilon_disc"),
    (tb.linear_softmax_log_covering_number, (2, -1.0, 0.1), {}, ValueError, "B"),
    # imperfect rewards (bounds/imperfect.py)
    (tb.bon_regret_bound, (0, 0.1, 2.0), {}, ValueError, "n"),
    (tb.bon_regret_bound, (3, 0.1, 0.5), {}, ValueError, "c_inf"),
    (tb.bon_tuned_n, (-0.1, 2.0), {}, ValueError, "eps"),
    (tb.reward_hacking_lower_bound, (10, 0.0), {}, ValueError, "eps"),
    (tb.itp_regret_bound, (0.1, 0.1, 0.5), {}, ValueError, "c_1"),
    (tb.itp_tuned_beta, (0.0, 2.0), {}, ValueError, "eps"),
    (tb.minimax_lower_bound, (0.1, 1.0), {}, ValueError, "c"),
]


@pytest.mark.parametrize(
    "func, args, kwargs, error, name", BAD_INPUTS, ids=lambda v: getattr(v, "__name__", None)
)
def test_bad_input_names_the_argument(func, args, kwargs, error, name):
    with pytest.raises(error, match=rf"\b{name}\b"):
        func(*args, **kwargs)


def test_every_public_function_has_a_bad_input_case():
    functions = {name for name in tb.__all__ if callable(getattr(tb, name)) and name[0].islower()}
    covered = {func.__name__ for func, *_ in BAD_INPUTS}
    assert functions <= covered, functions - covered


def test_lower_bound_survives_a_subnormal_prefactor():
    """``constant·C·log|Π|`` may underflow to 0 while the bound is a positive float: assemble it in logs."""
    tiny = 5e-324  # the smallest subnormal: 0.5 * tiny rounds to 0
    value = tb.lower_bound_samples(0.1, 1.0, tiny, constant=0.5)
    expected = math.exp(
        math.log(0.5) + math.log(tiny) - 2.0 * math.log(0.1) - math.log(1.0 - math.log(0.1))
    )
    assert value == pytest.approx(expected, rel=1e-9, abs=0.0)
