"""Policies at the extremes (issue 7 §5): huge parameters stay valid, huge sizes and malformed arrays are
refused with a message naming the argument, before anything large is allocated."""

import tracemalloc
from fractions import Fraction

import numpy as np
import pytest

import sharpsim as ss
from sharpsim.policies.base import MAX_ENUMERATION, all_sequences

# --------------------------------------------------------------------------- huge θ and logits


def unit_features(n_contexts=3, n_responses=7, d=4, seed=0):
    """Random unit features; response 1 is response 0 with coordinates 0 and 2 swapped, so under
    θ ∝ (1, -1, 1, 1) their logits tie (up to rounding) and the max response is never alone."""
    phi = np.random.default_rng(seed).standard_normal((n_contexts, n_responses, d))
    phi[:, 0, 0] = np.abs(phi[:, 0, 0]) + 3.0  # response 0 (and its twin) carry the largest logit
    phi[:, 1] = phi[:, 0, [2, 1, 0, 3]]
    return phi / np.linalg.norm(phi, axis=-1, keepdims=True)


@pytest.mark.parametrize("scale", [1.0, 1e6, 1e15, 1e17, 1e100, 1e300])
def test_linear_softmax_rows_are_distributions_for_any_finite_theta(scale):
    """0.1.0 summed to 0.974 at ‖θ‖ = 1e15 and 3.0 at 1e17 (log-sum-exp added back to huge logits)."""
    phi = unit_features()
    theta = scale * np.array([0.5, -0.5, 0.5, 0.5])
    pi = ss.LinearSoftmaxPolicy(phi, theta)
    probs = pi.probs
    assert np.all(pi.log_probs <= 0.0) and not np.any(np.isnan(pi.log_probs))
    np.testing.assert_allclose(
        probs.sum(axis=1), 1.0, rtol=0, atol=8 * phi.shape[1] * np.finfo(float).eps
    )
    with np.errstate(over="ignore"):
        logits = phi @ theta
    # The order of the logits is kept (ties included) and the largest one carries the largest mass.
    assert np.array_equal(np.argmax(probs, axis=1), np.argmax(logits, axis=1))
    ss.TabularPolicy(probs)  # passes the package's own validation


def test_linear_softmax_differences_of_log_probs_are_differences_of_logits():
    """log p_i - log p_j = ⟨φ_i - φ_j, θ⟩: at θ = 1e15·u the logits near the max differ by O(1)."""
    phi = np.zeros((1, 3, 2))
    phi[0, :, 0] = [0.5, 0.5 + 2.0**-50, 0.5 - 2.0**-49]  # logit gaps of about 0.9 and 1.8 at 1e15
    theta = np.array([1e15, 0.0])
    pi = ss.LinearSoftmaxPolicy(phi, theta)
    z = phi[0] @ theta - (phi[0] @ theta).max()
    expected = z - np.log(np.exp(z).sum())
    np.testing.assert_allclose(pi.log_probs[0], expected, rtol=0, atol=1e-15)
    assert abs(pi.probs.sum() - 1.0) < 1e-15


def test_linear_softmax_logits_past_the_float_range_still_give_a_valid_policy():
    """⟨φ, θ⟩ = 0.7·1.7e308·2 overflows double precision; the row max is subtracted in a scaled copy."""
    pi = ss.LinearSoftmaxPolicy(
        np.array([[[0.7, 0.7], [0.0, 0.0], [0.7, 0.7]]]), [1.7e308, 1.7e308]
    )
    assert pi.probs.tolist() == [[0.5, 0.0, 0.5]]
    pi = ss.LinearSoftmaxPolicy(np.array([[[0.7, 0.7], [0.7, 0.69]]]), [-1.7e308, -1.7e308])
    assert pi.probs.tolist() == [[0.0, 1.0]]


def _table_features(phi):
    """``features(h, x, seqs)`` reading the last token's row of ``phi [X, V, d]`` (the same at every h)."""
    return lambda h, x, seqs: phi[x, seqs[..., -1]]


@pytest.mark.parametrize("scale", [1.0, 1e6, 1e15, 1e17, 1e100, 1e300])
def test_multilayer_softmax_is_the_linear_softmax_for_any_finite_theta(scale):
    """0.1.x raised "logits overflow" from 1e300 on: the multi-layer model now normalises like the
    single-layer one, so with H = 1 its table is LinearSoftmaxPolicy's, and with H = 2 it stays a law."""
    phi = unit_features(n_contexts=2, n_responses=5)
    theta = scale * np.array([0.5, -0.5, 0.5, 0.5])
    single = ss.LinearSoftmaxPolicy(phi, theta)
    one = ss.MultiLayerLinearSoftmaxPolicy(_table_features(phi), theta[None], 5, 1, n_contexts=2)
    np.testing.assert_allclose(np.exp(one.to_tabular().log_probs), single.probs, rtol=0, atol=1e-15)
    assert np.array_equal(one.to_tabular().log_probs == -np.inf, single.log_probs == -np.inf)
    two = ss.MultiLayerLinearSoftmaxPolicy(
        _table_features(phi), np.stack([theta, -theta / 3]), 5, 2, n_contexts=2
    )
    table = two.to_tabular()
    assert not np.any(np.isnan(table.log_probs)) and np.all(table.log_probs <= 0.0)
    np.testing.assert_allclose(table.probs.sum(axis=1), 1.0, rtol=0, atol=1e-14)
    draws = two.sample(np.array([0, 1]), 50, rng=0)
    assert np.all(np.isfinite(two.log_prob(np.array([[0], [1]]), draws)))


def test_multilayer_softmax_with_features_and_theta_both_near_the_float_range():
    """⟨φ, θ⟩ with φ = 1e300 and θ = 1e300: both factors are scaled by powers of two, gaps kept."""
    phi = np.array([[[1e300], [0.5e300], [1e300]]])
    pi = ss.MultiLayerLinearSoftmaxPolicy(_table_features(phi), [[1e300]], 3, 1)
    assert pi.to_tabular().probs.tolist() == [[0.5, 0.0, 0.5]]
    pi = ss.MultiLayerLinearSoftmaxPolicy(
        _table_features(phi), [[-1e-300]], 3, 1
    )  # logits -1, -1/2, -1
    expected = np.exp([-1.0, -0.5, -1.0]) / np.exp([-1.0, -0.5, -1.0]).sum()
    np.testing.assert_allclose(pi.to_tabular().probs, [expected], rtol=1e-15)


def test_from_logits_with_huge_offsets_is_the_offset_free_policy():
    """Softmax ignores a common offset: logits around 1e15 (grid 0.125) give the policy of the offsets."""
    offsets = np.array([[0.0, 0.25, -0.5, -np.inf], [3.0, 3.0, 2.875, 1.0]])
    np.testing.assert_allclose(
        ss.TabularPolicy.from_logits(offsets + 1e15).probs,
        ss.TabularPolicy.from_logits(offsets).probs,
        rtol=0,
        atol=1e-15,
    )


# --------------------------------------------------------------------------- huge sizes


def test_all_sequences_refuses_past_its_limit_before_allocating():
    """all_sequences(10, 8) would need 6.4 GB (10^8 sequences x 8 tokens): 0.1.0 ended in MemoryError."""
    tracemalloc.start()
    with pytest.raises(
        ValueError, match=r"V\*\*H = 10\*\*8 = 100000000 sequences.*max_sequences=2000000"
    ):
        all_sequences(10, 8)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1 << 20
    assert all_sequences(3, 2, max_sequences=9).shape == (9, 2)
    with pytest.raises(ValueError, match="max_sequences=8"):
        all_sequences(3, 2, max_sequences=8)
    with pytest.raises(ValueError, match="max_sequences must be >= 1"):
        all_sequences(3, 2, max_sequences=0)
    assert MAX_ENUMERATION == 2_000_000


# --------------------------------------------------------------------------- malformed arrays name the argument


@pytest.mark.parametrize(
    "build, error, match",
    [
        (
            lambda: ss.TabularPolicy([["a", "b"]]),
            TypeError,
            "probs must be a real array; got dtype <U1",
        ),
        (
            lambda: ss.TabularPolicy([[0.5, 0.5], [1.0]]),
            ValueError,
            "probs must be a rectangular array",
        ),
        (
            lambda: ss.TabularPolicy([[0.5, None]]),
            TypeError,
            "probs must be a real array; got dtype object",
        ),
        (
            lambda: ss.TabularPolicy([[0.5, 0.5j]]),
            TypeError,
            "probs must be a real array; got dtype complex",
        ),
        (lambda: ss.TabularPolicy.from_logits([["a"]]), TypeError, "logits must be a real array"),
        (
            lambda: ss.TabularPolicy.from_logits([[0.0], [0.0, 1.0]]),
            ValueError,
            "logits must be a rectangular",
        ),
        (
            lambda: ss.TabularPolicy.from_log_probs([["a"]]),
            TypeError,
            "log_probs must be a real array",
        ),
        (
            lambda: ss.TabularPolicy.from_log_probs([[0.0], []]),
            ValueError,
            "log_probs must be a rectangular",
        ),
        (
            lambda: ss.MarkovPolicy([["a", "b"]], np.zeros((1, 0, 2, 2))),
            TypeError,
            "initial must be a real",
        ),
        (
            lambda: ss.MarkovPolicy([[0.5, 0.5]], [[[[1.0, 0.0], [1.0]]]]),
            ValueError,
            "transition must be a rect",
        ),
        (
            lambda: ss.MarkovPolicy([[0.5, 0.5]], [[[["a", "b"], ["c", "d"]]]]),
            TypeError,
            "transition must be a real",
        ),
        (
            lambda: ss.JointAutoregressivePolicy([["a"] * 4], 2, 2),
            TypeError,
            "joint must be a real array",
        ),
        (
            lambda: ss.JointAutoregressivePolicy([[1.0, 0, 0, 0], [1.0]], 2, 2),
            ValueError,
            "joint must be a rect",
        ),
        (
            lambda: ss.LinearSoftmaxPolicy([[["a"]]], [0.0]),
            TypeError,
            "features must be a real array",
        ),
        (
            lambda: ss.LinearSoftmaxPolicy([[[1.0], []]], [0.0]),
            ValueError,
            "features must be a rectangular",
        ),
        (lambda: ss.LinearSoftmaxPolicy([[[1.0]]], ["a"]), TypeError, "theta must be a real array"),
        (
            lambda: ss.LinearSoftmaxPolicy([[[1.0]]], [[0.0], []]),
            ValueError,
            "theta must be a rectangular",
        ),
        (
            lambda: ss.SampleEvaluateOracle(ss.TabularPolicy([[1.0]]), mu=["a"]),
            TypeError,
            "mu must be a real",
        ),
    ],
)
def test_malformed_arrays_are_refused_naming_the_argument(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_exact_number_objects_are_still_accepted():
    """An object array of numbers (Fractions) is converted, not refused."""
    pi = ss.TabularPolicy([[Fraction(1, 4), Fraction(3, 4)]])
    assert pi.probs.tolist() == [[0.25, 0.75]]
