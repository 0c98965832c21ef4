"""Best-of-N, adaptive BoN, power sampling and the as_causal_lm bridge (torch backend)."""

import numpy as np
import pytest
from scipy import stats

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import sharpsim as ss  # noqa: E402
from sharpsim.torch import (  # noqa: E402
    CausalLMPolicy,
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
from sharpsim.torch.prompted import PAD, PromptedLM  # noqa: E402
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


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"block_size": 2, "proposal_temperature": 0.5, "init": "proposal"},
        {"block_size": 1, "growth_block": 2, "proposal_temperature": 0.4, "init": "proposal"},
        {"growth_block": 3},
        {"block_size": 3, "init": "explicit"},
    ],
)
def test_power_chain_on_wrapped_markov_equals_core_chain(kw):
    """The core chain on PromptedLM(as_causal_lm(ar)) = the core chain on ar: same states, same acceptances."""
    ar = random_markov(4, H=4)
    lm = as_causal_lm(ar)
    base = PromptedLM(lm, lm.prompts(np.arange(2)), max_new_tokens=4)
    x = np.array([0, 1, 1])
    if kw.get("init") == "explicit":
        kw = {**kw, "init": ar.sample(x, 4, rng=9)}
    ours = ss.power_sample_mcmc(base, x, 3.0, 6, 4, rng=5, **kw)
    core = ss.power_sample_mcmc(ar, x, 3.0, 6, 4, rng=5, **kw)
    np.testing.assert_array_equal(ours.samples, core.samples)
    np.testing.assert_array_equal(ours.acceptance_by_prompt, core.acceptance_by_prompt)
    assert 0.0 < ours.acceptance_rate == core.acceptance_rate < 1.0


# A causal LM that can end early: tokens 0, 1; prompts 2, 3; end of sequence 4. Its next-token
# law depends on the current token only (a bigram table).
_EOS, _H = 4, 3
_TABLE = np.array(
    [
        [0.5, 0.3, 0.0, 0.0, 0.2],
        [0.2, 0.5, 0.0, 0.0, 0.3],
        [0.6, 0.3, 0.0, 0.0, 0.1],
        [0.3, 0.3, 0.0, 0.0, 0.4],
        [0.2, 0.2, 0.2, 0.2, 0.2],
    ]
)


class _Bigram(torch.nn.Module):
    def __init__(self):
        super().__init__()
        with np.errstate(divide="ignore"):
            self.table = torch.nn.Parameter(torch.tensor(np.log(_TABLE)))

    def forward(self, ids, attention_mask=None):
        return self.table[ids]


def _ending_lm():
    from sharpsim.torch.wrap import SequenceTokenizer

    lm = CausalLMPolicy(_Bigram(), SequenceTokenizer(2, 2), chat_template=False)
    lm.batch_size = 8192
    return PromptedLM(lm, [[2], [3]], max_new_tokens=_H)


def _padded_core_policy():
    """The same law as a NumPy policy over tokens {0, 1, EOS = 2, PAD = 3}: PAD with probability 1 after EOS."""
    rows = ss.all_sequences(4, _H)
    probs = np.zeros((2, rows.shape[0]))
    for x in range(2):
        for r, row in enumerate(rows):
            prev, p = 2 + x, 1.0
            for tok in row:
                if prev == _EOS:
                    p *= tok == 3
                else:
                    p *= _TABLE[prev, _EOS if tok == 2 else tok] if tok < 3 else 0.0
                prev = _EOS if tok >= 2 else tok
            probs[x, r] = p
    return ss.JointAutoregressivePolicy(probs, 4, _H)


def _to_core(rows):
    return np.select([rows == _EOS, rows == PAD], [2, 3], rows)


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"block_size": 2, "proposal_temperature": 0.5, "init": "proposal"},
        {"growth_block": 1, "proposal_temperature": 0.25, "init": "proposal"},
    ],
)
def test_power_chain_with_early_ends_equals_core_chain(kw):
    """Variable-length responses: a cut after the end proposes the same row; states match the padded core policy."""
    x = np.array([0, 1])
    ours = ss.power_sample_mcmc(_ending_lm(), x, 2.5, 8, 20, rng=3, **kw)
    core = ss.power_sample_mcmc(_padded_core_policy(), x, 2.5, 8, 20, rng=3, **kw)
    assert np.any(ours.samples == PAD) and np.any(ours.samples[..., -1] != PAD)
    np.testing.assert_array_equal(_to_core(ours.samples), core.samples)
    np.testing.assert_array_equal(ours.acceptance_by_prompt, core.acceptance_by_prompt)


def test_power_sample_matches_exact_chain_law():
    """``power_sample`` (Karan & Du settings) vs the exact law after n_mcmc steps per block.

    Chi-square goodness of fit per prompt at family-wise level 1e-3 (Bonferroni over
    the 2 prompts); the exact law is ``power_chain_law`` of the padded NumPy policy
    with ``init="proposal"``, ``τ = 1/α`` and ``growth_block = block_size``.
    """
    base = _ending_lm()
    alpha, n_mcmc, block, n_chains = 3.0, 2, 2, 3000
    r = power_sample(
        base.lm,
        [[2], [3]],
        alpha,
        max_new_tokens=_H,
        block_size=block,
        n_mcmc=n_mcmc,
        n_chains=n_chains,
        rng=0,
    )
    assert r.queries == 2 * n_chains * 2 * (1 + n_mcmc)
    core = _padded_core_policy()
    rows = base.pad(r.token_ids)
    for x in range(2):
        exact = ss.power_chain_law(
            core,
            x,
            alpha,
            [n_mcmc],
            proposal_temperature=1 / alpha,
            init="proposal",
            growth_block=block,
        ).laws[0]
        counts = np.bincount(ss.encode_sequences(_to_core(rows[x]), 4), minlength=exact.size)
        support = exact > 0
        assert counts[~support].sum() == 0
        p_value = stats.chisquare(counts[support], exact[support] * n_chains).pvalue
        assert p_value > 1e-3 / 2, (x, counts[support], exact[support] * n_chains)
        # Resolution: the same counts reject the limit π^α (n_mcmc = 2 is far from mixed).
        limit = ss.power_law(core, alpha).probs[x][support]
        assert stats.chisquare(counts[support], limit * n_chains).pvalue < 1e-6
        np.testing.assert_allclose(
            r.log_probs[x], core.log_prob(x, _to_core(rows[x])), rtol=0, atol=1e-12
        )


def test_power_sample_on_a_kv_cache_model_is_reproducible_and_scored(lm):
    """On a Hugging Face model (KV-cache redraws from left-padded prefixes): valid rows, exact scores, same seed ⇒ same draws."""
    kw = dict(max_new_tokens=5, block_size=2, n_mcmc=2, n_chains=3, rng=4)
    r, again = power_sample(lm, PROMPTS, 3.0, **kw), power_sample(lm, PROMPTS, 3.0, **kw)
    assert r.token_ids == again.token_ids and r.acceptance_rate == again.acceptance_rate
    base = PromptedLM(lm, PROMPTS, max_new_tokens=5)
    rows = base.check_sequences(base.pad(r.token_ids))
    np.testing.assert_allclose(r.log_probs, base.log_prob([[0], [1]], rows), rtol=0, atol=1e-9)
    assert r.queries == 2 * 3 * 3 * (1 + 2) and 0.0 < r.acceptance_rate <= 1.0


def test_power_sample_bad_input(lm):
    with pytest.raises(ValueError, match="alpha must be in"):
        power_sample(lm, PROMPTS, 0.5)
    with pytest.raises(ValueError, match="block_size must be >= 1"):
        power_sample(lm, PROMPTS, 2.0, block_size=0)
    with pytest.raises(ValueError, match="n_mcmc must be >= 1"):
        power_sample(lm, PROMPTS, 2.0, n_mcmc=0)
    with pytest.raises(ValueError, match="prompts must be a non-empty list"):
        power_sample(lm, [], 2.0)
    with pytest.raises(TypeError, match="SuffixPolicy protocol"):
        ss.power_sample_mcmc(ss.TabularPolicy([[0.5, 0.5]]), [0], 2.0, 1)
    base = _ending_lm()
    with pytest.raises(ValueError, match="init rows must be token ids"):
        ss.power_sample_mcmc(base, [0], 2.0, 1, init=[0, PAD, 1])  # PAD without an end
    with pytest.raises(ValueError, match="init rows must be token ids"):
        ss.power_sample_mcmc(base, [0], 2.0, 1, init=[_EOS, 0, PAD])  # a token after the end
    with pytest.raises(ValueError, match="init token ids must be in"):
        ss.power_sample_mcmc(base, [0], 2.0, 1, init=[0, 9, 1])
    with pytest.raises(ValueError, match="init must have shape"):
        ss.power_sample_mcmc(base, [0], 2.0, 1, init=[0, 1])
