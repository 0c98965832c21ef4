import numpy as np
import pytest
from hypothesis import given
from scipy import stats
from strategies import prob_tables

import sharpsim as ss


def test_probs_roundtrip_and_log_space_zeros():
    pi = ss.TabularPolicy([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
    assert pi.n_contexts == 2 and pi.n_responses == 3
    assert pi.log_probs[0, 2] == -np.inf
    assert not np.any(np.isnan(pi.log_probs))
    np.testing.assert_allclose(pi.probs, [[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])


@pytest.mark.parametrize(
    "probs, match",
    [
        ([[0.5, 0.4]], "row 0 sums to 0.9"),
        ([[0.5, np.nan]], "finite"),
        ([[1.5, -0.5]], "non-negative"),
        ([0.5, 0.5], "2 dimensions"),
        (np.zeros((2, 0)), "non-empty"),
    ],
)
def test_bad_probs(probs, match):
    with pytest.raises(ValueError, match=match):
        ss.TabularPolicy(probs)


def test_bad_types():
    pi = ss.TabularPolicy([[0.5, 0.5]])
    with pytest.raises(TypeError, match="x must be an integer array"):
        pi.log_prob([0.0], [1])
    with pytest.raises(ValueError, match=r"y entries must be in \[0, 2\)"):
        pi.log_prob([0], [2])
    with pytest.raises(TypeError, match="rng"):
        pi.sample([0], 3, rng="seed")
    with pytest.raises(ValueError, match="n must be >= 0"):
        pi.sample([0], -1)


def test_from_logits_handles_minus_inf_and_rejects_dead_rows():
    pi = ss.TabularPolicy.from_logits([[0.0, -np.inf, np.log(3.0)]])
    np.testing.assert_allclose(pi.probs, [[0.25, 0.0, 0.75]])
    with pytest.raises(ValueError, match="all -inf"):
        ss.TabularPolicy.from_logits([[-np.inf, -np.inf]])
    with pytest.raises(ValueError, match="NaN"):
        ss.TabularPolicy.from_logits([[np.nan, 0.0]])


def test_from_logits_extreme_values_do_not_underflow():
    pi = ss.TabularPolicy.from_logits([[0.0, -2000.0, -1e5]])
    assert np.all(np.isfinite(pi.log_probs))
    np.testing.assert_allclose(pi.log_probs[0, 1], -2000.0)


@given(prob_tables())
def test_log_prob_matches_table(probs):
    pi = ss.TabularPolicy(probs)
    x, y = np.meshgrid(np.arange(pi.n_contexts), np.arange(pi.n_responses), indexing="ij")
    np.testing.assert_array_equal(pi.log_prob(x, y), pi.log_probs)


@given(prob_tables())
def test_sample_never_hits_zero_mass(probs):
    pi = ss.TabularPolicy(probs)
    x = np.arange(pi.n_contexts)
    y = pi.sample(x, 200, rng=1)
    assert np.all(pi.probs[x[:, None], y] > 0)


def test_sample_matches_law_chi_square():
    """Chi-square goodness of fit at level 0.001 per prompt (Bonferroni over 3 prompts)."""
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(8), size=3)
    pi = ss.TabularPolicy(probs)
    n = 20_000
    y = pi.sample(np.arange(3), n, rng=123)
    for x in range(3):
        counts = np.bincount(y[x], minlength=8)
        p_value = stats.chisquare(counts, n * probs[x]).pvalue
        assert p_value > 0.001 / 3


def test_seed_reproducibility():
    pi = ss.TabularPolicy(np.full((4, 5), 0.2))
    a = pi.sample(np.arange(4), 10, rng=7)
    b = pi.sample(np.arange(4), 10, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("atol", [float("nan"), float("inf"), -1e-3])
def test_row_sum_tolerance_must_be_finite_and_non_negative(atol):
    # atol=nan used to accept any row sum (every |sum - 1| > nan is False): an unnormalised policy.
    with pytest.raises(ValueError, match="atol must"):
        ss.TabularPolicy([[0.3, 0.3]], atol=atol)
    with pytest.raises(ValueError, match="atol must"):
        ss.TabularPolicy.from_log_probs([[-5.0, -5.0]], atol=atol)
