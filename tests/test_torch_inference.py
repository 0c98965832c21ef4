"""Best-of-N, adaptive BoN, power sampling and the as_causal_lm bridge (torch backend)."""

import numpy as np
import pytest
from scipy import stats

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import sharpsim as ss  # noqa: E402
from sharpsim.torch import (  # noqa: E402
    LengthNormalized,
    MajorityVote,
    adaptive_best_of_n,
    as_causal_lm,
    beam_search,
    best_of_n,
    greedy,
    power_sample,
    select_best,
    tiny_causal_lm,
)
from sharpsim.torch.rewards import score_samples  # noqa: E402

PROMPTS = ["1+1=", "ab"]


@pytest.fixture(scope="module")
def lm():
    return tiny_causal_lm("gpt2", seed=7)


def random_markov(seed, X=2, V=3, H=3):
    rng = np.random.default_rng(seed)
    return ss.MarkovPolicy(
        rng.dirichlet(np.ones(V), size=X), rng.dirichlet(np.ones(V), size=(X, H - 1, V))
    )


def test_bon_picks_highest_reward_and_scores_match_log_prob(lm):
    """The core's loop on the LM draws exactly ``lm.sample``'s candidates (same rng) and keeps the best."""
    res = best_of_n(lm, PROMPTS, 5, max_new_tokens=4, rng=0)
    cands = lm.sample(PROMPTS, 5, max_new_tokens=4, rng=0)
    picked = select_best(cands)
    assert res.queries == picked.queries == 10
    assert res.token_ids == picked.token_ids and res.texts == picked.texts
    np.testing.assert_array_equal(res.log_probs, cands.log_probs.max(axis=1))
    np.testing.assert_allclose(lm.log_prob(PROMPTS, res.token_ids), res.log_probs, atol=1e-9)
    assert best_of_n(lm, PROMPTS, 5, max_new_tokens=4, rng=0).token_ids == res.token_ids


def test_bon_with_length_normalized_and_majority(lm):
    cands = lm.sample(PROMPTS, 6, max_new_tokens=5, rng=3)
    rows = np.arange(2)
    norm = cands.log_probs / np.array([[len(r) for r in g] for g in cands.token_ids])
    ln = select_best(cands, LengthNormalized())
    np.testing.assert_array_equal(ln.log_probs, cands.log_probs[rows, np.argmax(norm, axis=1)])
    vote = MajorityVote(lambda text: len(text) % 2)
    shares = score_samples(vote, cands)
    answers = np.array([[len(t) % 2 for t in g] for g in cands.texts])
    expected = (answers[:, :, None] == answers[:, None, :]).mean(axis=2)
    np.testing.assert_array_equal(shares, expected)
    mv = select_best(cands, vote)
    np.testing.assert_array_equal(mv.log_probs, cands.log_probs[rows, np.argmax(shares, axis=1)])


def test_bon_bad_input(lm):
    with pytest.raises(ValueError, match="N must be >= 1"):
        best_of_n(lm, PROMPTS, 0)
    with pytest.raises(ValueError, match="reward must be one of"):
        best_of_n(lm, PROMPTS, 2, reward="nope", max_new_tokens=2)
    with pytest.raises(TypeError, match="extract must be callable"):
        MajorityVote("not callable")
    with pytest.raises(ValueError, match="max_new_tokens must be >= 1"):
        best_of_n(lm, PROMPTS, 2, max_new_tokens=0)


def test_greedy_and_beam(lm):
    g = greedy(lm, PROMPTS, max_new_tokens=3)
    b = beam_search(lm, PROMPTS, 3, max_new_tokens=3)
    assert np.all(b.log_probs >= g.log_probs - 1e-9)
    with pytest.raises(ValueError, match="width must be >= 1"):
        beam_search(lm, PROMPTS, 0)


def test_adaptive_bon_stops_by_eq10_on_wrapped_markov():
    """On a wrapped Markov model the stopping rule can be checked draw by draw against Eq. (10)."""
    ar = random_markov(0)
    lm = as_causal_lm(ar)
    mu_stop = 2.0
    res = adaptive_best_of_n(lm, lm.prompts([0, 1, 0]), mu_stop, max_N=200, max_new_tokens=3, rng=1)
    assert not res.capped.any() and res.queries == res.samples_per_prompt.sum()
    # The pick is the best of the first N_mu draws, and N_mu is the first k with k >= mu_stop / max_j pi(y_j).
    for k_draws, lp in zip(res.samples_per_prompt, res.log_probs):
        assert k_draws >= mu_stop * np.exp(-lp) - 1e-9
    np.testing.assert_allclose(
        res.log_probs, ar.log_prob([0, 1, 0], lm.sequences(res.token_ids)), atol=1e-12
    )


def test_adaptive_bon_bad_input(lm):
    with pytest.raises(ValueError, match="mu_stop must be in"):
        adaptive_best_of_n(lm, PROMPTS, 0.0)
    with pytest.raises(ValueError, match="max_N must be >= 1"):
        adaptive_best_of_n(lm, PROMPTS, 1.0, max_N=0)


# ------------------------------------------------------------------ cross-backend


@pytest.mark.parametrize("kind", ["markov", "joint"])
def test_wrapped_sequence_log_probs_equal_core(kind):
    ar = random_markov(1)
    if kind == "joint":
        ar = ss.JointAutoregressivePolicy(ar.to_tabular(), 3, 3)
    lm = as_causal_lm(ar)
    seqs = ss.all_sequences(3, 3)
    for x in range(2):
        got = lm.log_prob(lm.prompts([x] * len(seqs)), lm.responses(seqs))
        np.testing.assert_allclose(got, ar.log_prob(x, seqs), rtol=0, atol=1e-12)


def test_wrapped_samples_are_scored_like_core():
    ar = random_markov(2)
    lm = as_causal_lm(ar)
    s = lm.sample(lm.prompts([0, 1]), 20, max_new_tokens=4, rng=0)
    seqs = lm.sequences(s.token_ids)
    assert seqs.shape == (2, 20, 3) and s.finished.all()
    np.testing.assert_allclose(s.log_probs, ar.log_prob(np.array([[0], [1]]), seqs), atol=1e-12)


# ------------------------------------------------------------------ power sampling


def test_power_sampling_matches_exact_power_law():
    """MH chains on a wrapped 2x2 Markov model vs the exact π^α (chi-square at level 1e-3).

    With H = 2 and one block every move from t = 0 is an independence sampler
    whose acceptance is bounded below, so after 25 moves the chains' law is
    within ~1e-6 (total variation) of π^α — far below the test's resolution
    with 3000 chains.
    """
    ar = ss.MarkovPolicy([[0.5, 0.5]], [[[[0.2, 0.8], [0.6, 0.4]]]])
    lm = as_causal_lm(ar)
    lm.batch_size = 4096
    alpha, n_chains = 3.0, 3000
    r = power_sample(
        lm,
        lm.prompts([0]),
        alpha,
        max_new_tokens=3,
        block_size=3,
        n_mcmc=25,
        n_chains=n_chains,
        rng=0,
    )
    seqs = lm.sequences(r.token_ids)[0]
    counts = np.bincount(ss.encode_sequences(seqs, 2), minlength=4)
    exact = ss.power_law(ar, alpha).probs[0]
    p_value = stats.chisquare(counts, exact * n_chains).pvalue
    assert p_value > 1e-3, (counts, exact * n_chains)
    # Token-level temperature 1/α is a different law: its first token stays uniform here.
    assert abs(exact[:2].sum() - 0.5) > 0.05


def test_power_sample_bad_input(lm):
    with pytest.raises(ValueError, match="alpha must be in"):
        power_sample(lm, PROMPTS, 0.5)
    with pytest.raises(ValueError, match="block_size must be >= 1"):
        power_sample(lm, PROMPTS, 2.0, block_size=0)
