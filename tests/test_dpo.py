"""RLHF-Sharpening via DPO: Eq. (8) regression and Bradley–Terry logistic DPO (Sec. 2.2, Thm 4.2)."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy import stats
from scipy.special import expit
from strategies import linear_softmax_policies

import sharpsim as ss


def _within_prompt_differences(features):
    """Every φ(x,y) - φ(x,y'), stacked ``[X·Y·Y, d]``: what a linear softmax policy depends on."""
    return (features[:, :, None, :] - features[:, None, :, :]).reshape(-1, features.shape[-1])


def _observed_differences(features, data):
    return features[data["x"], data["y"]] - features[data["x"], data["y_ref"]]


def _rank(a):
    return np.linalg.matrix_rank(a, tol=1e-9) if a.size else 0


@given(
    base=linear_softmax_policies(max_norm=2.0, max_contexts=2, max_responses=5, max_dim=3),
    beta=st.sampled_from([0.05, 0.5, 4.0]),
    n=st.integers(1, 40),
    seed=st.integers(0, 2**32 - 1),
)
def test_regression_recovers_tilted_model_when_differences_span(base, beta, n, seed):
    """Exact: with r = log π_base, Eq. (8) is noise-free least squares, so once the observed feature
    differences span every within-prompt difference, π̂ = π*_β = π_{(1+1/β)θ*} (Section 2.2)."""
    cls = ss.LinearSoftmaxClass(base.features, B=1e4)
    res = ss.dpo_sharpening(base, n, beta, cls, rng=seed, keep_data=True)
    assert res.queries == 2 * n
    observed = _observed_differences(base.features, res.data)
    assume(_rank(observed) == _rank(_within_prompt_differences(base.features)))
    target = ss.tilted(base, beta)
    np.testing.assert_allclose(res.policy.log_probs, target.log_probs, atol=1e-7)
    np.testing.assert_allclose(
        res.data["target"], res.data["log_prob"][:, 0] - res.data["log_prob"][:, 1]
    )


def test_regression_kl_shrinks_to_zero_as_n_grows():
    """d = 4 features in general position: fewer than d pairs cannot pin θ, enough pairs recover π*_β."""
    rng = np.random.default_rng(0)
    phi = rng.standard_normal((2, 8, 4))
    phi /= np.linalg.norm(phi, axis=-1, keepdims=True)
    base = ss.LinearSoftmaxPolicy(phi, [1.0, -0.5, 0.3, 0.8])
    beta = 0.25
    optimum = ss.tilted(base, beta)
    cls = ss.LinearSoftmaxClass(phi, B=100.0)
    for n in (1, 2, 3, 4, 5, 50):
        res = ss.dpo_sharpening(base, n, beta, cls, rng=n, keep_data=True)
        rank = _rank(_observed_differences(phi, res.data))
        kl = ss.kl_divergence(res.policy, optimum)
        assert rank <= min(n, 4)
        if rank < 4:
            assert kl > 1e-6  # θ not identified yet
        else:
            assert kl < 1e-12  # differences span R^4: exact recovery
    assert rank == 4 and kl < ss.kl_divergence(base, optimum)
    assert ss.sharpening_error(optimum, base, 0.1) <= ss.sharpening_error(base, base, 0.1)


def test_tabular_regression_is_tilted_model_on_connected_comparisons():
    base = ss.TabularPolicy([[0.5, 0.3, 0.15, 0.05], [0.1, 0.2, 0.3, 0.4]])
    res = ss.dpo_sharpening(base, 300, 0.2, ss.TabularClass(2, 4), rng=1, keep_data=True)
    assert (
        len({(x, y) for x, y in zip(res.data["x"], res.data["y"])}) == 8
    )  # every response compared
    np.testing.assert_allclose(res.policy.probs, ss.tilted(base, 0.2).probs, atol=1e-9)
    # A response never drawn is not identified by Eq. (8): it keeps the class's anchor (here π_base, so 0).
    with_zero = ss.TabularPolicy([[0.5, 0.3, 0.2, 0.0]])
    cls = ss.TabularClass(1, 4, unseen="base", base=with_zero)
    res = ss.dpo_sharpening(with_zero, 300, 0.2, cls, rng=1)
    np.testing.assert_allclose(res.policy.probs, ss.tilted(with_zero, 0.2).probs, atol=1e-9)


def test_logistic_dpo_is_consistent_chi_square_at_99_9():
    """Bradley–Terry labels P(y ≻ y') = σ(r(y) - r(y')): with ψ = β(θ - θ*), the loss is logistic regression
    on Δφ with true parameter θ*, so n·(ψ̂-θ*)ᵀ I (ψ̂-θ*) is asymptotically χ²_d, I = E[σ(z)(1-σ(z)) ΔφΔφᵀ]
    (z = ⟨Δφ, θ*⟩, exact expectation over x ~ μ, y, y' ~ π_base). Level 0.001."""
    rng = np.random.default_rng(4)
    d = 3
    phi = rng.standard_normal((2, 5, d))
    phi /= np.linalg.norm(phi, axis=-1, keepdims=True)
    theta_star = np.array([0.8, -0.4, 0.5])
    base = ss.LinearSoftmaxPolicy(phi, theta_star)
    beta = 0.5
    diff = phi[:, :, None, :] - phi[:, None, :, :]  # [X, Y, Y, d]
    z = diff @ theta_star
    pair_weight = 0.5 * base.probs[:, :, None] * base.probs[:, None, :]  # μ uniform over 2 prompts
    fisher = np.einsum("xab,xabi,xabj->ij", pair_weight * expit(z) * expit(-z), diff, diff)
    n = 4000
    res = ss.dpo_sharpening(
        base, n, beta, ss.LinearSoftmaxClass(phi, B=100.0), rng=7, loss="logistic", keep_data=True
    )
    assert res.queries == 2 * n and res.diagnostics["loss"] == "logistic"
    err = beta * (res.policy.theta - theta_star) - theta_star
    statistic = n * err @ fisher @ err
    assert statistic <= stats.chi2.ppf(0.999, d)
    # labels follow the Bradley–Terry law of the self-reward: a binomial check at level 0.001
    p_first = expit(res.data["target"])
    wins = int(res.data["first_wins"].sum())
    mean, sd = p_first.sum(), np.sqrt((p_first * (1 - p_first)).sum())
    assert abs(wins - mean) <= stats.norm.ppf(1 - 0.0005) * sd


def test_seed_replay_and_data_opt_in():
    base = ss.TabularPolicy([[0.6, 0.3, 0.1]])
    first = ss.dpo_sharpening(base, 30, 0.5, ss.TabularClass(1, 3))
    assert first.data is None and isinstance(first.seed, int)
    again = ss.dpo_sharpening(base, 30, 0.5, ss.TabularClass(1, 3), rng=first.seed, keep_data=True)
    np.testing.assert_array_equal(first.policy.probs, again.policy.probs)
    assert set(again.data) >= {"x", "y", "y_ref", "log_prob", "target"}
    np.testing.assert_array_equal(again.samples_per_prompt, np.full(30, 2))


def test_bad_inputs_raise_naming_the_argument():
    base = ss.TabularPolicy([[0.6, 0.3, 0.1]])
    cls = ss.TabularClass(1, 3)
    with pytest.raises(ValueError, match="beta"):
        ss.dpo_sharpening(base, 10, 0.0, cls)
    with pytest.raises(ValueError, match="beta"):
        ss.dpo_sharpening(base, 10, -1.0, cls)
    with pytest.raises(ValueError, match="n must be >= 1"):
        ss.dpo_sharpening(base, 0, 0.5, cls)
    with pytest.raises(ValueError, match="loss"):
        ss.dpo_sharpening(base, 10, 0.5, cls, loss="hinge")
    with pytest.raises(TypeError, match="fit_regression"):
        ss.dpo_sharpening(base, 10, 0.5, object())
    with pytest.raises(ValueError, match="n_contexts"):
        ss.dpo_sharpening(base, 10, 0.5, ss.TabularClass(2, 3))
    with pytest.raises(TypeError, match="rng"):
        ss.dpo_sharpening(base, 10, 0.5, cls, rng=1.5)


def test_class_that_cannot_represent_the_tilted_model_is_refused():
    """Theorem 4.2 needs π*_β ∈ Π (Assumption 4.3): features too poor, or a norm bound too small."""
    base = ss.TabularPolicy([[0.5, 0.3, 0.2]])
    phi = np.array(
        [[[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]]
    )  # responses 1 and 2 tied: cannot express 0.3 vs 0.2
    with pytest.raises(ValueError, match="realizability"):
        ss.dpo_sharpening(base, 10, 0.5, ss.LinearSoftmaxClass(phi, B=10.0))
    linear_base = ss.LinearSoftmaxPolicy(phi, [1.0, 0.0])
    with pytest.raises(ValueError, match="realizability"):  # needs ‖θ‖ = 1 + 1/β = 3 > B
        ss.dpo_sharpening(linear_base, 10, 0.5, ss.LinearSoftmaxClass(phi, B=2.0))
    res = ss.dpo_sharpening(
        linear_base, 10, 0.5, ss.LinearSoftmaxClass(phi, B=2.0), rng=0, check_realizable=False
    )
    assert (
        np.linalg.norm(res.policy.theta) <= 2.0 + 1e-9
    )  # misspecified on purpose: the boundary solution


# --------------------------------------------------------------------------- refusals at the extremes (issue 7 §5)


def test_dpo_refuses_a_huge_n_before_drawing_anything():
    base = ss.TabularPolicy([[0.5, 0.5]])
    fit_calls = []

    class Watch(ss.TabularClass):
        def fit_regression(self, *args, **kwargs):  # pragma: no cover - must not be reached
            fit_calls.append(1)
            return super().fit_regression(*args, **kwargs)

    with pytest.raises(ValueError, match=r"n must be <= 10000000; got 1000000000000"):
        ss.dpo_sharpening(base, 10**12, 0.5, Watch(1, 2), rng=0)
    assert not fit_calls


def test_dpo_accepts_n_at_the_limit_constant():
    from sharpsim.algorithms.dpo import MAX_PAIRS

    assert MAX_PAIRS == 10**7


@pytest.mark.parametrize(
    "args, error, match",
    [
        ((None, 12, 3), TypeError, "policy must be a policy"),
        ((ss.TabularPolicy([[1.0]]), -1, 0), ValueError, "queries must be >= 0"),
        ((ss.TabularPolicy([[1.0]]), 1.5, 0), TypeError, "queries must be an integer"),
        ((ss.TabularPolicy([[1.0]]), 2, -3), ValueError, "seed must be >= 0"),
    ],
)
def test_sharpening_result_refuses_invalid_fields(args, error, match):
    with pytest.raises(error, match=match):
        ss.SharpeningResult(*args)


def test_sharpening_result_none_minus_one_zero_is_refused():
    """The exact call of issue 7 §5."""
    with pytest.raises((TypeError, ValueError), match="policy|queries"):
        ss.SharpeningResult(None, -1, 0)
