import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import logsumexp
from strategies import (
    linear_softmax_policies,
    markov_policies,
    prob_tables,
    prob_tables_of_shape,
)

import sharpsim as ss

seeds = st.integers(0, 2**32 - 1)
betas = st.sampled_from([0.25, 1.0, 4.0])

#: Optimality tolerance on a gradient of the weight-normalised objective. The
#: solvers stop at ftol = 1e-15 (relative change), which leaves gradients
#: around sqrt(1e-15) ≈ 3e-8; 1e-5 adds room for finite-difference error.
KKT_TOL = 1e-5


# ----------------------------------------------------------------------------- helpers


def pair_data(base, n, rng):
    """``x ~ uniform``, ``y, y' ~ π_base`` i.i.d., target = log π_base(y) − log π_base(y') (Eq. (2) reward)."""
    x = rng.integers(0, base.n_contexts, n)
    shape = (n, 2) + ((base.horizon,) if hasattr(base, "horizon") else ())
    # (TabularPolicy.sample fails on an empty x, so n = 0 is built directly.)
    y = base.sample(x, 2, rng=rng) if n else np.zeros(shape, dtype=np.int64)
    y, y_ref = y[:, 0], y[:, 1]
    return x, y, y_ref, base.log_prob(x, y) - base.log_prob(x, y_ref)


def brute_log_likelihood(policy, x, y, w):
    total = 0.0
    for xi, yi, wi in zip(x, y, w):
        if wi > 0:
            total += wi * float(policy.log_prob(int(xi), int(yi)))
    return total


def brute_pair_objective(policy, base, x, y, y_ref, target, beta, w, alpha=0.0, loss="squared"):
    """Eq. (4) / Algorithm 1 / Bradley–Terry, one term at a time with Python floats."""
    total = 0.0
    for xi, a, b, t, wi in zip(x, y, y_ref, target, w):
        if wi == 0:
            continue
        la, lb = float(policy.log_prob(int(xi), int(a))), float(policy.log_prob(int(xi), int(b)))
        ra = float(base.log_prob(int(xi), int(a)))
        rb = float(base.log_prob(int(xi), int(b)))
        if loss == "logistic":
            if la == -math.inf:
                return math.inf
            margin = math.inf if lb == -math.inf else beta * (la - ra) - beta * (lb - rb)
            total += wi * float(np.logaddexp(0.0, -margin))
            continue
        if la == -math.inf or lb == -math.inf:
            return math.inf
        total += wi * (beta * (la - ra) - beta * (lb - rb) - t) ** 2 + alpha * wi * lb
    return total


def tilted_log_probs(log_probs, beta):
    """π*_β ∝ π^(1+1/β), computed here independently of the package (Sec. 4.2)."""
    z = (1.0 + 1.0 / beta) * log_probs
    return z - logsumexp(z, axis=1, keepdims=True)


def numerical_gradient(f, point, step=1e-6):
    grad = np.zeros_like(point)
    for i in range(point.size):
        e = np.zeros_like(point)
        e.flat[i] = step
        grad.flat[i] = (f(point + e) - f(point - e)) / (2 * step)
    return grad


def assert_ball_kkt(grad, theta, B, tol=KKT_TOL):
    """First-order conditions of min f over ‖θ‖ ≤ B: ∇f = 0 inside, ∇f = −λθ (λ ≥ 0) on the sphere."""
    norm = np.linalg.norm(theta)
    assert norm <= B * (1 + 1e-9)
    if norm < B * (1 - 1e-7):
        assert np.linalg.norm(grad) <= tol
    else:
        u = theta / norm
        assert np.linalg.norm(grad - (grad @ u) * u) <= tol
        assert grad @ u <= tol


def assert_box_kkt(grad, u, bound, tol=KKT_TOL):
    """First-order conditions of min f over the box [−L, L]^k."""
    inside = np.abs(u) < bound * (1 - 1e-9)
    assert np.all(np.abs(grad[inside]) <= tol)
    assert np.all(grad[u >= bound * (1 - 1e-9)] <= tol)
    assert np.all(grad[u <= -bound * (1 - 1e-9)] >= -tol)


def uniform_in_ball(rng, dim, radius, size):
    z = rng.standard_normal((size, dim))
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    return z * radius * rng.random((size, 1)) ** (1.0 / dim)


def empirical_log_frequencies(x, y, w, n_contexts, n_responses, fallback):
    counts = Counter()
    totals = Counter()
    for xi, yi, wi in zip(x, y, w):
        counts[int(xi), int(yi)] += wi
        totals[int(xi)] += wi
    out = np.array(fallback, dtype=float)
    for xi in range(n_contexts):
        if totals[xi] > 0:
            for yi in range(n_responses):
                c = counts[xi, yi]
                out[xi, yi] = math.log(c / totals[xi]) if c > 0 else -math.inf
    return out


def assert_same_log_probs(actual, expected, atol=1e-12):
    np.testing.assert_array_equal(np.isfinite(actual), np.isfinite(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(actual[finite], expected[finite], atol=atol, rtol=0)


# ----------------------------------------------------------------------------- TabularClass MLE


@st.composite
def tabular_samples(draw, max_contexts=4, max_responses=5, max_n=25):
    n_x, n_y = draw(st.integers(1, max_contexts)), draw(st.integers(1, max_responses))
    n = draw(st.integers(0, max_n))
    x = np.array(draw(st.lists(st.integers(0, n_x - 1), min_size=n, max_size=n)), dtype=np.int64)
    y = np.array(draw(st.lists(st.integers(0, n_y - 1), min_size=n, max_size=n)), dtype=np.int64)
    w = (
        None
        if draw(st.booleans())
        else np.array(draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 3.0]), min_size=n, max_size=n)))
    )
    return n_x, n_y, x, y, w


@given(tabular_samples(), st.data())
def test_tabular_mle_is_the_empirical_frequency(sample, data):
    n_x, n_y, x, y, w = sample
    base = ss.TabularPolicy(data.draw(prob_tables_of_shape(n_x, n_y)))
    weights = np.ones(x.shape[0]) if w is None else w
    for unseen, fallback in (
        ("uniform", np.full((n_x, n_y), -math.log(n_y))),
        ("base", base.log_probs),
    ):
        fit = ss.TabularClass(n_x, n_y, unseen=unseen, base=base).fit_mle(x, y, w)
        assert isinstance(fit, ss.TabularPolicy)
        assert_same_log_probs(
            fit.log_probs, empirical_log_frequencies(x, y, weights, n_x, n_y, fallback)
        )


def test_tabular_integer_weights_equal_repeated_data():
    cls = ss.TabularClass(2, 3)
    a = cls.fit_mle([0, 1, 1], [2, 0, 1], weights=[3, 1, 2])
    b = cls.fit_mle([0, 0, 0, 1, 1, 1], [2, 2, 2, 0, 1, 1])
    np.testing.assert_allclose(a.probs, b.probs, rtol=1e-15)


# ----------------------------------------------------------------------------- FiniteClass


@st.composite
def finite_worlds(draw, max_members=4, max_n=12):
    n_x, n_y = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    k = draw(st.integers(1, max_members))
    members = [ss.TabularPolicy(draw(prob_tables_of_shape(n_x, n_y))) for _ in range(k)]
    if draw(st.booleans()):
        members.append(
            members[draw(st.integers(0, k - 1))]
        )  # an exact duplicate: ties go to the first
    base = ss.TabularPolicy(draw(prob_tables_of_shape(n_x, n_y, allow_zeros=False)))
    rng = np.random.default_rng(draw(seeds))
    x, y, y_ref, target = pair_data(base, draw(st.integers(0, max_n)), rng)
    w = rng.choice([0.0, 0.5, 1.0, 2.0], size=x.shape[0])
    return members, base, x, y, y_ref, target, w


def assert_picks_brute_force_optimum(chosen, members, values, maximise):
    values = np.array(values)
    best = np.max(values) if maximise else np.min(values)
    if np.isinf(best):
        assert (
            chosen is members[0]
            if np.all(values == best)
            else np.isclose(values[members.index(chosen)], best)
        )
        return
    tol = 1e-9 * max(1.0, abs(best))
    near = np.flatnonzero(np.abs(values - best) <= tol)
    assert chosen is members[near[0]] or any(chosen is members[i] for i in near)
    assert abs(values[[i for i, m in enumerate(members) if m is chosen][0]] - best) <= tol


@given(finite_worlds())
def test_finite_mle_is_the_brute_force_likelihood_maximiser(world):
    members, _, x, y, _, _, w = world
    cls = ss.FiniteClass(members)
    chosen = cls.fit_mle(x, y, w)
    brute = [brute_log_likelihood(m, x, y, w) for m in members]
    assert_picks_brute_force_optimum(chosen, members, brute, maximise=True)
    assert not np.any(np.isnan(cls.last_scores_))


@given(
    finite_worlds(), betas, st.sampled_from([0.0, 0.3]), st.sampled_from(["squared", "logistic"])
)
def test_finite_pair_objectives_match_brute_force(world, beta, alpha, loss):
    members, base, x, y, y_ref, target, w = world
    cls = ss.FiniteClass(members)
    if loss == "logistic":
        chosen = cls.fit_logistic_dpo(x, y, y_ref, beta, base, w)
    else:
        chosen = cls.fit_xpo(x, y, y_ref, target, beta, alpha, base, w)
    brute = [
        brute_pair_objective(m, base, x, y, y_ref, target, beta, w, alpha, loss) for m in members
    ]
    assert_picks_brute_force_optimum(chosen, members, brute, maximise=False)
    finite = np.isfinite(brute)
    np.testing.assert_allclose(
        cls.last_scores_[finite], np.array(brute)[finite], rtol=1e-9, atol=1e-9
    )
    np.testing.assert_array_equal(np.isinf(cls.last_scores_), ~finite)


def test_finite_ties_go_to_the_first_member_and_zero_mass_members_lose():
    a = ss.TabularPolicy([[0.5, 0.5, 0.0]])
    b = ss.TabularPolicy([[0.5, 0.5, 0.0]])
    c = ss.TabularPolicy([[0.0, 1.0, 0.0]])
    cls = ss.FiniteClass([c, a, b])
    assert cls.fit_mle([0, 0], [0, 1]) is a
    assert cls.last_scores_[0] == -np.inf
    # Zero weight on the point c cannot explain: c (likelihood 1) now wins.
    assert cls.fit_mle([0, 0], [0, 1], weights=[0.0, 1.0]) is c
    base = ss.TabularPolicy([[0.25, 0.5, 0.25]])
    assert cls.fit_regression([0], [0], [1], [0.0], 1.0, base) is a


def test_finite_class_of_sequence_policies():
    markov = ss.MarkovPolicy([[0.9, 0.1]], [[[[0.9, 0.1], [0.5, 0.5]]]])
    joint = ss.JointAutoregressivePolicy([[0.1, 0.1, 0.1, 0.7]], 2, 2)
    cls = ss.FiniteClass([markov, joint])
    seqs = np.array([[1, 1], [1, 1], [0, 0]])
    chosen = cls.fit_mle([0, 0, 0], seqs)
    brute = [float(np.sum(m.log_prob(0, seqs))) for m in (markov, joint)]
    assert chosen is (markov, joint)[int(np.argmax(brute))]
    assert (
        cls.contains(joint)
        and cls.contains(joint.to_tabular())
        and not cls.contains(ss.TabularPolicy([[0.25] * 4]))
    )


def test_finite_contains_and_log_size():
    members = [ss.TabularPolicy([[0.5, 0.5]]), ss.TabularPolicy([[0.1, 0.9]])]
    cls = ss.FiniteClass(members)
    assert cls.contains(ss.TabularPolicy([[0.1 + 1e-12, 0.9 - 1e-12]]), atol=1e-9)
    assert not cls.contains(ss.TabularPolicy([[0.2, 0.8]]))
    assert (
        cls.log_size == pytest.approx(math.log(2)) and cls.log_covering_number(0.1) == cls.log_size
    )


# ----------------------------------------------------------------------------- LinearSoftmaxClass: MLE


def linear_objective_gradient(pi, x, y, w):
    """∇_θ Σ_i w_i log π_θ(y_i|x_i) = Σ_i w_i (φ(x_i, y_i) − E_{π_θ(·|x_i)} φ)."""
    phi = pi.features
    mean = np.einsum("ny,nyd->nd", pi.probs[x], phi[x])
    return (w[:, None] * (phi[x, y] - mean)).sum(axis=0)


@settings(max_examples=30)
@given(linear_softmax_policies(), seeds, st.sampled_from([0.5, 2.0, 50.0]), st.booleans())
def test_linear_mle_satisfies_the_kkt_conditions(base, seed, B, weighted):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, base.n_contexts, 40)
    y = base.sample(x, 1, rng=rng)[:, 0]
    w = rng.choice([0.0, 1.0, 2.5], size=40) if weighted else np.ones(40)
    cls = ss.LinearSoftmaxClass(base.features, B)
    fit = cls.fit_mle(x, y, w)
    assert isinstance(fit, ss.LinearSoftmaxPolicy) and fit.B == B
    grad = -linear_objective_gradient(fit, x, y, w) / max(
        w.sum(), 1e-300
    )  # of the minimised −loglik/W
    assert_ball_kkt(grad, fit.theta, B)


def test_linear_mle_is_consistent():
    """Wilks: 2n·KL_μ(π_θ* ‖ π_θ̂) → χ²_d for the well-specified MLE; checked at the 99.9% quantile."""
    rng = np.random.default_rng(11)
    X, Y, d, n = 4, 6, 3, 20_000
    phi = rng.standard_normal((X, Y, d))
    phi /= np.linalg.norm(phi, axis=-1, keepdims=True)
    truth = ss.LinearSoftmaxPolicy(phi, [1.0, -0.5, 0.8])
    x = rng.integers(0, X, n)
    y = truth.sample(x, 1, rng=rng)[:, 0]
    fit = ss.LinearSoftmaxClass(phi, B=10.0).fit_mle(x, y)
    kl = np.mean(np.sum(truth.probs * (truth.log_probs - fit.log_probs), axis=1))
    assert 2 * n * kl <= stats.chi2.ppf(0.999, d)


# ----------------------------------------------------------------------------- LinearSoftmaxClass: DPO regression


@settings(max_examples=40)
@given(linear_softmax_policies(max_norm=2.0, allow_tiny=False), seeds, betas, st.integers(1, 30))
def test_linear_dpo_recovers_tilted_theta_on_the_span(base, seed, beta, n):
    """Eq. (4) with r = log π_base: θ̂ = (1 + 1/β)·θ_base projected on span{φ(x,y) − φ(x,y')}."""
    x, y, y_ref, target = pair_data(base, n, np.random.default_rng(seed))
    goal = (1 + 1 / beta) * base.theta
    B = np.linalg.norm(goal) + 1.0
    fit = ss.LinearSoftmaxClass(base.features, B).fit_regression(x, y, y_ref, target, beta, base)
    diff = base.features[x, y] - base.features[x, y_ref]
    _, s, vt = np.linalg.svd(diff, full_matrices=False)
    keep = s > s.max(initial=0.0) * max(diff.shape) * np.finfo(float).eps
    span = vt[keep]
    # Least-squares perturbation bound: error ≲ κ·ε_mach·‖θ‖ (κ the condition number), ×1e3 slack.
    kappa = s[keep].max() / s[keep].min() if keep.any() else 1.0
    tol = (
        1e3
        * kappa
        * np.finfo(float).eps
        * max(1.0, np.linalg.norm(goal))
        * (1 + np.abs(target).max(initial=0))
    )
    np.testing.assert_allclose(span @ fit.theta, span @ goal, atol=tol)
    np.testing.assert_allclose(
        fit.theta, span.T @ (span @ fit.theta), atol=tol
    )  # nothing off the span


def test_linear_dpo_is_the_tilted_model_when_differences_span():
    rng = np.random.default_rng(3)
    phi = rng.standard_normal((3, 6, 4))
    phi /= np.linalg.norm(phi, axis=-1, keepdims=True)
    base = ss.LinearSoftmaxPolicy(phi, [0.7, -0.3, 0.2, 0.5])
    x, y, y_ref, target = pair_data(base, 400, rng)
    beta = 0.5
    fit = ss.LinearSoftmaxClass(phi, B=10.0).fit_regression(x, y, y_ref, target, beta, base)
    np.testing.assert_allclose(fit.theta, 3.0 * base.theta, rtol=1e-10)
    np.testing.assert_allclose(fit.log_probs, tilted_log_probs(base.log_probs, beta), atol=1e-10)


@settings(max_examples=30)
@given(linear_softmax_policies(max_norm=2.0, allow_tiny=False), seeds, betas)
def test_linear_dpo_with_an_active_bound_is_optimal_in_the_ball(base, seed, beta):
    rng = np.random.default_rng(seed)
    x, y, y_ref, target = pair_data(base, 25, rng)
    B = 0.3
    cls = ss.LinearSoftmaxClass(base.features, B)
    fit = cls.fit_regression(x, y, y_ref, target, beta, base)
    diff = base.features[x, y] - base.features[x, y_ref]
    offset = target + beta * (base.log_prob(x, y) - base.log_prob(x, y_ref))
    grad = 2 * beta * diff.T @ (beta * diff @ fit.theta - offset) / len(x)
    assert_ball_kkt(grad, fit.theta, B, tol=1e-9)
    value = cls.objective(fit, x, y, y_ref, target, beta, base)
    for theta in uniform_in_ball(rng, base.dim, B, 100):
        assert value <= cls.objective(cls.policy(theta), x, y, y_ref, target, beta, base) + 1e-12


# ----------------------------------------------------------------------------- LinearSoftmaxClass: XPO, logistic


@settings(max_examples=15)
@given(
    linear_softmax_policies(max_norm=1.5, max_responses=8, allow_tiny=False),
    seeds,
    betas,
    st.sampled_from([0.05, 1.0]),
    st.sampled_from([0.5, 3.0]),
)
def test_linear_xpo_is_a_kkt_point_better_than_random_feasible_points(base, seed, beta, alpha, B):
    rng = np.random.default_rng(seed)
    x, y, y_ref, target = pair_data(base, 30, rng)
    cls = ss.LinearSoftmaxClass(base.features, B, random_state=0)
    fit = cls.fit_xpo(x, y, y_ref, target, beta, alpha, base)

    def objective(theta):  # defined on all of R^d, so finite differences may step past the sphere
        pi = ss.LinearSoftmaxPolicy(base.features, theta)
        return cls.objective(pi, x, y, y_ref, target, beta, base, alpha=alpha) / len(x)

    assert_ball_kkt(numerical_gradient(objective, fit.theta), fit.theta, B)
    value = objective(fit.theta)
    regression = cls.fit_regression(x, y, y_ref, target, beta, base)
    candidates = [np.zeros(base.dim), regression.theta, *uniform_in_ball(rng, base.dim, B, 100)]
    assert all(value <= objective(t) + 1e-10 for t in candidates)


@settings(max_examples=20)
@given(
    linear_softmax_policies(max_norm=2.0, allow_tiny=False),
    seeds,
    betas,
    st.sampled_from([0.5, 5.0]),
)
def test_linear_logistic_dpo_satisfies_the_kkt_conditions(base, seed, beta, B):
    rng = np.random.default_rng(seed)
    x, win, lose, _ = pair_data(base, 30, rng)
    cls = ss.LinearSoftmaxClass(base.features, B)
    fit = cls.fit_logistic_dpo(x, win, lose, beta, base)
    diff = base.features[x, win] - base.features[x, lose]
    margin = beta * diff @ fit.theta - beta * (base.log_prob(x, win) - base.log_prob(x, lose))
    grad = -(beta * diff * stats.logistic.cdf(-margin)[:, None]).sum(axis=0) / len(x)
    assert_ball_kkt(grad, fit.theta, B)


def test_linear_contains_and_covering_number():
    phi = np.eye(3)[None] * 0.5
    cls = ss.LinearSoftmaxClass(phi, B=2.0)
    assert cls.contains(cls.policy([1.0, 0.5, -1.0]))
    assert not cls.contains(
        ss.LinearSoftmaxPolicy(phi, [3.0, 0.0, 0.0])
    )  # representable, but ‖θ‖ > B
    assert not cls.contains(ss.TabularPolicy([[0.5, 0.5, 0.0]]))  # zero mass
    wide = np.concatenate([phi, np.zeros((1, 1, 3))], axis=1)  # 4 responses, d = 3, last is φ = 0
    narrow = ss.LinearSoftmaxClass(
        wide[:, :, :1], B=5.0
    )  # only e_1: cannot tell responses 1, 2, 3 apart
    assert not narrow.contains(ss.TabularPolicy([[0.4, 0.3, 0.2, 0.1]]))
    assert cls.log_covering_number(0.1) == pytest.approx(3 * math.log(120.0))


@given(linear_softmax_policies(max_norm=2.0), st.booleans())
def test_linear_contains_its_members(pi, bounded):
    B = max(np.linalg.norm(pi.theta), 1e-3) * (1.0 if bounded else 2.0)
    assert ss.LinearSoftmaxClass(pi.features, B).contains(pi, atol=1e-9)


def test_ball_least_squares_on_the_sphere_up_to_an_ulp():
    """‖θ_ls‖ = radius up to rounding: `c/s` and `s·c/s²` rounded to either side of the radius made
    Brent's bracket [0, λ_hi] sign-less (ValueError, found by hypothesis); θ_ls is the answer there."""
    from sharpsim.classes.linear import _ball_constrained_least_squares

    A = np.array(
        [
            [0.5864160503153619, -0.1897131286245507],
            [-0.005123296561200419, 0.71436814497064],
            [-0.4994195893919625, -0.5432434132695985],
            [-0.08187316436219894, 0.018588396923509026],
            [0.14274879205644297, -0.04648447541802424],
            [0.14651100213465418, -0.032749814380679865],
            [-0.14462989709541368, 0.039617144899833506],
            [-0.14462989709568352, 0.0396171448988706],
            [-0.08541711246305356, 0.23214466591954888],
            [0.20626083767523629, 0.302315695576561],
            [-0.035426612748293645, -0.7666050274162082],
            [-0.08541711246388912, 0.23214466592009828],
        ]
    )
    b = np.array(
        [
            0.5141741676507008,
            -0.5614039716641568,
            0.11284485191908078,
            -0.06561504790562478,
            0.1254003363049092,
            0.11701575366510464,
            -0.1212080449852988,
            -0.12120804498471482,
            -0.2346993003848481,
            -0.10751949647028614,
            0.5769180972409335,
            -0.2346993003857989,
        ]
    )
    theta = _ball_constrained_least_squares(A, b, 0.99999)
    np.testing.assert_allclose(theta, np.linalg.lstsq(A, b, rcond=None)[0], rtol=1e-12)
    assert np.linalg.norm(theta) <= 0.99999 * (1 + 1e-12)


# ----------------------------------------------------------------------------- TabularClass: pair objectives


def tabular_box_objective(cls, anchor, pairs, alpha=0.0, loss="squared"):
    """The solver's objective in u: weight-normalised objective plus ridge·β²·‖u‖²."""
    x, y, y_ref, target, beta, base = pairs

    def f(u):
        pi = ss.TabularPolicy.from_logits(anchor + u.reshape(anchor.shape))
        if loss == "logistic":
            value = brute_pair_objective(
                pi, base, x, y, y_ref, target, beta, np.ones(len(x)), loss="logistic"
            )
        else:
            value = cls.objective(pi, x, y, y_ref, target, beta, base, alpha=alpha)
        return value / len(x) + cls.ridge * beta**2 * float(u @ u)

    return f


@settings(max_examples=40)
@given(prob_tables(max_contexts=3, max_responses=5), seeds, betas, st.integers(0, 12))
def test_tabular_dpo_fits_every_pair_and_keeps_the_rest_at_the_anchor(probs, seed, beta, n):
    base = ss.TabularPolicy(probs)
    x, y, y_ref, target = pair_data(base, n, np.random.default_rng(seed))
    cls = ss.TabularClass(*probs.shape)
    fit = cls.fit_regression(x, y, y_ref, target, beta, base)
    if np.abs(cls.params_).max(initial=0) < cls.logit_bound:
        assert cls.solver_info_ is None  # solved exactly
        np.testing.assert_allclose(
            fit.log_prob(x, y) - fit.log_prob(x, y_ref),
            (1 + 1 / beta) * target,
            atol=1e-9 * (1 + np.abs(target).max(initial=0)) / beta,
        )
    touched = np.zeros(probs.shape, dtype=bool)
    touched[x, y] = touched[x, y_ref] = True
    assert np.all(np.abs(cls.params_[~touched]) <= 1e-12)  # never compared: anchor logits
    unseen = ~np.isin(np.arange(probs.shape[0]), x)
    np.testing.assert_allclose(fit.probs[unseen], 1.0 / probs.shape[1], rtol=1e-12)


def test_tabular_dpo_is_the_tilted_model_when_every_pair_is_compared():
    probs = np.array([[0.5, 0.3, 0.15, 0.05], [0.1, 0.2, 0.3, 0.4]])
    base = ss.TabularPolicy(probs)
    x, y, y_ref = (
        a.ravel() for a in np.meshgrid(np.arange(2), np.arange(4), np.arange(4), indexing="ij")
    )
    target = base.log_prob(x, y) - base.log_prob(x, y_ref)
    for unseen in ("uniform", "base"):
        fit = ss.TabularClass(2, 4, unseen=unseen, base=base).fit_regression(
            x, y, y_ref, target, 0.25, base
        )
        np.testing.assert_allclose(
            fit.log_probs, tilted_log_probs(base.log_probs, 0.25), atol=1e-10
        )


@settings(max_examples=20)
@given(prob_tables(max_contexts=3, max_responses=5, allow_zeros=False), seeds, betas)
def test_tabular_iterative_regression_agrees_with_the_exact_solution(probs, seed, beta):
    """The L-BFGS-B path (used past the dense-size limit) against the exact pseudo-inverse path."""
    base = ss.TabularPolicy(probs)
    x, y, y_ref, target = pair_data(base, 15, np.random.default_rng(seed))
    exact_cls = ss.TabularClass(*probs.shape)
    exact = exact_cls.fit_regression(x, y, y_ref, target, beta, base)
    if np.abs(exact_cls.params_).max(initial=0) >= exact_cls.logit_bound:
        return  # the box is active: there is no closed form to compare with
    iterative_cls = ss.TabularClass(*probs.shape)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sharpsim.classes.tabular._EXACT_REGRESSION_ENTRIES", 0)
        iterative = iterative_cls.fit_regression(x, y, y_ref, target, beta, base)
    assert iterative_cls.solver_info_ is not None
    # Ridge bias ≈ ridge/2 relative (1e-10) plus the solver's stopping tolerance on the logits.
    np.testing.assert_allclose(iterative_cls.params_, exact_cls.params_, atol=1e-5)
    np.testing.assert_allclose(iterative.log_probs, exact.log_probs, atol=1e-5)


def test_tabular_base_anchor_keeps_uncompared_responses_at_base_ratios():
    probs = np.array([[0.4, 0.3, 0.2, 0.1, 0.0]])
    base = ss.TabularPolicy(probs)
    cls = ss.TabularClass(1, 5, unseen="base", base=base)
    fit = cls.fit_regression([0], [0], [1], [math.log(4 / 3)], 1.0, base)
    assert fit.probs[0, 4] == 0.0
    assert fit.log_probs[0, 2] - fit.log_probs[0, 3] == pytest.approx(math.log(2.0), abs=1e-12)
    assert fit.log_probs[0, 0] - fit.log_probs[0, 1] == pytest.approx(
        2 * math.log(4 / 3), abs=1e-12
    )


@settings(max_examples=20)
@given(prob_tables_of_shape(2, 4, allow_zeros=False), seeds, betas)
def test_tabular_dpo_with_an_active_box_is_a_kkt_point(probs, seed, beta):
    base = ss.TabularPolicy(probs)
    x, y, y_ref, target = pair_data(base, 10, np.random.default_rng(seed))
    target = target + 3.0 * np.sign(y - y_ref)  # push the fit against the box
    cls = ss.TabularClass(2, 4, logit_bound=0.5)
    cls.fit_regression(x, y, y_ref, target, beta, base)
    u = cls.params_
    assert np.all(np.abs(u) <= 0.5)
    f = tabular_box_objective(cls, cls.anchor_log_probs, (x, y, y_ref, target, beta, base))
    assert_box_kkt(numerical_gradient(f, u.ravel()), u.ravel(), 0.5)


@settings(max_examples=20)
@given(
    prob_tables_of_shape(2, 4, allow_zeros=False),
    seeds,
    betas,
    st.sampled_from([0.05, 1.0]),
    st.sampled_from([2.0, 50.0]),
    st.sampled_from(["uniform", "base"]),
)
def test_tabular_xpo_is_a_kkt_point_better_than_random_box_points(
    probs, seed, beta, alpha, bound, unseen
):
    base = ss.TabularPolicy(probs)
    rng = np.random.default_rng(seed)
    x, y, y_ref, target = pair_data(base, 12, rng)
    cls = ss.TabularClass(2, 4, unseen=unseen, base=base, logit_bound=bound, random_state=1)
    fit = cls.fit_xpo(x, y, y_ref, target, beta, alpha, base)
    u = cls.params_.ravel()
    f = tabular_box_objective(
        cls, cls.anchor_log_probs, (x, y, y_ref, target, beta, base), alpha=alpha
    )
    assert_box_kkt(numerical_gradient(f, u), u, bound)  # f is defined past the box too
    value = cls.objective(fit, x, y, y_ref, target, beta, base, alpha=alpha)
    regression = cls.fit_regression(x, y, y_ref, target, beta, base)
    others = [regression] + [
        ss.TabularPolicy.from_logits(cls.anchor_log_probs + rng.uniform(-bound, bound, (2, 4)))
        for _ in range(100)
    ]
    scale = 1 + abs(value)
    assert all(
        value <= cls.objective(p, x, y, y_ref, target, beta, base, alpha=alpha) + 1e-7 * scale
        for p in others
    )


@settings(max_examples=15)
@given(prob_tables_of_shape(2, 3, allow_zeros=False), seeds, betas)
def test_tabular_logistic_dpo_is_a_kkt_point(probs, seed, beta):
    base = ss.TabularPolicy(probs)
    x, win, lose, _ = pair_data(base, 10, np.random.default_rng(seed))
    cls = ss.TabularClass(2, 3, logit_bound=5.0)
    cls.fit_logistic_dpo(x, win, lose, beta, base)
    u = cls.params_.ravel()
    f = tabular_box_objective(
        cls, cls.anchor_log_probs, (x, win, lose, np.zeros(len(x)), beta, base), loss="logistic"
    )
    assert_box_kkt(numerical_gradient(f, u), u, 5.0)


def test_tabular_xpo_accepts_a_warm_start():
    base = ss.TabularPolicy([[0.5, 0.3, 0.2]])
    x, y, y_ref, target = pair_data(base, 8, np.random.default_rng(0))
    cls = ss.TabularClass(1, 3, random_state=0)
    first = cls.fit_xpo(x, y, y_ref, target, 0.5, 0.1, base)
    again = cls.fit_xpo(x, y, y_ref, target, 0.5, 0.1, base, init=first)
    assert (
        cls.objective(again, x, y, y_ref, target, 0.5, base, alpha=0.1)
        <= cls.objective(first, x, y, y_ref, target, 0.5, base, alpha=0.1) + 1e-9
    )


def test_contains_tabular():
    cls = ss.TabularClass(1, 2)
    assert cls.contains(ss.TabularPolicy([[1.0, 0.0]])) and not cls.contains(
        ss.TabularPolicy([[1.0, 0.0, 0.0]])
    )


# ----------------------------------------------------------------------------- autoregressive classes


@st.composite
def sequence_samples(draw, max_contexts=2, max_vocab=3, max_horizon=3, max_n=20):
    n_x, vocab, horizon = (
        draw(st.integers(1, max_contexts)),
        draw(st.integers(1, max_vocab)),
        draw(st.integers(1, max_horizon)),
    )
    n = draw(st.integers(0, max_n))
    x = np.array(draw(st.lists(st.integers(0, n_x - 1), min_size=n, max_size=n)), dtype=np.int64)
    seqs = np.array(
        draw(
            st.lists(
                st.lists(st.integers(0, vocab - 1), min_size=horizon, max_size=horizon),
                min_size=n,
                max_size=n,
            )
        ),
        dtype=np.int64,
    ).reshape(n, horizon)
    w = np.array(draw(st.lists(st.sampled_from([0.0, 1.0, 2.0]), min_size=n, max_size=n)))
    return n_x, vocab, horizon, x, seqs, w


@given(sequence_samples())
def test_prefix_tree_mle_is_the_empirical_joint(sample):
    n_x, vocab, horizon, x, seqs, w = sample
    fit = ss.PrefixTreeClass(n_x, vocab, horizon).fit_mle(x, seqs, w)
    assert isinstance(fit, ss.JointAutoregressivePolicy)
    codes = ss.encode_sequences(seqs, vocab) if len(seqs) else np.zeros(0, np.int64)
    fallback = np.full((n_x, vocab**horizon), -horizon * math.log(vocab))
    expected = empirical_log_frequencies(x, codes, w, n_x, vocab**horizon, fallback)
    assert_same_log_probs(fit.to_tabular().log_probs, expected, atol=1e-12)


@given(sequence_samples(), st.data())
def test_markov_mle_is_the_empirical_transition_frequency(sample, data):
    n_x, vocab, horizon, x, seqs, w = sample
    for unseen in ("uniform", "base"):
        base = (
            data.draw(
                markov_policies(max_contexts=n_x, max_vocab=vocab, max_horizon=horizon).filter(
                    lambda p: (p.n_contexts, p.vocab_size, p.horizon) == (n_x, vocab, horizon)
                )
            )
            if unseen == "base"
            else None
        )
        fit = ss.MarkovClass(n_x, vocab, horizon, unseen=unseen, base=base).fit_mle(x, seqs, w)
        first_fallback = base.initial if base is not None else np.full((n_x, vocab), 1 / vocab)
        with np.errstate(divide="ignore"):
            expected_first = empirical_log_frequencies(
                x, seqs[:, 0], w, n_x, vocab, np.log(first_fallback)
            )
            assert_same_log_probs(np.log(fit.initial), expected_first)
        for h in range(horizon - 1):
            for prev in range(vocab):
                at = seqs[:, h] == prev
                fallback = (
                    base.transition[:, h, prev]
                    if base is not None
                    else np.full((n_x, vocab), 1 / vocab)
                )
                with np.errstate(divide="ignore"):
                    expected = empirical_log_frequencies(
                        x[at], seqs[at, h + 1], w[at], n_x, vocab, np.log(fallback)
                    )
                    assert_same_log_probs(np.log(fit.transition[:, h, prev]), expected)


def non_markov_joint():
    """000: 1/2, 101: 1/4, 011: 1/4 — token 3 depends on token 1, not only on token 2."""
    joint = np.zeros(8)
    joint[[0b000, 0b101, 0b011]] = [0.5, 0.25, 0.25]
    return ss.JointAutoregressivePolicy(joint[None], 2, 3)


def test_markov_class_cannot_reach_the_mode_mass_of_a_non_markov_joint():
    """Representational gap (cf. Prop. E.2): exact population MLE (weights = the joint's probabilities).

    The Markov fit gives the mode 000 mass p(0)·P(0|0)·P(0|0) = (3/4)(2/3)(2/3) = 1/3 < 1/2,
    while the prefix-tree class recovers the joint and its mode mass 1/2.
    """
    joint = non_markov_joint()
    seqs = ss.all_sequences(2, 3)
    x = np.zeros(8, dtype=np.int64)
    weights = joint.to_tabular().probs[0]
    markov = ss.MarkovClass(1, 2, 3).fit_mle(x, seqs, weights)
    tree = ss.PrefixTreeClass(1, 2, 3).fit_mle(x, seqs, weights)
    assert float(np.exp(markov.log_prob(0, [0, 0, 0]))) == pytest.approx(1 / 3, rel=1e-12)
    assert float(np.exp(tree.log_prob(0, [0, 0, 0]))) == pytest.approx(1 / 2, rel=1e-12)
    assert not ss.MarkovClass(1, 2, 3).contains(joint)
    assert ss.PrefixTreeClass(1, 2, 3).contains(joint) and ss.MarkovClass(1, 2, 3).contains(markov)


@given(markov_policies())
def test_markov_class_contains_every_markov_policy(pi):
    assert ss.MarkovClass(pi.n_contexts, pi.vocab_size, pi.horizon).contains(pi)
    assert ss.PrefixTreeClass(pi.n_contexts, pi.vocab_size, pi.horizon).contains(pi)


def test_markov_dpo_regression_fits_a_realizable_target():
    """π_base Markov ⇒ π*_β ∝ π_base^(1+1/β) is Markov, so the regression optimum is 0 (Eq. (4))."""
    rng = np.random.default_rng(5)
    base = ss.MarkovPolicy(
        rng.dirichlet(np.ones(3), size=2), rng.dirichlet(np.ones(3), size=(2, 2, 3))
    )
    x, y, y_ref, target = pair_data(base, 60, rng)
    cls = ss.MarkovClass(2, 3, 3, random_state=0, n_restarts=0)
    fit = cls.fit_regression(x, y, y_ref, target, 0.5, base)
    assert isinstance(fit, ss.MarkovPolicy)
    assert cls.objective(fit, x, y, y_ref, target, 0.5, base) / len(x) <= 1e-8
    xpo = cls.fit_xpo(x, y, y_ref, target, 0.5, 0.1, base, init=fit)
    value = cls.objective(xpo, x, y, y_ref, target, 0.5, base, alpha=0.1)
    assert value <= cls.objective(fit, x, y, y_ref, target, 0.5, base, alpha=0.1) + 1e-9
    assert value <= cls.objective(base, x, y, y_ref, target, 0.5, base, alpha=0.1) + 1e-9


def test_prefix_tree_pair_fits_match_the_tabular_class_on_encoded_sequences():
    joint = non_markov_joint()
    rng = np.random.default_rng(2)
    x, y, y_ref, target = pair_data(joint, 15, rng)
    tree = ss.PrefixTreeClass(1, 2, 3).fit_regression(x, y, y_ref, target, 0.5, joint)
    table = joint.to_tabular()
    flat = ss.TabularClass(1, 8).fit_regression(
        x, ss.encode_sequences(y, 2), ss.encode_sequences(y_ref, 2), target, 0.5, table
    )
    assert_same_log_probs(tree.to_tabular().log_probs, flat.log_probs, atol=1e-10)
    tree_logistic = ss.PrefixTreeClass(1, 2, 3).fit_logistic_dpo(x, y, y_ref, 0.5, joint)
    assert isinstance(tree_logistic, ss.JointAutoregressivePolicy)


# ----------------------------------------------------------------------------- bad inputs


BASE = ss.TabularPolicy([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda c: c.fit_mle([0, 1], [0]), ValueError, r"y must have shape \(2,\)"),
        (lambda c: c.fit_mle([[0, 1]], [0, 1]), ValueError, "x must be 1-d"),
        (lambda c: c.fit_mle([0, 2], [0, 1]), ValueError, r"x entries must be in \[0, 2\)"),
        (lambda c: c.fit_mle([0, 1], [0, 3]), ValueError, r"y entries must be in \[0, 3\)"),
        (lambda c: c.fit_mle([0.0], [0]), TypeError, "x must be an integer array"),
        (
            lambda c: c.fit_mle([0, 1], [0, 1], weights=[1.0, -1.0]),
            ValueError,
            "weights must be non-negative",
        ),
        (
            lambda c: c.fit_mle([0, 1], [0, 1], weights=[1.0]),
            ValueError,
            r"weights must have shape \(2,\)",
        ),
        (
            lambda c: c.fit_mle([0, 1], [0, 1], weights=[1.0, np.nan]),
            ValueError,
            "weights must be finite",
        ),
        (lambda c: c.fit_mle([0], [0], weights=["a"]), TypeError, "weights must be a real array"),
        (
            lambda c: c.fit_regression([1], [0], [1], [0.0], 0.0, BASE),
            ValueError,
            r"beta must be in \(0",
        ),
        (lambda c: c.fit_regression([1], [0], [1], [0.0], -1.0, BASE), ValueError, "beta"),
        (
            lambda c: c.fit_regression([1], [0], [1], [np.nan], 1.0, BASE),
            ValueError,
            "target must be finite",
        ),
        (
            lambda c: c.fit_regression([1], [0], [1], [0.0, 1.0], 1.0, BASE),
            ValueError,
            r"target must have shape",
        ),
        (
            lambda c: c.fit_regression([1], [0], [1, 2], [0.0], 1.0, BASE),
            ValueError,
            r"y_ref must have shape",
        ),
        (
            lambda c: c.fit_regression([0], [0], [2], [0.0], 1.0, BASE),
            ValueError,
            "base must give every y_ref",
        ),
        (
            lambda c: c.fit_regression([0], [0], [1], [0.0], 1.0, ss.TabularPolicy([[1.0, 0, 0]])),
            ValueError,
            "base has n_contexts=1",
        ),
        (
            lambda c: c.fit_regression([0], [0], [1], [0.0], 1.0, "base"),
            TypeError,
            "base must be a policy",
        ),
        (
            lambda c: c.fit_regression([0], [0], [1], [0.0], 1.0, ([0.0], [0.0, 1.0])),
            ValueError,
            "base log-likelihoods of y_ref",
        ),
        (
            lambda c: c.fit_xpo([1], [0], [1], [0.0], 1.0, -0.1, BASE),
            ValueError,
            "alpha must be in",
        ),
        (
            lambda c: c.fit_logistic_dpo([0], [2], [1], 1.0, BASE),
            ValueError,
            "base must give every y_win",
        ),
        (lambda c: c.contains(BASE, atol=-1.0), ValueError, "atol"),
    ],
)
@pytest.mark.parametrize(
    "make",
    [
        lambda: ss.TabularClass(2, 3),
        lambda: ss.FiniteClass([BASE]),
        lambda: ss.LinearSoftmaxClass(np.eye(3)[None].repeat(2, axis=0) * 0.5, B=1.0),
    ],
)
def test_bad_inputs_raise_naming_the_argument(make, call, error, match):
    with pytest.raises(error, match=match):
        call(make())


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: ss.TabularClass(0, 3), ValueError, "n_contexts must be >= 1"),
        (lambda: ss.TabularClass(2, 3, unseen="zero"), ValueError, "unseen must be one of"),
        (lambda: ss.TabularClass(2, 3, unseen="base"), ValueError, "base is required"),
        (
            lambda: ss.TabularClass(2, 2, unseen="base", base=BASE),
            ValueError,
            r"base must have shape \(2, 2\)",
        ),
        (lambda: ss.TabularClass(2, 3, logit_bound=0.0), ValueError, "logit_bound"),
        (lambda: ss.TabularClass(2, 3, ridge=-1.0), ValueError, "ridge"),
        (lambda: ss.TabularClass(2, 3, random_state="x"), TypeError, "rng"),
        (lambda: ss.FiniteClass([]), ValueError, "at least one policy"),
        (lambda: ss.FiniteClass(BASE), TypeError, "sequence of policies"),
        (lambda: ss.FiniteClass([BASE, "policy"]), TypeError, r"policies\[1\] must be a policy"),
        (
            lambda: ss.FiniteClass([BASE, ss.TabularPolicy([[1.0, 0.0]])]),
            ValueError,
            r"policies\[1\] has a different",
        ),
        (lambda: ss.LinearSoftmaxClass([[[1.0, 1.0]]], B=1.0), ValueError, "features.*norm"),
        (lambda: ss.LinearSoftmaxClass([[[0.5, 0.5]]], B=0.0), ValueError, r"B must be in \(0"),
        (lambda: ss.LinearSoftmaxClass([[[0.5, 0.5]]], B=-2.0), ValueError, r"B must be in \(0"),
        (
            lambda: ss.LinearSoftmaxClass([[[0.5, 0.5]]], B=None),
            TypeError,
            "B must be a real number",
        ),
        (lambda: ss.MarkovClass(1, 2, 2, unseen="base"), ValueError, "base is required"),
        (lambda: ss.MarkovClass(1, 2, 2, base=BASE), TypeError, "base must be a MarkovPolicy"),
        (lambda: ss.PrefixTreeClass(1, 2, 40), ValueError, "MAX_ENUMERATION"),
    ],
)
def test_bad_constructor_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_bad_sequence_inputs():
    cls = ss.MarkovClass(1, 2, 3)
    with pytest.raises(ValueError, match=r"y must have shape \(2, 3\)"):
        cls.fit_mle([0, 0], [[0, 1], [1, 1]])
    with pytest.raises(ValueError, match=r"y entries must be in \[0, 2\)"):
        cls.fit_mle([0], [[0, 1, 2]])
    with pytest.raises(TypeError, match="init must be a MarkovPolicy"):
        cls.fit_xpo([0], [[0, 1, 1]], [[0, 0, 0]], [0.0], 1.0, 0.1, non_markov_joint(), init=BASE)
    lin = ss.LinearSoftmaxClass(np.eye(2)[None] * 0.5, B=1.0)
    with pytest.raises(TypeError, match="init must be a LinearSoftmaxPolicy"):
        lin.fit_xpo([0], [0], [1], [0.0], 1.0, 0.1, ss.TabularPolicy([[0.5, 0.5]]), init=BASE)


@pytest.mark.parametrize("beta", [1e-150, 1e-200, 1e-290])
def test_linear_regression_tiny_beta_no_overflow(beta):
    """Tiny β (SPEC §5): the DPO regression's boundary solution is scale-free in β, computed without overflow."""
    import warnings

    phi = np.eye(3)[None] * 0.5
    cls = ss.LinearSoftmaxClass(phi, B=10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        theta = cls.fit_regression(
            [0, 0], [0, 1], [1, 2], [1.0, 1.0], beta, cls.policy([0.0, 0.0, 0.0])
        ).theta
    # Least squares wants θ_0 − θ_1 = θ_1 − θ_2 = 2/β → ∞: the solution is the sphere point along (1, 0, −1).
    np.testing.assert_allclose(theta, 10.0 * np.array([1.0, 0.0, -1.0]) / math.sqrt(2.0), atol=1e-9)


def test_huge_weights_do_not_overflow_the_fits():
    """Every fit is invariant to rescaling the weights; weights near the float maximum must not overflow."""
    import warnings

    a, b = ss.TabularPolicy([[0.5, 0.25, 0.25]]), ss.TabularPolicy([[0.2, 0.4, 0.4]])
    big = [1e308, 1e308]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ss.FiniteClass([a, b]).fit_mle([0, 0], [1, 2], weights=big) is b
        # Residuals 1.5 (a) and 2.89 (b): both weighted squares overflow unless the weights are rescaled.
        assert (
            ss.FiniteClass([b, a]).fit_regression(
                [0, 0], [0, 0], [1, 1], [1.5, 1.5], 1.0, a, weights=big
            )
            is a
        )
        np.testing.assert_allclose(
            ss.TabularClass(1, 3).fit_mle([0, 0], [1, 2], weights=big).probs, [[0, 0.5, 0.5]]
        )
        markov = ss.MarkovClass(1, 2, 2).fit_mle([0, 0], [[0, 1], [1, 1]], weights=big)
        np.testing.assert_allclose(markov.initial, [[0.5, 0.5]])
        lin = ss.LinearSoftmaxClass(np.eye(3)[None] * 0.5, B=10.0)
        np.testing.assert_allclose(
            lin.fit_mle([0, 0], [1, 2], weights=big).probs,
            lin.fit_mle([0, 0], [1, 2]).probs,
            atol=1e-6,
        )


# ----------------------------------------------------------------------------- analytic gradients (issue 8)
# Every iterative pair / XPO / MLE solver minimises an objective with an analytic
# gradient; each is checked here against the package-independent brute-force value
# and against central finite differences. Central differences with step h have
# truncation error O(h²·|f'''|) and rounding error O(ε·|f|/h); with h = 1e-5 on
# objectives and derivatives of order 1 both are below 1e-8, so 1e-6 leaves room.

from sharpsim.classes._ball_newton import ball_trust_region, minimise_in_ball  # noqa: E402
from sharpsim.classes._linear_objective import _LinearObjective, dominant_starts  # noqa: E402
from sharpsim.classes._pairs import _check_weights  # noqa: E402
from sharpsim.classes._row_softmax import _BoxProblem, _RowSoftmax  # noqa: E402

FD_STEP, FD_TOL = 1e-5, 1e-6


def _linear_pairs(base, n, rng, beta, alpha, loss):
    x, y, y_ref, target = pair_data(base, n, rng)
    w = rng.uniform(0.0, 2.0, n)
    cls = ss.LinearSoftmaxClass(base.features, B=5.0)
    pairs = cls._check_pairs(
        x, y, y_ref, None if loss == "logistic" else target, beta, alpha, base, w, loss
    )
    return cls, pairs


@settings(max_examples=40)
@given(
    linear_softmax_policies(max_norm=2.0, allow_tiny=False),
    seeds,
    betas,
    st.sampled_from([0.0, 0.3]),
    st.sampled_from(["squared", "logistic"]),
    st.integers(0, 12),
)
def test_linear_pair_objective_value_gradient_and_hessian(base, seed, beta, alpha, loss, n):
    rng = np.random.default_rng(seed)
    cls, pairs = _linear_pairs(base, n, rng, beta, alpha, loss)
    objective = _LinearObjective.for_pairs(base.features, pairs)
    theta = rng.uniform(-1.5, 1.5, base.dim)
    value, grad, hess = objective.value_grad_hess(theta)
    policy = ss.LinearSoftmaxPolicy(base.features, theta)
    brute = brute_pair_objective(
        policy,
        base,
        pairs.x,
        pairs.y,
        pairs.y_ref,
        pairs.offset
        - beta * (base.log_prob(pairs.x, pairs.y) - base.log_prob(pairs.x, pairs.y_ref)),
        beta,
        pairs.weights,
        alpha=alpha,
        loss=loss,
    )
    assert value == pytest.approx(brute, rel=1e-12, abs=1e-12)
    assert objective.value(theta) == value and np.array_equal(objective(theta)[1], grad)
    fd = numerical_gradient(objective.value, theta, FD_STEP)
    np.testing.assert_allclose(grad, fd, atol=FD_TOL * (1 + np.abs(grad).max(initial=0)))
    fd_hess = np.stack(
        [
            numerical_gradient(lambda t, i=i: objective(t)[1][i], theta, FD_STEP)
            for i in range(base.dim)
        ]
    )
    np.testing.assert_allclose(hess, fd_hess, atol=FD_TOL * (1 + np.abs(hess).max(initial=0)))
    np.testing.assert_allclose(hess, hess.T, atol=1e-12 * (1 + np.abs(hess).max(initial=0)))


@settings(max_examples=30)
@given(linear_softmax_policies(max_norm=2.0, allow_tiny=False), seeds, st.integers(1, 12))
def test_linear_mle_objective_value_gradient_and_hessian(base, seed, n):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, base.n_contexts, n)
    y = base.sample(x, 1, rng=rng)[:, 0]
    w = _check_weights(rng.uniform(0.0, 2.0, n), n)
    objective = _LinearObjective.for_mle(base.features, x, y, w)
    theta = rng.uniform(-1.5, 1.5, base.dim)
    value, grad, hess = objective.value_grad_hess(theta)
    assert value == pytest.approx(
        -brute_log_likelihood(ss.LinearSoftmaxPolicy(base.features, theta), x, y, w),
        rel=1e-12,
        abs=1e-12,
    )
    np.testing.assert_allclose(
        grad,
        numerical_gradient(objective.value, theta, FD_STEP),
        atol=FD_TOL * (1 + np.abs(grad).max(initial=0)),
    )
    assert np.linalg.eigvalsh(hess).min() >= -1e-10 * (
        1 + np.abs(hess).max()
    )  # convex: −log-likelihood


def test_linear_objective_is_stable_at_huge_logits():
    """The max-subtracted log-normaliser stays finite where a naive exp would overflow."""
    phi = np.array([[[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]]])
    objective = _LinearObjective.for_mle(phi, np.array([0]), np.array([1]), np.ones(1))
    value, grad, hess = objective.value_grad_hess(np.array([1e6, 0.0]))
    assert (
        value == pytest.approx(1e6, rel=1e-15)
        and np.all(np.isfinite(grad))
        and np.all(np.isfinite(hess))
    )


@settings(max_examples=30)
@given(seeds, st.sampled_from([0.0, 0.2]), st.sampled_from(["squared", "logistic"]), st.booleans())
def test_row_softmax_objective_gradient_matches_finite_differences(seed, alpha, loss, markov):
    """The L-BFGS-B objective of TabularClass and MarkovClass (row-softmax engine, ridge included)."""
    rng = np.random.default_rng(seed)
    if markov:
        base = ss.MarkovPolicy(rng.dirichlet(np.ones(3), 2), rng.dirichlet(np.ones(3), (2, 1, 3)))
        cls = ss.MarkovClass(2, 3, 2)
        engine = _RowSoftmax(cls.anchor_log_probs())
    else:
        base = ss.TabularPolicy(rng.dirichlet(np.ones(4), 3))
        cls = ss.TabularClass(3, 4)
        engine = _RowSoftmax(cls.anchor_log_probs)
    x, y, y_ref, target = pair_data(base, 6, rng)
    pairs = cls._check_pairs(
        x,
        y,
        y_ref,
        None if loss == "logistic" else target,
        0.5,
        alpha,
        base,
        rng.uniform(0.1, 2.0, 6),
        loss,
    )
    if markov:
        data = (cls._states(x, y), y, cls._states(x, y_ref), y_ref)
    else:
        data = (x[:, None], y[:, None], x[:, None], y_ref[:, None])
    problem = _BoxProblem(engine, data, pairs, 50.0, 1e-3, {})
    u = rng.uniform(-1.0, 1.0, engine.R * engine.V)
    value, grad = problem.fun(u)
    fd = numerical_gradient(lambda v: problem.fun(v)[0], u, FD_STEP)
    np.testing.assert_allclose(grad, fd, atol=FD_TOL * (1 + np.abs(grad).max(initial=0)))


@settings(max_examples=50)
@given(
    seeds,
    st.integers(1, 5),
    st.sampled_from([0.1, 1.0, 30.0]),
    st.sampled_from(["psd", "indefinite"]),
)
def test_ball_trust_region_is_the_global_minimiser(seed, d, radius, kind):
    """Moré–Sorensen: no feasible point (random, or on the sphere along eigenvectors) does better."""
    rng = np.random.default_rng(seed)
    R = rng.standard_normal((d, d))
    M = R @ R.T if kind == "psd" else R + R.T
    c = rng.standard_normal(d) * rng.choice([1e-3, 1.0])
    v = ball_trust_region(M, c, radius)
    q = lambda z: 0.5 * z @ M @ z + c @ z  # noqa: E731
    assert np.linalg.norm(v) <= radius * (1 + 1e-12)
    points = rng.standard_normal((300, d))
    points *= (radius * rng.random(300) ** (1 / d) / np.linalg.norm(points, axis=1))[:, None]
    eig = np.linalg.eigh(M)[1].T * radius
    for z in [*points, *eig, *(-eig)]:
        assert q(v) <= q(z) + 1e-10 * (1 + abs(q(z)))


def test_ball_trust_region_hard_case_reaches_the_sphere():
    """c orthogonal to the most negative eigenvector: the solution moves along it to the sphere."""
    v = ball_trust_region(np.diag([-1.0, 2.0]), np.array([0.0, -1.0]), 3.0)
    assert np.linalg.norm(v) == pytest.approx(3.0, rel=1e-12) and v[1] == pytest.approx(
        1 / 3, rel=1e-12
    )  # λ = 1


def test_ball_trust_region_keeps_null_directions_at_zero():
    """Singular PSD model with no linear term on the null space: the minimum-norm minimiser."""
    v = ball_trust_region(np.diag([0.0, 2.0]), np.array([0.0, -1.0]), 10.0)
    assert v.tolist() == [0.0, 0.5]


@settings(max_examples=15)
@given(
    linear_softmax_policies(max_norm=1.5, max_responses=8, allow_tiny=False),
    seeds,
    betas,
    st.sampled_from([0.05, 1.0]),
    st.sampled_from([0.5, 3.0]),
)
def test_dominant_starts_are_feasible_and_newton_reaches_kkt_points(base, seed, beta, alpha, B):
    rng = np.random.default_rng(seed)
    _, pairs = _linear_pairs(base, rng.integers(1, 20), rng, beta, alpha, "squared")
    objective = _LinearObjective.for_pairs(base.features, pairs)
    starts = dominant_starts(objective, B, 3)
    assert 1 <= len(starts) <= 3 and all(np.linalg.norm(s) <= B * (1 + 1e-9) for s in starts)
    for start in starts:
        res = minimise_in_ball(objective.value, objective.value_grad_hess, start, B, 500)
        assert res.fun <= objective.value(start) + 1e-12
        assert_ball_kkt(res.jac, res.x, B, tol=1e-8 * (1 + np.abs(res.jac).max()))


def test_prefix_tree_class_names_itself_for_an_unknown_option():
    with pytest.raises(TypeError, match=r"PrefixTreeClass.*bogus"):
        ss.PrefixTreeClass(1, 2, 2, bogus=1)


def test_warm_start_must_be_a_bool():
    with pytest.raises(TypeError, match="warm_start must be a bool"):
        ss.TabularClass(1, 2).fit_xpo(
            [0], [0], [1], [0.0], 1.0, 0.1, ss.TabularPolicy([[0.5, 0.5]]), warm_start="yes"
        )


@pytest.mark.parametrize(
    "make",
    [
        lambda: ss.TabularClass(2, 3),
        lambda: ss.LinearSoftmaxClass(np.eye(3)[None].repeat(2, axis=0) * 0.5, B=5.0),
        lambda: ss.MarkovClass(2, 3, 1),
    ],
    ids=["tabular", "linear", "markov"],
)
def test_warm_start_starts_from_init_and_regression_only(make):
    """warm_start=True is a local refinement: never worse than init, and a KKT-quality solution."""
    base = ss.TabularPolicy([[0.5, 0.3, 0.2], [0.2, 0.2, 0.6]])
    x, y, y_ref = [0, 0, 1, 1], [0, 1, 2, 0], [1, 2, 0, 1]
    if isinstance(make(), ss.MarkovClass):
        base = ss.MarkovPolicy(base.probs, np.zeros((2, 0, 3, 3)))
        y, y_ref = np.array(y)[:, None], np.array(y_ref)[:, None]
    target = base.log_prob(x, y) - base.log_prob(x, y_ref)
    cls = make()
    cold = cls.fit_xpo(x, y, y_ref, target, 0.5, 0.1, base, rng=0)
    warm = cls.fit_xpo(x, y, y_ref, target, 0.5, 0.1, base, init=cold, rng=0, warm_start=True)
    value = cls.objective(warm, x, y, y_ref, target, 0.5, base, alpha=0.1)
    assert value <= cls.objective(cold, x, y, y_ref, target, 0.5, base, alpha=0.1) + 1e-9 * (
        1 + abs(value)
    )


@settings(max_examples=25)
@given(seeds, st.sampled_from([0.05, 0.5]))
def test_tabular_dominant_surrogate_gradient_matches_finite_differences(seed, alpha):
    """The convex surrogates behind TabularClass's XPO starts: analytic gradient vs central differences,
    and an upper bound on the XPO objective (uniform anchor: log π(ỹ) = u_ỹ − log Σ_v e^{u_v} ≤ u_ỹ − u_k)."""
    rng = np.random.default_rng(seed)
    base = ss.TabularPolicy(rng.dirichlet(np.ones(4), 2))
    cls = ss.TabularClass(2, 4)
    x, y, y_ref, target = pair_data(base, 5, rng)
    pairs = cls._check_pairs(x, y, y_ref, target, 0.5, alpha, base, None, "squared")
    engine = _RowSoftmax(cls.anchor_log_probs)
    problem = _BoxProblem(
        engine, (x[:, None], y[:, None], x[:, None], y_ref[:, None]), pairs, 50.0, 0.0, {}
    )
    u = rng.uniform(-1.0, 1.0, engine.R * engine.V)
    exact = problem.fun(u)[0]
    for k in problem.dominant_candidates():
        fun = problem.surrogate(k)
        value, grad = fun(u)
        fd = numerical_gradient(lambda v: fun(v)[0], u, FD_STEP)
        np.testing.assert_allclose(grad, fd, atol=FD_TOL * (1 + np.abs(grad).max(initial=0)))
        assert exact <= value + 1e-12


def test_dominant_starts_do_not_depend_on_the_block_size(monkeypatch):
    """Candidates are scored in prompt blocks (bounded memory); the chosen starts are the same."""
    import sharpsim.classes._linear_objective as lo

    rng = np.random.default_rng(4)
    phi = rng.standard_normal((5, 7, 3))
    phi /= np.linalg.norm(phi, axis=-1, keepdims=True)
    base = ss.LinearSoftmaxPolicy(phi, [0.5, -0.2, 0.1])
    _, pairs = _linear_pairs(base, 12, rng, 0.5, 0.3, "squared")
    objective = _LinearObjective.for_pairs(phi, pairs)
    whole = dominant_starts(objective, 4.0, 4)
    monkeypatch.setattr(lo, "_CANDIDATE_ENTRIES", 3 * 7)  # one prompt per block
    blocks = dominant_starts(objective, 4.0, 4)
    assert len(whole) == len(blocks) == 4
    assert all(np.array_equal(a, b) for a, b in zip(whole, blocks))
