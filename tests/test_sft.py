"""SFT-Sharpening, adaptive SFT-Sharpening and the exact tabular error (Sec. 2.1, Thm 4.1, App. D)."""

import itertools
import math
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from strategies import prob_tables, prompt_distributions, reward_tables

import sharpsim as ss

DELTAS = [0.1, 0.25, 1 / 3, 0.5, 0.6, 0.75, 0.9]  # several put K/v = 1 - δ exactly on the boundary


# --------------------------------------------------------------------------- exact error: brute force


def _bon_mode_mass_by_enumeration(probs, mask, N):
    """q_x by listing every N-tuple of draws: the most likely draw is in y*_γ iff the pick is."""
    q = np.zeros(probs.shape[0])
    for x in range(probs.shape[0]):
        for draws in itertools.product(range(probs.shape[1]), repeat=N):
            weight = math.prod(probs[x, d] for d in draws)
            best = max(draws, key=lambda d: probs[x, d])
            q[x] += weight * mask[x, best]
    return q


def _brute_force_error(base, mu, n, N, delta, gamma, unseen):
    """E[P_x(π̂(y*_γ|x) < 1-δ)] summed over every prompt sequence and every in/out pattern of the picks."""
    probs = base.probs
    mask = ss.mode_mask(base, gamma)
    q = _bon_mode_mass_by_enumeration(probs, mask, N)
    X, Y = probs.shape
    one_minus = 1 - Fraction(delta)
    onehot = np.eye(X)
    if unseen == "base":
        fallback = [
            ss.sharpening_error(base, base, delta, mu=onehot[x], gamma=gamma) for x in range(X)
        ]
    else:
        fallback = [float(Fraction(int(mask[x].sum()), Y) < one_minus) for x in range(X)]
    total = 0.0
    for seq in itertools.product(range(X), repeat=n):
        p_seq = math.prod(mu[s] for s in seq)
        visits = Counter(seq)
        for hits in itertools.product((0, 1), repeat=n):
            p_hits = math.prod(q[s] if h else 1 - q[s] for s, h in zip(seq, hits))
            K = Counter(s for s, h in zip(seq, hits) if h)
            err = sum(
                mu[x]
                * (fallback[x] if visits[x] == 0 else float(Fraction(K[x], visits[x]) < one_minus))
                for x in range(X)
            )
            total += p_seq * p_hits * err
    return total


@given(
    probs=prob_tables(max_contexts=3, max_responses=4),
    data=st.data(),
    n=st.integers(1, 3),
    N=st.integers(1, 3),
    delta=st.sampled_from(DELTAS),
    gamma=st.sampled_from([0.0, 0.3, 0.5]),
    unseen=st.sampled_from(["base", "uniform"]),
)
def test_expected_sft_error_equals_brute_force(probs, data, n, N, delta, gamma, unseen):
    base = ss.TabularPolicy(probs)
    mu = data.draw(prompt_distributions(base.n_contexts))
    mu_arr = np.full(base.n_contexts, 1 / base.n_contexts) if mu is None else mu
    exact = ss.expected_sft_error(base, n, N, delta, mu=mu, gamma=gamma, unseen=unseen)
    reference = _brute_force_error(base, mu_arr, n, N, delta, gamma, unseen)
    assert 0.0 <= exact <= 1.0
    assert exact == pytest.approx(reference, rel=1e-9, abs=1e-12)


@given(
    probs=prob_tables(max_contexts=3, max_responses=6),
    N=st.sampled_from([1, 2, 7, 10**6]),
    gamma=st.sampled_from([0.0, 0.3]),
)
def test_bon_mode_mass_closed_form_equals_exact_law(probs, N, gamma):
    """1 - (1 - π(y*_γ))^N (Prop. C.1) is the BoN law's mass on y*_γ, ties, zeros and tiny masses included."""
    base = ss.TabularPolicy(probs)
    law = ss.best_of_n_law(base, N)
    on_mode = np.where(ss.mode_mask(base, gamma), law.probs, 0.0).sum(axis=1)
    q = ss.bon_mode_mass(base, N, gamma)
    assert np.all(np.isfinite(q))
    np.testing.assert_allclose(q, on_mode, rtol=1e-9, atol=1e-12)


@given(probs=prob_tables(max_contexts=2, max_responses=4), data=st.data(), N=st.integers(1, 3))
def test_bon_mode_mass_with_a_table_reward_matches_enumeration(probs, data, N):
    """A non-default reward goes through the exact law: check it against listing all N-tuples."""
    base = ss.TabularPolicy(probs)
    rewards = data.draw(reward_tables(*probs.shape))
    mask = ss.mode_mask(base)
    q = np.zeros(base.n_contexts)
    for x in range(base.n_contexts):
        for draws in itertools.product(range(base.n_responses), repeat=N):
            weight = math.prod(probs[x, d] for d in draws)
            if weight == 0:
                continue
            best = max(range(N), key=lambda j: (rewards[x, draws[j]], -j))  # first maximal draw
            q[x] += weight * mask[x, draws[best]]
    np.testing.assert_allclose(
        ss.bon_mode_mass(base, N, reward=ss.TableReward(rewards)), q, rtol=1e-9, atol=1e-12
    )


# --------------------------------------------------------------------------- plateau and convergence (exact)


def _hoeffding_gap_bound(base, n, N, delta, mu):
    """|E_n[err] - plateau| <= Σ_x μ(x) E[exp(-2 V_x g_x²)] = Σ_x μ(x) (1 - μ(x)(1 - e^{-2 g_x²}))^n.

    Given V_x = v, P(K/v on the wrong side of 1-δ) <= exp(-2 v g_x²) with g_x = |q_x - (1-δ)|
    (Hoeffding), and the v = 0 term differs by at most 1 = e^0; V_x ~ Binomial(n, μ(x)).
    """
    g = np.abs(ss.bon_mode_mass(base, N) - (1 - delta))
    return float(np.sum(mu * (1 - mu * (1 - np.exp(-2 * g**2))) ** n))


def _world(seed, X=4, Y=6):
    rng = np.random.default_rng(seed)
    return ss.TabularPolicy(rng.dirichlet(np.full(Y, 0.6), size=X)), rng.dirichlet(np.full(X, 3.0))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_expected_error_tends_to_plateau_within_hoeffding_bound(seed):
    base, mu = _world(seed)
    delta = 0.3
    for N in (1, 3, 10):
        plateau = ss.sft_error_plateau(base, N, delta, mu=mu)
        q = ss.bon_mode_mass(base, N)
        assert plateau == pytest.approx(float(mu @ (q < 1 - delta)))
        bounds = []
        for n in (10, 100, 1000, 10000):
            bounds.append(_hoeffding_gap_bound(base, n, N, delta, mu))
            gap = abs(ss.expected_sft_error(base, n, N, delta, mu=mu) - plateau)
            assert gap <= bounds[-1] + 1e-12
        assert np.all(np.diff(bounds) < 0)  # a bound that itself goes to 0 geometrically in n


def test_error_vanishes_as_n_and_N_grow():
    """Once every q_x > 1-δ the plateau is 0 and E[err] -> 0; below that N it is the BoN law's own error."""
    base, mu = _world(3)
    delta = 0.2
    p_mode = ss.mode_mass(base)
    n_needed = int(
        np.max(np.floor(np.log(delta) / np.log1p(-p_mode)) + 1)
    )  # smallest N with all q_x > 1-δ
    assert ss.sft_error_plateau(base, n_needed, delta, mu=mu) == 0.0
    assert ss.sft_error_plateau(base, n_needed - 1, delta, mu=mu) > 0.0
    errors = [
        ss.expected_sft_error(base, n, N, delta, mu=mu)
        for n, N in [(10, 2), (100, n_needed), (3000, 4 * n_needed)]
    ]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] <= _hoeffding_gap_bound(base, 3000, 4 * n_needed, delta, mu) < errors[0] / 1000


def test_windowed_sum_equals_the_full_binomial_sum():
    """expected_sft_error skips visit counts whose binomial tail is < 1e-300: compare with the sum over
    every v = 1..n, written out directly (prompts with μ = 0 and tiny μ included)."""
    base, _ = _world(7, X=6, Y=5)
    mu = np.array([0.0, 1e-7, 0.05, 0.25, 0.3, 0.4 - 1e-7])
    n, N, delta = 3000, 4, 0.37
    q = ss.bon_mode_mass(base, N)
    v = np.arange(1, n + 1)
    one_minus = 1 - Fraction(delta)
    k_min = np.array([-((-one_minus.numerator * int(k)) // one_minus.denominator) for k in v])
    seen = (stats.binom.pmf(v, n, mu[:, None]) * stats.binom.cdf(k_min - 1, v, q[:, None])).sum(
        axis=1
    )
    fallback = np.array([ss.sharpening_error(base, base, delta, mu=np.eye(6)[x]) for x in range(6)])
    full = float(np.sum(mu * (seen + (1 - mu) ** n * fallback)))
    assert ss.expected_sft_error(base, n, N, delta, mu=mu) == pytest.approx(
        full, rel=1e-12, abs=1e-15
    )


def test_plateau_boundary_counts_one_half():
    """q_x = 1 - δ exactly: P(K < v q_x) -> 1/2 (central limit theorem), and the exact sum agrees."""
    base = ss.TabularPolicy([[0.5, 0.25, 0.25]])  # N = 1: q = 0.5
    assert ss.sft_error_plateau(base, 1, 0.5) == 0.5
    assert ss.expected_sft_error(base, 40000, 1, 0.5) == pytest.approx(
        0.5, abs=0.003
    )  # atom at v/2 is O(1/√v)


def test_unseen_rules_differ_only_on_unvisited_prompts():
    base = ss.TabularPolicy([[0.9, 0.05, 0.05], [0.4, 0.3, 0.3]])
    mu = np.array([0.5, 0.5])
    delta = 0.5
    # n = 1: one prompt unseen with probability 1; base fallback fails only at prompt 1 (0.4 < 0.5),
    # uniform fallback fails at both (1/3 < 0.5).
    q = ss.bon_mode_mass(base, 1)
    seen = 0.5 * 0.5 * (1 - q)  # μ(x)·P(V=1)·P(K=0)
    base_rule = seen.sum() + 0.5 * 0.5 * np.array([0.0, 1.0]).sum()
    uniform_rule = seen.sum() + 0.5 * 0.5 * 2
    assert ss.expected_sft_error(base, 1, 1, delta, mu=mu, unseen="base") == pytest.approx(
        base_rule
    )
    assert ss.expected_sft_error(base, 1, 1, delta, mu=mu, unseen="uniform") == pytest.approx(
        uniform_rule
    )


def test_tiny_masses_and_huge_N_do_not_give_nan():
    base = ss.TabularPolicy([[1e-200, 1 - 1e-200], [1e-300, 1.0 - 1e-300]])
    for N in (1, 10**6, 10**12):
        value = ss.expected_sft_error(base, 50, N, 0.1, unseen="base")
        assert np.isfinite(value) and value == 0.0  # the modes have mass ~1 already
    flat = ss.TabularPolicy(np.full((1, 10**4), 1e-4))
    assert (
        ss.expected_sft_error(flat, 10, 10**6, 0.1, unseen="uniform") == 0.0
    )  # every response is a mode


# --------------------------------------------------------------------------- Monte Carlo vs exact

MC_WORLD = ss.TabularPolicy(
    np.array(
        [
            [0.14, 0.28, 0.13, 0.10, 0.35],
            [0.27, 0.47, 0.05, 0.01, 0.20],
            [0.06, 0.77, 0.08, 0.08, 0.01],
        ]
    )
)
MC_MU = np.array([0.5, 0.3, 0.2])
# δ with no exact boundary for n < 100: (1-δ)·v is never an integer and never a mode-set size ratio.
MC_CASES = [
    ("law", 12, 3, 0.37),
    ("faithful", 12, 3, 0.37),
    ("law", 30, 1, 0.59),
    ("faithful", 30, 1, 0.59),
    ("adaptive", 3, None, 0.13),
    ("adaptive", 5, None, 0.37),
]
MC_REPLICATES = 1000
MC_LEVEL = 0.001  # overall: each case tested at MC_LEVEL / len(MC_CASES) (Bonferroni)


@pytest.mark.parametrize("case", range(len(MC_CASES)))
def test_monte_carlo_error_matches_exact(case):
    """Mean sharpening error of R runs vs the exact expectation: two-sided Hoeffding band at 99.9% overall.

    Errors lie in [0, 1], so P(|mean - E| >= t) <= 2 exp(-2 R t²).
    """
    method, n, N, delta = MC_CASES[case]
    cls = ss.TabularClass(3, 5, unseen="base", base=MC_WORLD)
    gen = np.random.default_rng(1000 + case)
    errors, queries = [], []
    for _ in range(MC_REPLICATES):
        if method == "adaptive":
            res = ss.adaptive_sft_sharpening(MC_WORLD, n, delta, cls, mu=MC_MU, rng=gen)
        else:
            res = ss.sft_sharpening(MC_WORLD, n, N, cls, mu=MC_MU, rng=gen, bon_method=method)
            assert res.queries == n * N
        errors.append(ss.sharpening_error(res.policy, MC_WORLD, delta, mu=MC_MU))
        queries.append(res.queries)
    if method == "adaptive":
        exact, exact_queries = ss.expected_adaptive_sft_error(MC_WORLD, n, delta, mu=MC_MU)
        # queries: normal band (CLT over R runs) at the same per-case level
        z = stats.norm.ppf(1 - MC_LEVEL / len(MC_CASES) / 2)
        assert abs(np.mean(queries) - exact_queries) <= z * np.std(queries, ddof=1) / math.sqrt(
            MC_REPLICATES
        )
    else:
        exact = ss.expected_sft_error(MC_WORLD, n, N, delta, mu=MC_MU)
    band = math.sqrt(math.log(2 * len(MC_CASES) / MC_LEVEL) / (2 * MC_REPLICATES))
    assert abs(np.mean(errors) - exact) <= band
    assert 0.05 < exact < 0.95  # a non-degenerate case, so the band is informative


# --------------------------------------------------------------------------- adaptive SFT (App. D)


def test_adaptive_samples_obey_lemma_i1():
    """Exact: Σ μ E[N_μ] <= Σ μ (μ_stop + 1/|y*|)/P* <= C̄_cov (1 + ln(2/δ)) (Lemma I.1, Thm D.1);
    realised mean over n prompts within a 99.9% normal band of the exact expectation."""
    base, mu = _world(5, X=5, Y=8)
    delta = 0.2
    mu_stop = math.log(2 / delta)
    top = base.probs.max(axis=1)
    n_modes = ss.mode_mask(base).sum(axis=1)
    exact = float(mu @ ss.adaptive_best_of_n_expected_samples(base, mu_stop))
    lemma = float(mu @ ((mu_stop + 1 / n_modes) / top))
    assert (
        exact <= lemma <= ss.adaptive_coverage(base, mu) * (1 + mu_stop) * (1 + 1e-12)
    )  # equal: unique modes
    n = 5000
    res = ss.adaptive_sft_sharpening(base, n, delta, ss.TabularClass(5, 8), mu=mu, rng=11)
    counts = res.samples_per_prompt
    assert counts.shape == (n,) and counts.sum() == res.queries
    z = stats.norm.ppf(1 - 0.001 / 2)
    assert abs(counts.mean() - exact) <= z * counts.std(ddof=1) / math.sqrt(n)
    assert res.diagnostics["mu_stop"] == pytest.approx(mu_stop)


def test_adaptive_reaches_plain_sft_error_with_fewer_queries():
    """Nine confident prompts (mode 0.9), one hard one (mode 0.1): adaptive SFT spends little on the
    confident ones; plain SFT needs a large N everywhere to reach the same exact expected error."""
    Y = 12
    easy = np.r_[0.9, np.full(Y - 1, 0.1 / (Y - 1))]
    hard = np.r_[0.1, np.full(Y - 1, 0.9 / (Y - 1))]
    base = ss.TabularPolicy(np.array([easy] * 9 + [hard]))
    n, delta = 100, 0.3
    err_adaptive, m_adaptive = ss.expected_adaptive_sft_error(base, n, delta)
    N_plain = next(
        N for N in range(1, 1000) if ss.expected_sft_error(base, n, N, delta) <= err_adaptive
    )
    assert m_adaptive < 0.5 * n * N_plain
    assert ss.expected_sft_error(base, n, math.ceil(m_adaptive / n), delta) > 10 * err_adaptive
    # and a run realises the saving
    res = ss.adaptive_sft_sharpening(base, n, delta, ss.TabularClass(10, Y), rng=4)
    assert res.queries < n * N_plain


# --------------------------------------------------------------------------- result object


def test_result_seed_replays_run_and_data_is_opt_in():
    base, mu = _world(6)
    cls = ss.TabularClass(4, 6)
    first = ss.sft_sharpening(base, 20, 4, cls, mu=mu, bon_method="faithful")
    assert isinstance(first.seed, int) and first.data is None
    again = ss.sft_sharpening(
        base, 20, 4, cls, mu=mu, rng=first.seed, bon_method="faithful", keep_data=True
    )
    np.testing.assert_array_equal(first.policy.probs, again.policy.probs)
    assert again.seed == first.seed and again.queries == 80
    assert set(again.data) == {"x", "y", "log_prob"} and again.data["y"].shape == (20,)
    np.testing.assert_allclose(
        again.data["log_prob"], base.log_probs[again.data["x"], again.data["y"]]
    )
    assert again.diagnostics["bon_log_prob_mean"] == pytest.approx(again.data["log_prob"].mean())
    gen = np.random.default_rng(3)
    from_gen = ss.sft_sharpening(base, 20, 4, cls, mu=mu, rng=gen)
    replay = ss.sft_sharpening(base, 20, 4, cls, mu=mu, rng=from_gen.seed)
    np.testing.assert_array_equal(from_gen.policy.probs, replay.policy.probs)


def test_bon_picks_from_law_and_faithful_have_same_counts_and_support():
    base = ss.TabularPolicy([[0.6, 0.3, 0.1, 0.0]])
    for method in ("law", "faithful"):
        res = ss.sft_sharpening(
            base, 200, 2, ss.TabularClass(1, 4), rng=0, bon_method=method, keep_data=True
        )
        assert res.queries == 400
        assert np.all(res.data["y"] < 3)  # never the zero-mass response


# --------------------------------------------------------------------------- bad input


def test_bad_inputs_raise_naming_the_argument():
    base = ss.TabularPolicy([[0.5, 0.5], [0.9, 0.1]])
    cls = ss.TabularClass(2, 2)
    with pytest.raises(ValueError, match="n must be >= 1"):
        ss.sft_sharpening(base, 0, 2, cls)
    with pytest.raises(ValueError, match="N must be >= 1"):
        ss.sft_sharpening(base, 3, 0, cls)
    with pytest.raises(TypeError, match="n must be an integer"):
        ss.sft_sharpening(base, 2.5, 2, cls)
    with pytest.raises(ValueError, match="bon_method"):
        ss.sft_sharpening(base, 3, 2, cls, bon_method="exact")
    with pytest.raises(TypeError, match="fit_mle"):
        ss.sft_sharpening(base, 3, 2, object())
    with pytest.raises(ValueError, match="n_responses"):
        ss.sft_sharpening(base, 3, 2, ss.TabularClass(2, 3))
    with pytest.raises(TypeError, match="rng"):
        ss.sft_sharpening(base, 3, 2, cls, rng="seed")
    with pytest.raises(ValueError, match="mu"):
        ss.sft_sharpening(base, 3, 2, cls, mu=[0.2, 0.2])
    with pytest.raises(ValueError, match="delta"):
        ss.adaptive_sft_sharpening(base, 3, 1.0, cls)
    with pytest.raises(ValueError, match="mu_stop"):
        ss.adaptive_sft_sharpening(base, 3, 0.5, cls, mu_stop=0.0)
    with pytest.raises(ValueError, match="delta"):
        ss.expected_sft_error(base, 3, 2, 0.0)
    with pytest.raises(ValueError, match="gamma"):
        ss.expected_sft_error(base, 3, 2, 0.5, gamma=1.0)
    with pytest.raises(ValueError, match="unseen"):
        ss.expected_sft_error(base, 3, 2, 0.5, unseen="zero")
    with pytest.raises(ValueError, match="N must be >= 1"):
        ss.sft_error_plateau(base, 0, 0.5)


def test_unrealizable_class_is_refused_when_asked():
    base = ss.TabularPolicy([[0.5, 0.3, 0.2]])
    only_base = ss.FiniteClass([base])
    with pytest.raises(ValueError, match="realizability"):
        ss.sft_sharpening(base, 5, 4, only_base, check_realizable=True)
    with pytest.raises(ValueError, match="realizability"):
        ss.adaptive_sft_sharpening(base, 5, 0.2, only_base, check_realizable=True)
    law_class = ss.FiniteClass([ss.best_of_n_law(base, 4)])
    assert ss.sft_sharpening(base, 5, 4, law_class, check_realizable=True, rng=0).queries == 20


def test_expected_sft_error_thresholds_only_inside_the_visit_window(monkeypatch):
    """The docstring's O(|X|·√n) cost: exact thresholds ⌈(1−δ)v⌉ are computed only for visit counts in the
    Chernoff window, never for all ``v = 0..n`` (n = 10^8 would build a 10^8-entry Python-int array)."""
    from sharpsim.algorithms import sft_error as sft_mod

    sizes = []
    real = sft_mod._ceil_ratio
    monkeypatch.setattr(
        sft_mod, "_ceil_ratio", lambda v, frac: sizes.append(v.size) or real(v, frac)
    )
    base = ss.TabularPolicy([[0.5, 0.5], [0.9, 0.1]])
    n = 10**8
    value = ss.expected_sft_error(
        base, n, 1, 0.15
    )  # q = (1, 0.9) > 1 − δ = 0.85: no error at this n
    assert value == pytest.approx(0.0, abs=1e-12)
    assert max(sizes, default=0) < 10**6, sizes
    # Same value as the all-v computation at a size where both are cheap.
    small = ss.expected_sft_error(
        base, 400, 1, 0.125
    )  # 1 − δ = 7/8 exactly, so float ceilings are exact
    lo = stats.binom.cdf(np.ceil(0.875 * np.arange(1, 401)) - 1, np.arange(1, 401), 0.9)
    ref = 0.5 * (stats.binom.pmf(np.arange(1, 401), 400, 0.5) @ lo) + 0.5 * 0.5**400 * 1.0
    assert small == pytest.approx(ref, rel=1e-9)


def test_adaptive_sft_cap_raises_or_flags():
    base = ss.TabularPolicy([[0.01] * 100])  # the rule needs k >= μ_stop/0.01 > 100 draws
    with pytest.raises(RuntimeError, match="on_cap='flag'"):
        ss.adaptive_sft_sharpening(base, 5, 0.1, ss.TabularClass(1, 100), rng=0, max_samples=10)
    res = ss.adaptive_sft_sharpening(
        base, 5, 0.1, ss.TabularClass(1, 100), rng=0, max_samples=10, on_cap="flag"
    )
    assert res.diagnostics["capped_prompts"] == 5 and res.queries == 50
    with pytest.raises(ValueError, match="on_cap"):
        ss.adaptive_sft_sharpening(base, 5, 0.1, ss.TabularClass(1, 100), rng=0, on_cap="ignore")


# --------------------------------------------------------------------------- extremes (issue 7 §5)


def _peak_bytes(fn):
    import tracemalloc

    tracemalloc.start()
    try:
        value = fn()
        return value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_expected_sft_error_huge_n_runs_in_bounded_memory():
    """n = 10^18 used to allocate a 271 GiB window; away from the boundary the error has settled long before."""
    base = ss.TabularPolicy([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3], [0.2, 0.2, 0.6]])
    value, peak = _peak_bytes(lambda: ss.expected_sft_error(base, 10**18, 8, 0.1))
    # q = 1 - 0.5^8, 1 - 0.4^8 > 0.9 settle at 0; q = 1 - 0.4^8 at prompt 2 likewise: limit 0 everywhere
    assert value == 0.0 and peak < 50 * 2**20
    value, peak = _peak_bytes(lambda: ss.expected_sft_error(base, 10**18, 1, 0.1))
    # N = 1: q = mode masses 0.5, 0.6, 0.6 < 0.9: every visited prompt fails, and all are visited
    assert value == 1.0 and peak < 50 * 2**20
    # the same closed form agrees with the cell-by-cell sum where both are cheap
    small = ss.expected_sft_error(base, 2000, 2, 0.3)
    from sharpsim.algorithms import sft_error as sft_mod

    mu, q = np.full(3, 1 / 3), ss.bon_mode_mass(base, 2)
    v = np.arange(1, 2001)
    ref = [
        stats.binom.pmf(v, 2000, 1 / 3)
        @ stats.binom.cdf(sft_mod._ceil_ratio(v, Fraction(7, 10)) - 1, v, qx)
        for qx in q
    ]
    unseen = (2 / 3) ** 2000 * 1.0  # uniform fallback: 1/3 < 0.7 errs
    assert small == pytest.approx(
        float(np.sum(mu * (np.array(ref) + unseen))), rel=1e-10, abs=1e-300
    )


def test_expected_adaptive_sft_error_huge_n():
    base = ss.TabularPolicy([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]])
    (err, queries), peak = _peak_bytes(lambda: ss.expected_adaptive_sft_error(base, 10**15, 0.1))
    assert err == 0.0 and peak < 50 * 2**20
    assert queries == pytest.approx(
        10**15 * float(np.mean(ss.adaptive_best_of_n_expected_samples(base, math.log(20))))
    )


def test_expected_sft_error_refuses_unsettled_huge_n_before_work(monkeypatch):
    """On the boundary q = 1 − δ nothing settles: a window past MAX_VISIT_CELLS is refused up front."""
    from sharpsim.algorithms import sft_error as sft_mod

    calls = []
    monkeypatch.setattr(sft_mod.stats.binom, "pmf", lambda *a: calls.append(a) or 0.0)
    base = ss.TabularPolicy([[0.5, 0.375, 0.125], [0.5, 0.375, 0.125]])
    with pytest.raises(ValueError, match="n = 1000000000000000 needs .* MAX_VISIT_CELLS"):
        ss.expected_sft_error(base, 10**15, 1, 0.5)
    with pytest.raises(ValueError, match=r"n <= 2\*\*53"):
        ss.expected_sft_error(base, 10**18, 1, 0.5, mu=[1.0, 0.0])
    assert calls == []


def test_sft_sharpening_refuses_huge_n_before_drawing():
    base = ss.TabularPolicy([[0.5, 0.5]])
    for fn in (
        lambda: ss.sft_sharpening(base, 10**12, 4, ss.TabularClass(1, 2), rng=0),
        lambda: ss.adaptive_sft_sharpening(base, 10**12, 0.1, ss.TabularClass(1, 2), rng=0),
    ):
        with pytest.raises(ValueError, match="n = 1000000000000 prompts .* MAX_PROMPTS"):
            fn()


@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_expected_sft_error_chunking_does_not_change_the_value(monkeypatch, chunk):
    """Cells evaluated in chunks smaller than one prompt's window give the same sum (bounded memory)."""
    from sharpsim.algorithms import sft_error as sft_mod

    base = ss.TabularPolicy([[0.5, 0.5, 0.0], [0.6, 0.3, 0.1], [0.25, 0.25, 0.5]])
    mu = [0.2, 0.5, 0.3]
    want = ss.expected_sft_error(base, 300, 2, 0.3, mu=mu)
    monkeypatch.setattr(sft_mod, "_CELLS_PER_CHUNK", chunk)
    assert ss.expected_sft_error(base, 300, 2, 0.3, mu=mu) == pytest.approx(want, rel=1e-12)


# --------------------------------------------------------------------------- vectorised sum (issue 15)


def _seen_error_windowed(n, mu, q, level, chunk=1 << 20):
    """The 0.1.x `_seen_error`, kept as the reference: a Python loop over groups of prompts sharing a
    visit window, each group a rectangle of counts masked to every prompt's own window."""
    from sharpsim.algorithms import sft_error as sft_mod

    lo, hi = sft_mod._visit_window(n, mu)
    settled, limit = sft_mod._settled_from(q, level)
    top = np.minimum(hi, settled - 1)
    cells = np.maximum(top - lo + 1, 0)
    with np.errstate(divide="ignore"):
        out = limit * stats.binom.sf(np.maximum(settled, lo) - 1, n, mu)
    out = np.where(mu > 0, out, 0.0)
    todo = np.flatnonzero(cells)
    todo = todo[np.argsort(lo[todo], kind="stable")]
    i = 0
    while i < todo.size:
        first, last, j = int(lo[todo[i]]), int(top[todo[i]]), i + 1
        while j < todo.size and (j + 1 - i) * (max(last, int(top[todo[j]])) - first + 1) <= chunk:
            last = max(last, int(top[todo[j]]))
            j += 1
        idx = todo[i:j]
        for start in range(first, last + 1, max(1, chunk // idx.size)):
            v = np.arange(start, min(start + max(1, chunk // idx.size), last + 1))
            inside = (v[None, :] >= lo[idx, None]) & (v[None, :] <= top[idx, None])
            p_visits = stats.binom.pmf(v[None, :], n, mu[idx, None])
            p_fail = stats.binom.cdf(
                sft_mod._ceil_ratio(v, level)[None, :] - 1, v[None, :], q[idx, None]
            )
            out[idx] += np.sum(np.where(inside, p_visits * p_fail, 0.0), axis=1)
        i = j
    return out


@given(
    probs=prob_tables(max_contexts=6, max_responses=5),
    data=st.data(),
    n=st.one_of(st.integers(1, 40), st.integers(41, 5000), st.sampled_from([10**6, 10**9])),
    N=st.integers(1, 6),
    delta=st.sampled_from(DELTAS + [0.37001, 0.2]),
    chunk=st.sampled_from([1, 3, 64, 1 << 20]),
)
def test_vectorised_seen_error_equals_the_windowed_loop(probs, data, n, N, delta, chunk):
    """The flat, vectorised sum over (prompt, visit count) cells is the 0.1.x loop's, to rounding:
    random worlds with ties, zeros and tiny masses; q on the boundary 1 − δ included; any chunk size."""
    from sharpsim.algorithms import sft_error as sft_mod

    base = ss.TabularPolicy(probs)
    mu = data.draw(prompt_distributions(base.n_contexts))
    mu = np.full(base.n_contexts, 1 / base.n_contexts) if mu is None else np.asarray(mu)
    q, _ = sft_mod._snap_to_level(ss.bon_mode_mass(base, N), delta)
    if data.draw(st.booleans()):  # put some prompts exactly on the boundary q = 1 − δ
        q = np.where(np.arange(q.size) % 2 == 0, float(1 - sft_mod._decimal(delta)), q)
    level = 1 - sft_mod._decimal(delta)
    lo, hi = sft_mod._visit_window(n, mu)
    if (
        int(np.maximum(np.minimum(hi, sft_mod._settled_from(q, level)[0] - 1) - lo + 1, 0).sum())
        > 3e5
    ):
        return  # keep each example cheap (the loop reference is slow on big boundary windows)
    reference = _seen_error_windowed(n, mu, q, level)
    old_chunk = sft_mod._CELLS_PER_CHUNK
    sft_mod._CELLS_PER_CHUNK = chunk
    try:
        got = sft_mod._seen_error(n, mu, q, level)
    finally:
        sft_mod._CELLS_PER_CHUNK = old_chunk
    np.testing.assert_allclose(got, reference, rtol=1e-12, atol=1e-300)
