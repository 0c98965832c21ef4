"""One implementation, two backends: the core algorithms on a NumPy policy and on the same policy as a torch LM.

``as_causal_lm`` turns a NumPy autoregressive policy into a torch causal LM
and :class:`PromptedLM` shows that LM to the core. Its sampler draws each
token by inverse CDF from one uniform of the same generator as the NumPy
policies, so with one generation batch the two backends see the same draws:
best-of-N picks, adaptive stopping times, SFT's picks, DPO's pairs and query
counts must be *equal*. The learners differ (exact solvers of the core's
classes vs AdamW on the wrapped logits), so fitted probabilities must *match*
where the data identify them.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import sharpsim as ss  # noqa: E402
from sharpsim.torch import GradientClass, PromptedLM, as_causal_lm  # noqa: E402


def random_markov(seed, X=2, V=3, H=3):
    rng = np.random.default_rng(seed)
    return ss.MarkovPolicy(
        rng.dirichlet(np.ones(V), size=X), rng.dirichlet(np.ones(V), size=(X, H - 1, V))
    )


def joint_world():
    probs = np.array([[0.30, 0.05, 0.10, 0.02, 0.20, 0.03, 0.12, 0.08, 0.10]])
    return ss.JointAutoregressivePolicy(probs, 3, 2)


def prompted(ar):
    """The torch twin of ``ar``: one generation batch (same draws), responses of exactly ``H`` tokens."""
    lm = as_causal_lm(ar)
    lm.batch_size = 10**6
    return PromptedLM(lm, lm.prompts(np.arange(ar.n_contexts)), max_new_tokens=ar.horizon)


def fitted_table(policy):
    """The law ``[X, V**H]`` of a fitted policy, from either backend."""
    if isinstance(policy, PromptedLM):
        policy = policy.lm.to_numpy()
    return policy.to_tabular().probs


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("reward", ["log_likelihood", "length", "majority"])
def test_best_of_n_same_picks_and_queries(seed, reward):
    ar = random_markov(seed)
    twin = prompted(ar)
    rewards = {
        "log_likelihood": (None, None),
        "length": (ss.LengthNormalizedReward(end_token=0),) * 2,
        "majority": (ss.MajorityVoteReward(lambda y: np.asarray(y).sum(axis=-1) % 3),) * 2,
    }[reward]
    x = np.array([0, 1, 1, 0, 1])
    a = ss.best_of_n(ar, x, 7, reward=rewards[0], rng=seed)
    b = ss.best_of_n(twin, x, 7, reward=rewards[1], rng=seed)
    np.testing.assert_array_equal(a.responses, b.responses)
    np.testing.assert_allclose(a.log_probs, b.log_probs, rtol=0, atol=1e-12)
    assert a.queries == b.queries == 35


def test_adaptive_best_of_n_same_stopping_times():
    ar = random_markov(4)
    twin = prompted(ar)
    x = np.array([0, 1, 0, 1])
    a = ss.adaptive_best_of_n(ar, x, 2.0, rng=3)
    b = ss.adaptive_best_of_n(twin, x, 2.0, rng=3)
    np.testing.assert_array_equal(a.samples_per_prompt, b.samples_per_prompt)
    np.testing.assert_array_equal(a.responses, b.responses)
    assert a.queries == b.queries == int(a.samples_per_prompt.sum())


def test_sft_same_picks_and_matching_mle():
    """SFT-Sharpening: the same prompts and picks; AdamW on the twin reaches the exact MLE (empirical law)."""
    ar = joint_world()
    twin = prompted(ar)
    core = ss.sft_sharpening(
        ar, 60, 4, ss.PrefixTreeClass(1, 3, 2), rng=0, bon_method="faithful", keep_data=True
    )
    learner = GradientClass(twin, lr=0.3, epochs=400, batch_size=60)
    lm = ss.sft_sharpening(twin, 60, 4, learner, rng=0, bon_method="faithful", keep_data=True)
    np.testing.assert_array_equal(core.data["x"], lm.data["x"])
    np.testing.assert_array_equal(core.data["y"], lm.data["y"])
    assert core.queries == lm.queries == 240
    np.testing.assert_allclose(fitted_table(lm.policy), fitted_table(core.policy), atol=2e-3)


@pytest.mark.parametrize("loss", ["regression", "logistic"])
def test_dpo_same_pairs_and_matching_fit(loss):
    """DPO: the same pairs and targets; with pairs connecting all 9 sequences both fits reach the same law.

    Regression (Eq. (8), r = log π_base): the zero-residual solution π_base^(1+1/β)
    is unique. Logistic: the empirical minimiser of the Bradley–Terry loss on the
    same labels, which both learners approach (the core exactly, AdamW to 1e-2).
    """
    ar, beta = joint_world(), 0.5
    twin = prompted(ar)
    cls = ss.PrefixTreeClass(1, 3, 2, ridge=0.0)
    core = ss.dpo_sharpening(
        ar, 300, beta, cls, rng=0, loss=loss, keep_data=True, check_realizable=False
    )
    learner = GradientClass(twin, lr=0.05, epochs=400, batch_size=300)
    lm = ss.dpo_sharpening(
        twin, 300, beta, learner, rng=0, loss=loss, keep_data=True, check_realizable=False
    )
    for key in ("x", "y", "y_ref"):
        np.testing.assert_array_equal(core.data[key], lm.data[key])
    # log π_base from torch's log-softmax and from NumPy agree to rounding
    np.testing.assert_allclose(core.data["target"], lm.data["target"], rtol=0, atol=1e-12)
    assert core.queries == lm.queries == 600
    np.testing.assert_allclose(fitted_table(lm.policy), fitted_table(core.policy), atol=1e-2)
    if loss == "regression":
        tilted = ss.tilted(ar.to_tabular(), beta).probs
        np.testing.assert_allclose(fitted_table(lm.policy), tilted, atol=1e-2)


def test_xpo_same_data_and_matching_iterates():
    """XPO (α = 0): round 1's pairs are the same; each round's fit reaches π*_β, so later rounds match too."""
    ar, beta = joint_world(), 0.5
    twin = prompted(ar)
    cls = ss.PrefixTreeClass(1, 3, 2, ridge=0.0)
    kwargs = dict(
        rng=0, select="last", prompts_per_iteration=150, check_realizable=False, keep_data=True
    )
    core = ss.xpo_sharpening(ar, 3, beta, 0.0, cls, **kwargs)
    learner = GradientClass(twin, lr=0.05, xpo_steps=300)
    lm = ss.xpo_sharpening(twin, 3, beta, 0.0, learner, **kwargs)
    assert core.queries == lm.queries == 2 * 3 * 150
    np.testing.assert_array_equal(core.data["x"], lm.data["x"])
    np.testing.assert_array_equal(core.data["y"][:150], lm.data["y"][:150])
    tilted = ss.tilted(ar.to_tabular(), beta).probs
    np.testing.assert_allclose(fitted_table(core.policy), tilted, atol=1e-2)
    np.testing.assert_allclose(fitted_table(lm.policy), fitted_table(core.policy), atol=1e-2)
