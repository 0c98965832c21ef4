import numpy as np
import pytest
from hypothesis import given
from scipy import stats
from strategies import feature_tables, linear_softmax_policies

import sharpsim as ss


@given(linear_softmax_policies(max_norm=50.0))
def test_log_probs_are_normalised_linear_logits(pi):
    """Definition J.3: log π(y|x) − log π(y'|x) = ⟨φ(x,y) − φ(x,y'), θ⟩ and rows normalise."""
    assert isinstance(pi, ss.TabularPolicy)
    assert np.all(np.isfinite(pi.log_probs))
    np.testing.assert_allclose(np.logaddexp.reduce(pi.log_probs, axis=1), 0.0, atol=1e-12)
    gaps = pi.log_probs[:, :, None] - pi.log_probs[:, None, :]
    logit_gaps = (pi.features[:, :, None, :] - pi.features[:, None, :, :]) @ pi.theta
    np.testing.assert_allclose(gaps, logit_gaps, atol=1e-10 * max(1.0, np.abs(logit_gaps).max()))
    np.testing.assert_allclose(pi.logits, pi.features @ pi.theta)


@given(feature_tables())
def test_theta_zero_is_the_uniform_model(phi):
    pi = ss.LinearSoftmaxPolicy(phi, np.zeros(phi.shape[-1]))
    np.testing.assert_allclose(pi.probs, 1.0 / phi.shape[1], rtol=1e-14)


def test_huge_theta_neither_overflows_nor_underflows():
    phi = np.array([[[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]])
    pi = ss.LinearSoftmaxPolicy(phi, [1e6, 0.0])
    assert np.all(np.isfinite(pi.log_probs))
    np.testing.assert_allclose(pi.log_probs[0], [0.0, -1e6, -2e6])


def test_sample_follows_the_law_chi_square():
    """Chi-square goodness of fit at level 0.001 per prompt (Bonferroni over 2 prompts)."""
    rng = np.random.default_rng(4)
    phi = rng.standard_normal((2, 6, 3))
    phi /= np.linalg.norm(phi, axis=-1, keepdims=True)
    pi = ss.LinearSoftmaxPolicy(phi, [1.0, -2.0, 0.5], B=3.0)
    n = 20_000
    y = pi.sample([0, 1], n, rng=9)
    for x in range(2):
        p_value = stats.chisquare(np.bincount(y[x], minlength=6), n * pi.probs[x]).pvalue
        assert p_value > 0.001 / 2


def test_inputs_are_copied_and_read_only():
    phi = np.array([[[0.5, 0.0], [0.0, 0.5]]])
    theta = np.array([1.0, 0.0])
    pi = ss.LinearSoftmaxPolicy(phi, theta)
    before = pi.probs.copy()
    phi[0, 0, 0] = 0.0
    theta[0] = -5.0
    np.testing.assert_array_equal(pi.probs, before)
    with pytest.raises(ValueError):
        pi.theta[0] = 3.0
    with pytest.raises(ValueError):
        pi.features[0, 0, 0] = 3.0


def test_norm_bound_accepts_the_boundary():
    pi = ss.LinearSoftmaxPolicy(np.eye(2)[None] * 0.5, [3.0, 4.0], B=5.0)
    assert pi.B == 5.0 and pi.dim == 2


def test_from_log_probs_gives_a_plain_tabular_policy():
    pi = ss.LinearSoftmaxPolicy.from_logits([[0.0, 0.0]])
    assert type(pi) is ss.TabularPolicy


@pytest.mark.parametrize(
    "features, theta, B, error, match",
    [
        ([[[1.0, 1.0]]], [0.0, 0.0], None, ValueError, r"features.*norm 1\.41"),
        ([[1.0, 0.0]], [0.0, 0.0], None, ValueError, "features must be a non-empty array"),
        (np.zeros((1, 0, 2)), [0.0, 0.0], None, ValueError, "features must be a non-empty"),
        ([[[np.nan, 0.0]]], [0.0, 0.0], None, ValueError, "features must be finite"),
        ([[[0.5, 0.0]]], [0.0], None, ValueError, r"theta must have shape \(2,\)"),
        ([[[0.5, 0.0]]], [np.inf, 0.0], None, ValueError, "theta must be finite"),
        ([[[0.5, 0.0]]], [3.0, 4.0], 4.9, ValueError, "theta must have ‖θ‖₂ <= B"),
        ([[[0.5, 0.0]]], [0.0, 0.0], 0.0, ValueError, r"B must be in \(0"),
        ([[[0.5, 0.0]]], [0.0, 0.0], -1.0, ValueError, r"B must be in \(0"),
        ([[[0.5, 0.0]]], [0.0, 0.0], "1", TypeError, "B must be a real number"),
    ],
)
def test_bad_inputs(features, theta, B, error, match):
    with pytest.raises(error, match=match):
        ss.LinearSoftmaxPolicy(features, theta, B=B)


def test_overflowing_logits_give_the_limit_policy():
    # ⟨φ, θ⟩ overflowing to inf used to give a RuntimeWarning and a table of NaN; any finite θ is valid now
    # (more cases in test_policies_extremes.py).
    pi = ss.LinearSoftmaxPolicy(np.array([[[0.7, 0.7], [0.0, 0.0]]]), [1.7e308, 1.7e308])
    assert pi.probs.tolist() == [[1.0, 0.0]]
