"""Named instances (sharpsim.theory.instances): each claim of the paper checked independently."""

import dataclasses
import itertools
import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import expit

import sharpsim as ss
from sharpsim.classes import FiniteClass, LinearSoftmaxClass
from sharpsim.rewards import LengthNormalizedReward
from sharpsim.theory import instances as inst_mod
from sharpsim.theory.instances import (
    bayes_optimal_learner,
    greedy_failure_example,
    hidden_knowledge_task,
    lower_bound_bayes_error,
    lower_bound_family,
    lower_bound_family_parameters,
    lower_bound_posterior,
    lower_bound_prompt_error,
    maxcut_instance,
    nonclosure_instance,
    nonclosure_max_mode_mass,
    nonclosure_policy,
    power_sampling_pivot_example,
    separation_instance,
    simulate_lower_bound_error,
    sphere_packing,
)

CYCLE5 = np.roll(np.eye(5, dtype=int), 1, axis=1) + np.roll(np.eye(5, dtype=int), -1, axis=1)


# --------------------------------------------------------------------------- lower-bound family


@st.composite
def family_params(draw, max_d=3, max_M=7):
    d = draw(st.integers(1, max_d))
    M = draw(st.integers(3, max_M))
    gamma = draw(st.sampled_from([0.5, 0.25, 0.1, 0.6]))
    if (M - 1) * (1 - gamma) <= gamma:
        gamma = 0.5
    Delta = draw(st.sampled_from([0.01, 0.1, 0.5, 0.9]))
    index = draw(st.lists(st.integers(1, M), min_size=d, max_size=d))
    return d, M, Delta, gamma, index


@given(family_params(), st.sampled_from([1, 2, 3, 1.5]))
def test_lower_bound_family_matches_construction_and_coverage(params, p):
    d, M, Delta, gamma, index = params
    inst = lower_bound_family(d, M, Delta, p=p, gamma=gamma, index=index, build_class=False)
    probs = inst.base.probs
    assert probs.shape == (d + 1, M + 1)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    assert probs[0, 0] == 1.0 and np.all(probs[1:, 0] == 0.0)
    mode = 1.0 / ((1.0 - gamma) * M)
    other = (1.0 / M) * (1.0 - gamma / ((M - 1) * (1.0 - gamma)))
    expected = np.full((d, M), other)
    expected[np.arange(d), np.array(index) - 1] = mode
    np.testing.assert_allclose(probs[1:, 1:], expected, rtol=1e-12)
    np.testing.assert_allclose(inst.mu, np.r_[1 - Delta, np.full(d, Delta / d)])
    # y*_γ is a singleton at the claimed modes (Lemma H.1), and the coverage formula is exact.
    mask = ss.mode_mask(inst.base, gamma)
    assert np.array_equal(np.argwhere(mask), np.c_[np.arange(d + 1), inst.claims["modes"]])
    assert inst.claims["coverage"] == pytest.approx(
        ss.coverage(inst.base, inst.mu, gamma, p), rel=1e-12
    )
    assert inst.claims["log_class_size"] == pytest.approx(d * math.log(M))


def test_lower_bound_class_is_the_whole_family():
    inst = lower_bound_family(2, 3, 0.3, index=[2, 3])
    cls = inst.model_class
    assert isinstance(cls, FiniteClass) and cls.size == 9 == inst.claims["class_size"]
    assert cls.contains(inst.base)
    tables = np.stack([p.probs for p in cls.policies])
    assert len({t.tobytes() for t in tables}) == 9  # all members distinct
    big = lower_bound_family(3, 20, 0.3, rng=0)  # 20**3 > MAX_CLASS_SIZE
    assert big.model_class is None
    with pytest.raises(ValueError, match="MAX_CLASS_SIZE"):
        lower_bound_family(3, 20, 0.3, rng=0, build_class=True)


def test_lower_bound_seeds_reproducible():
    a = lower_bound_family(5, 9, 0.2, rng=3, build_class=False)
    b = lower_bound_family(5, 9, 0.2, rng=np.random.default_rng(3), build_class=False)
    np.testing.assert_array_equal(a.details["index"], b.details["index"])
    np.testing.assert_array_equal(a.base.probs, b.base.probs)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(d=0, M=4, Delta=0.1), ValueError, "d must be >= 1"),
        (dict(d=2, M=2, Delta=0.1), ValueError, "M must be >= 3"),
        (dict(d=2, M=4, Delta=0.0), ValueError, "Delta"),
        (dict(d=2, M=4, Delta=1.0), ValueError, "Delta"),
        (dict(d=2, M=4, Delta=0.1, gamma=1.0), ValueError, "gamma"),
        (dict(d=2, M=3, Delta=0.1, gamma=0.7), ValueError, "too large"),
        (dict(d=2, M=4, Delta=0.1, p=0.5), ValueError, "p must be"),
        (dict(d=2, M=4, Delta=0.1, index=[1, 2, 3]), ValueError, "index must have shape"),
        (dict(d=2, M=4, Delta=0.1, index=[0, 2]), ValueError, r"index entries must be in \[1, 4\]"),
        (dict(d=2, M=4, Delta=0.1, index=[5, 2]), ValueError, "index entries"),
        (dict(d=2.0, M=4, Delta=0.1), TypeError, "d must be an integer"),
        (dict(d=2, M=4, Delta="0.1"), TypeError, "Delta must be a real"),
    ],
)
def test_lower_bound_bad_inputs(kwargs, error, match):
    with pytest.raises(error, match=match):
        lower_bound_family(**kwargs)


def test_lower_bound_family_parameters():
    params = lower_bound_family_parameters(0.01, 3.0, p=2)
    assert params["Delta"] == pytest.approx(0.16)
    assert params["M"] == math.ceil(1 + 3.0 * 0.01**-0.5)
    assert lower_bound_family_parameters(0.05, 1.0)["M"] == 21
    with pytest.raises(ValueError, match="epsilon"):
        lower_bound_family_parameters(1 / 16, 1.0)
    with pytest.raises(ValueError, match=r"C must be in \[1"):
        lower_bound_family_parameters(0.01, 0.5)


def _sample_data(inst, n, N, seed):
    oracle = ss.SampleEvaluateOracle(inst.base, inst.mu, rng=seed)
    x = oracle.draw_prompts(n)
    y, lp = oracle.sample(x, N)
    return np.repeat(x, N), y.ravel(), lp.ravel()


@settings(max_examples=40)
@given(family_params(max_d=2, max_M=4), st.integers(0, 6), st.integers(1, 3), st.integers(0, 10**6))
def test_posterior_equals_brute_force_bayes(params, n, N, seed):
    """Exact identity: our posterior = Bayes' rule over all M**d models with a uniform prior."""
    d, M, Delta, gamma, index = params
    inst = lower_bound_family(d, M, Delta, gamma=gamma, index=index, build_class=False)
    x, y, lp = _sample_data(inst, n, N, seed)
    post = np.zeros((d, M))
    for I in itertools.product(range(1, M + 1), repeat=d):
        table = lower_bound_family(
            d, M, Delta, gamma=gamma, index=I, build_class=False
        ).base.log_probs
        consistent = np.all(np.abs(table[x, y] - lp) < 1e-12)
        weight = np.exp(table[x, y].sum()) if consistent else 0.0
        post[np.arange(d), np.array(I) - 1] += weight
    post /= post.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(lower_bound_posterior(d, M, x, y, lp, gamma), post, atol=1e-12)


def test_posterior_rejects_data_from_outside_the_family():
    lo, hi = math.log(1 / 6), math.log(1 / 2)
    with pytest.raises(ValueError, match="cannot come from"):
        lower_bound_posterior(1, 4, [1], [2], [math.log(0.3)])
    with pytest.raises(ValueError, match="cannot come from"):
        lower_bound_posterior(1, 4, [0], [2], [0.0])
    with pytest.raises(ValueError, match="two different modes"):
        lower_bound_posterior(1, 4, [1, 1], [1, 2], [hi, hi])
    with pytest.raises(ValueError, match="every response was seen"):
        lower_bound_posterior(1, 4, [1] * 4, [1, 2, 3, 4], [lo] * 4)
    with pytest.raises(TypeError, match="x must be an integer array"):
        lower_bound_posterior(1, 4, [1.0], [2], [lo])


def test_bayes_learner_puts_mass_on_a_posterior_maximiser():
    inst = lower_bound_family(3, 6, 0.4, rng=1, build_class=False)
    x, y, lp = _sample_data(inst, 10, 3, seed=2)
    post = lower_bound_posterior(3, 6, x, y, lp)
    model = bayes_optimal_learner(3, 6, x, y, lp, rng=0)
    assert model.probs[0, 0] == 1.0
    picks = np.argmax(model.probs[1:], axis=1)
    assert np.all(model.probs[1:].max(axis=1) == 1.0)
    assert np.all(post[np.arange(3), picks - 1] == post.max(axis=1))


@settings(max_examples=30)
@given(st.integers(3, 5), st.integers(0, 5), st.sampled_from([0.5, 0.25]))
def test_prompt_error_equals_enumeration_over_samples(M, k, gamma):
    """Exact identity: f(k) = E[1 - max posterior] by enumerating all M**k response sequences."""
    inst = lower_bound_family(1, M, 0.5, gamma=gamma, index=[1], build_class=False)
    probs = inst.base.probs[1]
    expected = 0.0
    for seq in itertools.product(range(1, M + 1), repeat=k):
        weight = np.prod(probs[list(seq)])
        post = lower_bound_posterior(
            1, M, np.ones(k, int), np.array(seq, int), np.log(probs[list(seq)]), gamma
        )
        expected += weight * (1.0 - post.max())
    assert lower_bound_prompt_error(M, [k], gamma)[0] == pytest.approx(expected, abs=1e-12)


def test_bayes_error_equals_enumeration_over_prompt_draws():
    """Exact identity: enumerate the (d+1)**n prompt sequences and sum the per-prompt errors."""
    d, M, Delta, n, N = 2, 5, 0.3, 4, 2
    mu = np.r_[1 - Delta, np.full(d, Delta / d)]
    expected = 0.0
    for xs in itertools.product(range(d + 1), repeat=n):
        counts = np.bincount(xs, minlength=d + 1)[1:]
        expected += (
            np.prod(mu[list(xs)]) * (Delta / d) * lower_bound_prompt_error(M, N * counts).sum()
        )
    assert lower_bound_bayes_error(d, M, Delta, n, N) == pytest.approx(expected, rel=1e-12)


def test_bayes_error_shape_limits_and_phase_transition():
    d, M, Delta = 3, 10, 0.2
    assert lower_bound_bayes_error(d, M, Delta, 0, 5) == pytest.approx(Delta * (1 - 1 / M))
    grid = lower_bound_bayes_error(d, M, Delta, np.array([[1], [10], [100]]), np.array([1, 4]))
    assert grid.shape == (3, 2)
    m = np.unique(np.geomspace(1, 100 * d * M / Delta, 40).astype(int))
    curve = lower_bound_bayes_error(d, M, Delta, m, 1)
    assert np.all(np.diff(curve) <= 1e-15)  # more data never hurts the Bayes learner
    assert curve[-1] < 1e-12
    assert not np.any(np.isnan(curve))


@pytest.mark.parametrize(
    "d, M, Delta, N", [(1, 8, 0.5, 1), (3, 8, 0.1, 4), (4, 20, 0.2, 1), (2, 50, 0.05, 10)]
)
def test_lemma_h3_constant_error_below_dM_over_Delta(d, M, Delta, N):
    """Lemma H.3: with M >= 8 and m <= c·dM/Δ each hard prompt is missed w.p. >= 1/8 (here c = 1/8)."""
    n = max(1, int(d * M / (8 * Delta)) // N)
    assert lower_bound_bayes_error(d, M, Delta, n, N) / Delta >= 1 / 8


def test_prompt_error_extrapolation_is_within_atol():
    M, gamma = 6, 0.5
    a = 1 / ((1 - gamma) * M)
    far = np.array([10**4, 10**6])
    values = lower_bound_prompt_error(M, far, gamma)
    assert np.all(values >= 0) and np.all(values <= (1 - a) ** far + 1e-300)
    with pytest.raises(ValueError, match="counts must be >= 0"):
        lower_bound_prompt_error(M, [-1])
    with pytest.raises(TypeError, match="counts must be an integer"):
        lower_bound_prompt_error(M, [1.5])


def test_monte_carlo_bayes_learner_matches_exact_error():
    """Binomial test at level 1e-3 (two-sided) on prompt x_1, and a Hoeffding band at 1e-3 on the mean error."""
    d, M, Delta, n, N, trials = 2, 5, 0.5, 6, 2, 1500
    out = simulate_lower_bound_error(d, M, Delta, n, N, trials, rng=7)
    exact = float(lower_bound_bayes_error(d, M, Delta, n, N))
    assert out["queries"] == n * N
    p_value = stats.binomtest(int(out["missed"][:, 0].sum()), trials, exact / Delta).pvalue
    assert p_value > 1e-3
    band = Delta * math.sqrt(math.log(2 / 1e-3) / (2 * trials))  # errors lie in [0, Δ]
    assert abs(out["errors"].mean() - exact) <= band
    again = simulate_lower_bound_error(d, M, Delta, n, N, 5, rng=3)
    np.testing.assert_array_equal(
        again["missed"], simulate_lower_bound_error(d, M, Delta, n, N, 5, rng=3)["missed"]
    )


def test_monte_carlo_learner_error_agrees_with_sharpening_error():
    inst = lower_bound_family(3, 6, 0.4, rng=5, build_class=False)
    x, y, lp = _sample_data(inst, 12, 2, seed=9)
    model = bayes_optimal_learner(3, 6, x, y, lp, rng=1)
    direct = float(np.sum(inst.mu * (model.probs[np.arange(4), inst.claims["modes"]] < 0.5)))
    assert ss.sharpening_error(model, inst.base, 0.5, inst.mu, gamma=0.5) == pytest.approx(direct)


# --------------------------------------------------------------------------- Example J.1


def test_sphere_packing_is_a_packing():
    for d in (2, 3, 4):
        Y = sphere_packing(d, rng=d, max_size=300)
        np.testing.assert_allclose(np.linalg.norm(Y, axis=1), 1.0, atol=1e-12)
        dist = np.linalg.norm(Y[:, None] - Y[None], axis=-1)
        np.fill_diagonal(dist, np.inf)
        assert dist.min() >= 0.25 - 1e-12
    # On the circle at most floor(2π / (2·arcsin(1/8))) = 25 points are 1/4 apart.
    assert sphere_packing(2, rng=0).shape[0] <= 25
    with pytest.raises(ValueError, match="d must be >= 2"):
        sphere_packing(1)
    with pytest.raises(ValueError, match="separation"):
        sphere_packing(3, separation=2.0)


def test_separation_instance_claims():
    inst = separation_instance(3, rng=0, max_size=80)
    c, points = inst.claims, inst.details["points"]
    K = points.shape[0]
    assert c["n_responses"] == K == inst.base.n_responses
    assert c["min_distance"] >= 0.25
    np.testing.assert_array_equal(inst.base.theta, points[inst.details["mode_index"]])
    # Margin Ω(1): every other point is at distance >= 1/4, so π(y*)/π(y) >= e^(1/32).
    assert c["gamma_margin"] >= c["margin_lower_bound"] == pytest.approx(math.expm1(1 / 32))
    assert c["gamma_margin"] == pytest.approx(ss.margin(inst.base))
    # Coverage Ω(|Y|): π(y*)/π(y) <= e², so 1/π(y*) >= |Y|/e²; and <= |Y| since y* is the mode.
    p_star = inst.base.probs[0, inst.details["mode_index"]]
    assert c["coverage"] == pytest.approx(1 / p_star)
    assert K * math.exp(-2) <= c["coverage"] <= K
    assert c["B"] == pytest.approx(3 * math.log(3))
    assert isinstance(inst.model_class, LinearSoftmaxClass) and inst.model_class.B == c["B"]
    assert c["thm_j3_min_delta"] == pytest.approx(2 * K * math.exp(-c["gamma_margin"] * c["B"] / 3))


def test_separation_seeds_and_bad_inputs():
    a, b = separation_instance(3, rng=4, max_size=30), separation_instance(3, rng=4, max_size=30)
    np.testing.assert_array_equal(a.details["points"], b.details["points"])
    with pytest.raises(ValueError, match="d must be >= 2"):
        separation_instance(1)
    with pytest.raises(ValueError, match="B must be >= "):
        separation_instance(3, B=0.5, max_size=10)
    with pytest.raises(ValueError, match="mode_index"):
        separation_instance(3, mode_index=10, max_size=10, rng=0)


# --------------------------------------------------------------------------- Proposition E.1


@st.composite
def graphs(draw, max_vertices=5):
    n = draw(st.integers(2, max_vertices))
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    edges = draw(st.lists(st.sampled_from(pairs), min_size=1, unique=True))
    A = np.zeros((n, n), dtype=int)
    for i, j in edges:
        A[i, j] = A[j, i] = 1
    return A


def _cut(A, side):
    return sum(A[i, j] for i in range(len(A)) for j in range(i + 1, len(A)) if side[i] != side[j])


@settings(max_examples=30)
@given(graphs())
def test_maxcut_mode_is_a_maximum_cut(A):
    inst = maxcut_instance(A)
    n, H = A.shape[0], A.shape[0] + 2
    best = max(_cut(A, side) for side in itertools.product([0, 1], repeat=n))
    assert inst.claims["max_cut"] == best and inst.claims["mode_is_max_cut"]
    modes = inst.claims["mode_sequences"]
    assert np.all(modes[:, -2:] == 1)  # y_{H-1} = y_H = +1
    assert all(_cut(A, m[:n]) == best for m in modes)
    n_max = sum(_cut(A, side) == best for side in itertools.product([0, 1], repeat=n))
    assert modes.shape == (n_max, H)  # every maximum cut (and its complement) is a mode
    assert inst.claims["mode_mass"] == pytest.approx(inst.claims["mode_mass_formula"], rel=1e-12)
    assert inst.claims["log_gap"] > 0


def test_maxcut_conditionals_follow_the_proof():
    A = CYCLE5
    inst = maxcut_instance(A)
    pi, H = inst.base, 7
    rng = np.random.default_rng(0)
    prefixes = rng.integers(0, 2, size=(6, H - 2))
    for h in range(H - 2):  # θ_1..θ_{H-2} = 0: uniform tokens
        np.testing.assert_allclose(np.exp(pi.next_token_log_probs(0, prefixes[:, :h])), 0.5)
    spins = 2.0 * prefixes - 1.0
    s = -np.einsum("ki,ij,kj->k", spins, A, spins)
    np.testing.assert_allclose(np.exp(pi.next_token_log_probs(0, prefixes))[:, 1], expit(2 * s))
    last = np.exp(pi.next_token_log_probs(0, np.c_[prefixes, np.ones((6, 1), int)]))[:, 1]
    np.testing.assert_allclose(last, expit(8.0))
    np.testing.assert_allclose(
        np.exp(pi.next_token_log_probs(0, np.c_[prefixes, np.zeros((6, 1), int)])), 0.5
    )
    np.testing.assert_allclose(
        inst.claims["theta_norms"][-2:], [math.sqrt(A.sum()), 2 * math.sqrt(2)]
    )


def test_maxcut_recorded_decoding_failures():
    """The 5-cycle: greedy returns the empty cut; beam search of width <= 4 misses, width 8 finds a max cut."""
    c = maxcut_instance(CYCLE5).claims
    assert c["max_cut"] == 4
    assert c["greedy"].tolist() == [0] * 7 and c["greedy_cut"] == 0 and not c["greedy_is_mode"]
    assert c["beam_misses"] == (1, 2, 4)
    # A random graph (seed 0, G(8, 1/2), 13 edges, max cut 10): with the paper's coupling the best
    # and second-best cuts differ by ~2e-9 in log-probability; coupling 1/|E| restores a visible gap.
    upper = np.triu(np.random.default_rng(0).random((8, 8)) < 0.5, 1)
    A = (upper | upper.T).astype(int)
    paper, rescaled = maxcut_instance(A), maxcut_instance(A, coupling=2 / A.sum())
    assert paper.claims["max_cut"] == rescaled.claims["max_cut"] == 10
    assert paper.claims["mode_is_max_cut"] and rescaled.claims["mode_is_max_cut"]
    assert paper.claims["log_gap"] < 1e-8 < 1e-2 < rescaled.claims["log_gap"]
    assert not rescaled.claims["greedy_is_mode"] and rescaled.claims["beam_misses"] == (
        1,
        2,
        4,
        8,
        16,
        32,
        64,
    )


@pytest.mark.parametrize(
    "A, match",
    [
        (np.array([[0, 1], [0, 0]]), "symmetric"),
        (np.array([[1, 1], [1, 0]]), "zero diagonal"),
        (np.array([[0, 2], [2, 0]]), "0 or 1"),
        (np.zeros((3, 3), int), "at least one edge"),
        (np.ones((11, 11), int) - np.eye(11, dtype=int), "MAX_CUT_VERTICES"),
        (np.zeros((2, 3), int), "square"),
        (np.zeros((1, 1), int), "square"),
    ],
)
def test_maxcut_bad_inputs(A, match):
    with pytest.raises(ValueError, match=match):
        maxcut_instance(A)


# --------------------------------------------------------------------------- Proposition E.2


@pytest.mark.parametrize("n", [3, 5, 20])
def test_nonclosure_base_mode(n):
    inst = nonclosure_instance(n, restarts=2, rng=0)
    c = inst.claims
    table = inst.base.to_tabular()
    assert c["mode_is_unique"] and c["mode"].tolist() == [1, 0]
    assert ss.mode_mask(table)[0, 1 * n + 0]
    assert c["mode_mass"] == pytest.approx(c["mode_mass_formula"], rel=1e-12)
    assert c["mode_mass"] > c["mode_mass_lower_bound"] == pytest.approx(1 / 6)  # Ω(1)
    assert c["runner_up_mass"] <= 1 / (2 * n)  # every other sequence is O(1/n)
    assert c["class_max_mode_mass"] <= 0.5 + 1e-12  # 1e-12: rounding only
    assert c["sharpened_mode_mass"] > 0.5  # π*_β is sharpened but outside the class
    assert not c["greedy_is_mode"]


@given(st.integers(3, 12), st.lists(st.floats(-30, 30), min_size=4, max_size=4))
def test_nonclosure_every_model_gives_the_mode_at_most_half(n, theta):
    """The paper's argument: φ_1(1) = φ_1(2) forces π_θ(1) = π_θ(2), so π_θ(2,1) <= 1/2."""
    pi = nonclosure_policy(n, np.reshape(theta, (2, 2)))
    first = np.exp(pi.next_token_log_probs(0, np.zeros((0,), int)))
    assert first[0] == first[1]
    # In exact arithmetic π_θ(2,1) <= 1/2; 1e-12 absorbs the rounding of the two log-softmaxes.
    assert pi.log_prob(0, [1, 0]) <= math.log(0.5) + 1e-12


def test_nonclosure_supremum_is_one_half():
    out = nonclosure_max_mode_mass(6, 15.0, restarts=4, rng=1)
    assert 0.5 - 1e-4 <= out["max_mass"] <= 0.5 + 1e-12  # 1e-12: rounding only
    assert np.all(np.linalg.norm(out["theta"], axis=1) <= 15.0 * (1 + 1e-12))


def test_nonclosure_bad_inputs():
    with pytest.raises(ValueError, match="n must be >= 3"):
        nonclosure_instance(2)
    with pytest.raises(ValueError, match="B must be >= log n"):
        nonclosure_instance(10, B=1.0)
    with pytest.raises(ValueError, match="theta must have shape"):
        nonclosure_policy(4, [1.0, 2.0])


# --------------------------------------------------------------------------- Prop. 3.1, power sampling


def test_greedy_failure_example_is_tight_for_proposition_3_1():
    inst = greedy_failure_example()
    c = inst.claims
    table = inst.base.to_tabular()
    assert (
        c["mode"].tolist() == ss.all_sequences(2, 2)[np.argmax(table.probs[0])].tolist() == [0, 1]
    )
    assert c["mode_mass"] == pytest.approx(0.4) and c["mode_mass"] <= 0.5
    assert c["greedy"].tolist() == ss.greedy_decode(inst.base, [0])[0].tolist() == [1, 0]
    assert not c["greedy_is_mode"] and c["beam2_is_mode"]


@pytest.mark.parametrize("alpha", [2.0, 4.0])
def test_power_pivot_disagrees_with_token_temperature(alpha):
    inst = power_sampling_pivot_example(alpha)
    c = inst.claims
    power = ss.tilted(inst.base, 1.0 / (alpha - 1.0))  # π^α = π*_β with α = 1 + 1/β
    assert c["power_mode_mass"] == pytest.approx(power.probs[0, 1])
    assert (
        c["disagree"]
        and c["power_top"].tolist() == [0, 1]
        and c["temperature_top"].tolist() == [1, 0]
    )
    assert c["power_mode_mass"] > c["temperature_mode_mass"]


def test_power_pivot_agrees_at_alpha_one():
    c = power_sampling_pivot_example(1.0).claims
    assert not c["disagree"] and c["power_mode_mass"] == pytest.approx(c["temperature_mode_mass"])
    with pytest.raises(ValueError, match="alpha"):
        power_sampling_pivot_example(0.5)


# --------------------------------------------------------------------------- hidden-knowledge tasks


def _accuracy_of(law, is_correct):
    return float((law.probs * is_correct).sum(axis=1).mean())


def test_hidden_knowledge_claims_are_exact():
    task = hidden_knowledge_task(12, 3, bonus=1.5, horizon=3, rng=0)
    d, c, base = task.details, task.claims, task.base
    table = base.to_tabular()
    assert table.probs.shape == (12, 27)
    assert c["sample_accuracy"] == pytest.approx(_accuracy_of(table, d["is_correct"]))
    mode = base.mode(np.arange(12))
    idx = ss.encode_sequences(mode, 3)
    assert c["mode_accuracy"] == pytest.approx(d["is_correct"][np.arange(12), idx].mean())
    greedy = ss.encode_sequences(ss.greedy_decode(base, np.arange(12)), 3)
    assert c["greedy_accuracy"] == pytest.approx(d["is_correct"][np.arange(12), greedy].mean())
    np.testing.assert_array_equal(d["answers"], ss.all_sequences(3, 3)[:, -1])
    np.testing.assert_array_equal(d["is_correct"], d["answers"][None] == d["correct"][:, None])


@given(st.floats(-3, 3), st.floats(-3, 3), st.integers(0, 1000))
def test_hidden_knowledge_bonus_is_a_log_likelihood_tilt(b0, b1, seed):
    """Exact identity: same seed, log π_b1 - log π_b0 = (b1 - b0)·1[correct] + a constant per prompt."""
    t0 = hidden_knowledge_task(3, 2, bonus=b0, horizon=2, rng=seed, autoregressive=False)
    t1 = hidden_knowledge_task(3, 2, bonus=b1, horizon=2, rng=seed, autoregressive=False)
    diff = t1.base.log_probs - t0.base.log_probs - (b1 - b0) * t0.details["is_correct"]
    np.testing.assert_allclose(diff - diff[:, :1], 0.0, atol=1e-10)


def test_hidden_knowledge_bon_accuracy_rises_with_n():
    """With the exact BoN law (log-likelihood reward), accuracy rises from sampling towards the mode's."""
    task = hidden_knowledge_task(30, 4, bonus=1.0, horizon=3, rng=1)
    is_correct = task.details["is_correct"]
    Ns = [1, 2, 4, 8, 16, 32, 50, 10**4]
    acc = [_accuracy_of(ss.best_of_n_law(task.base, N), is_correct) for N in Ns]
    assert acc[0] == pytest.approx(task.claims["sample_accuracy"])
    assert np.all(np.diff(acc) >= -1e-12), acc
    assert acc[-1] == pytest.approx(task.claims["mode_accuracy"], abs=1e-6)
    assert task.claims["mode_accuracy"] > task.claims["sample_accuracy"]
    assert task.claims["mean_log_prob_correct"] > task.claims["mean_log_prob_incorrect"]  # Fig. 6


def test_hidden_knowledge_variable_length():
    task = hidden_knowledge_task(5, 2, bonus=1.0, horizon=3, variable_length=True, rng=2)
    d, base = task.details, task.base
    end = d["end_token"]
    assert end == 2 and base.vocab_size == 3
    seqs = ss.all_sequences(3, 3)
    table = base.to_tabular()
    assert np.all(table.probs[:, seqs[:, 0] == end] == 0)  # no empty response
    reward = LengthNormalizedReward(end)
    np.testing.assert_array_equal(d["lengths"], reward.lengths(seqs))
    reward.table(base)  # raises unless padding after the end token is deterministic
    lengths_seen = d["lengths"][table.probs.sum(axis=0) > 0]
    assert set(lengths_seen.tolist()) == {2, 3}
    assert np.isfinite(task.claims["mean_log_prob_correct"])


def test_hidden_knowledge_seeds_and_bad_inputs():
    a = hidden_knowledge_task(4, 3, rng=5)
    b = hidden_knowledge_task(4, 3, rng=5)
    np.testing.assert_array_equal(a.base.to_tabular().probs, b.base.to_tabular().probs)
    assert isinstance(
        hidden_knowledge_task(2, 2, rng=0, autoregressive=False).base, ss.TabularPolicy
    )
    assert "greedy_accuracy" not in hidden_knowledge_task(2, 2, rng=0, autoregressive=False).claims
    with pytest.raises(ValueError, match="n_answers must be >= 2"):
        hidden_knowledge_task(4, 1)
    with pytest.raises(ValueError, match="vocab_size must be >="):
        hidden_knowledge_task(4, 3, vocab_size=3, variable_length=True)
    with pytest.raises(ValueError, match="horizon must be >= 2"):
        hidden_knowledge_task(4, 3, horizon=1, variable_length=True)
    with pytest.raises(ValueError, match="MAX_ENUMERATION"):
        hidden_knowledge_task(1, 10, horizon=7)
    with pytest.raises(ValueError, match="noise"):
        hidden_knowledge_task(4, 3, noise=-1.0)
    with pytest.raises(ValueError, match="bonus must be finite"):
        hidden_knowledge_task(4, 3, bonus=float("nan"))


# --------------------------------------------------------------------------- the record itself


def test_instances_are_frozen():
    inst = lower_bound_family(2, 4, 0.3, rng=0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        inst.name = "other"
    with pytest.raises(TypeError):
        inst.claims["coverage"] = 0.0
    with pytest.raises(ValueError):
        inst.claims["modes"][0] = 3
    assert inst.reference.startswith("Theorem 3.1")
    assert "lower_bound_family" in repr(inst)
    assert set(inst_mod.__all__) <= set(dir(inst_mod))


# --------------------------------------------------------------------------- review: edge inputs


@pytest.mark.parametrize("bonus", [800.0, -800.0])
def test_hidden_knowledge_mean_log_probs_survive_extreme_bonus(bonus):
    """Fig. 6's conditional means stay exact when one side's mass underflows (log-space weights)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        task = hidden_knowledge_task(3, 2, bonus=bonus, horizon=2, rng=0, autoregressive=False)
    lp, ok = task.base.log_probs, task.details["is_correct"]
    for key, side in (("mean_log_prob_correct", ok), ("mean_log_prob_incorrect", ~ok)):
        w = np.exp(lp[side] - np.max(lp[side]))  # the conditional law, normalised in log space
        assert task.claims[key] == pytest.approx(float(w @ lp[side] / w.sum()), rel=1e-12)
    gap = task.claims["mean_log_prob_correct"] - task.claims["mean_log_prob_incorrect"]
    assert np.sign(bonus) * gap > 700  # the tilt dominates the O(1) noise


def test_lower_bound_posterior_rejects_a_response_seen_with_both_likelihoods():
    """One (x, y) observed once as the mode and once as a non-mode comes from no model of the family."""
    lo, hi = math.log(1 / 6), math.log(1 / 2)
    with pytest.raises(ValueError, match="both"):
        lower_bound_posterior(1, 4, [1, 1], [2, 2], [hi, lo])


def test_lower_bound_bayes_error_huge_N_does_not_wrap():
    """``m = n·N`` past the int64 range: only unvisited hard prompts keep an error, ``Δ·(1-Δ/d)^n·(1-1/M)``."""
    expected = 0.5 * 0.5**10 * 0.75
    for N in (10**6, 10**18, 2**62):
        assert lower_bound_bayes_error(1, 4, 0.5, 10, N) == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(
        lower_bound_bayes_error(1, 4, 0.5, [10, 10], [10**18, 10**6]), [expected] * 2, rtol=1e-12
    )


def test_lower_bound_coverage_large_p_stays_finite():
    """``((1-Δ) + (M(1-γ))^p Δ)^(1/p)`` is about ``M(1-γ)Δ^(1/p)`` for large ``p``; (M(1-γ))^p alone overflows."""
    p = 1000.0
    expected = math.exp(np.logaddexp(math.log(0.9), p * math.log(5.0) + math.log(0.1)) / p)
    assert inst_mod.lower_bound_coverage(10, 0.1, p=p) == pytest.approx(expected, rel=1e-12)
    assert lower_bound_family(1, 10, 0.1, p=p, index=[1]).claims["coverage"] == pytest.approx(
        expected, rel=1e-12
    )


def test_lower_bound_bayes_error_huge_n_runs_in_bounded_memory():
    """n = 10^12 prompts (0.1.0: np.arange(n + 1), a MemoryError). Only the binomial window of K that
    carries mass is summed; checked against a direct sum over K <= 5000 whose neglected tail is < 1e-300."""
    d, M, Delta, n, N = 10**9, 1000, 0.5, 10**12, 1  # K ~ Bin(10^12, 5e-10): mean 500, sd 22
    tracemalloc.start()
    value = float(lower_bound_bayes_error(d, M, Delta, n, N))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 64 << 20
    K = np.arange(5001)
    assert stats.binom.sf(5000, n, Delta / d) < 1e-300
    reference = Delta * stats.binom.pmf(K, n, Delta / d) @ lower_bound_prompt_error(M, N * K)
    assert 1e-3 < value / Delta < 0.9  # a regime where the error is far from both 0 and Δ
    assert value == pytest.approx(reference, rel=1e-12)
    # Every hard prompt drawn ~10^11 times: only f(0)·P(K = 0) could remain, and it underflows.
    assert 0.0 <= float(lower_bound_bayes_error(10, 8, 0.5, 10**12, 3)) <= 1e-15
