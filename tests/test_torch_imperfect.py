"""Best-of-N by a proxy self-reward on a real (tiny random / SmolLM2) language model: the exact pool curve."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import sharpsim as ss  # noqa: E402
from sharpsim.torch import lm_bon_regret_curve, tiny_causal_lm  # noqa: E402

PROMPTS = ["1+1=", "ab"]


@pytest.fixture(scope="module")
def curve():
    return lm_bon_regret_curve(
        tiny_causal_lm("gpt2", seed=3), PROMPTS, 12, [1, 2, 5, 50, 10**6], max_new_tokens=6, rng=0
    )


def test_pool_curve_shapes_queries_and_limits(curve):
    lp = curve.candidates.log_probs
    assert curve.value_true.shape == (2, 5) and curve.queries == lp.size == 24
    np.testing.assert_allclose(curve.value_true[:, 0], lp.mean(axis=1), rtol=1e-12)  # N = 1: π_ref
    np.testing.assert_allclose(curve.value_proxy[:, 0], lp.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(
        curve.value_true[:, -1], lp.max(axis=1), rtol=1e-9
    )  # N → ∞: the pool's best
    assert abs(curve.regret[0]) <= 1e-12 and np.all(
        curve.regret >= -1e-12
    )  # N = 1: both the mean; r* ranking is best


def test_pool_curve_matches_resampled_best_of_n(curve):
    """Monte Carlo: 20000 best-of-5 draws from the pool (length-normalised ranking); 99.9% normal band."""
    lp = curve.candidates.log_probs
    lengths = np.array([[len(t) for t in g] for g in curve.candidates.token_ids], dtype=float)
    score = lp / lengths
    rng = np.random.default_rng(1)
    reps = 20000
    for x in range(2):
        draws = rng.integers(0, lp.shape[1], size=(reps, 5))
        best = np.take_along_axis(draws, np.argmax(score[x][draws], axis=1)[:, None], 1)[:, 0]
        picked = lp[x][best]
        half = 3.29 * picked.std(ddof=1) / np.sqrt(reps)
        assert abs(picked.mean() - curve.value_proxy[x, 2]) <= half + 1e-12


def test_pool_curve_same_rng_same_numbers_and_bad_input():
    lm = tiny_causal_lm("gpt2", seed=3)
    a = lm_bon_regret_curve(lm, ["x"], 4, [1, 3], max_new_tokens=3, rng=5)
    b = lm_bon_regret_curve(lm, ["x"], 4, [1, 3], max_new_tokens=3, rng=5)
    assert a.value_proxy.tobytes() == b.value_proxy.tobytes()
    with pytest.raises(ValueError, match="pool_size"):
        lm_bon_regret_curve(lm, ["x"], 0, [1], max_new_tokens=3)
    with pytest.raises(ValueError, match="ns"):
        lm_bon_regret_curve(lm, ["x"], 2, [0], max_new_tokens=3)


@pytest.mark.slow
def test_smollm2_length_normalised_proxy_curve():
    """SmolLM2-135M: the length-normalised proxy loses likelihood against exact log-likelihood ranking."""
    from sharpsim.torch import smollm2

    try:
        lm = smollm2()
    except ImportError as exc:
        pytest.skip(str(exc))
    out = lm_bon_regret_curve(
        lm, ["What is 7 + 5?", "Name a colour."], 16, [1, 4, 16, 64], max_new_tokens=16, rng=0
    )
    assert abs(out.regret[0]) <= 1e-9 and np.all(out.regret >= -1e-9)
    assert np.all(np.diff(out.value_true, axis=1) >= -1e-9)  # ranking by r* itself never hurts r*
    assert np.isfinite(out.value_proxy).all() and out.queries == 32
    ss.pool_bon_true_values(out.value_proxy, out.value_true, [1])  # finite tables
