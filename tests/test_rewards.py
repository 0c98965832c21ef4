import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import prob_tables, prob_tables_of_shape, reward_tables

import sharpsim as ss


def padded_sequences(vocab, horizon, end_token):
    """Bool ``[V**H]``: sequences whose tokens after the first end token are all ``end_token``."""
    seqs = ss.all_sequences(vocab, horizon)
    after = np.arange(horizon) >= ss.LengthNormalizedReward(end_token).lengths(seqs)[:, None]
    return np.all(np.where(after, seqs == end_token, True), axis=1)


@st.composite
def padded_policies(draw, vocab=3, horizon=3, end_token=0):
    """Random autoregressive policies with deterministic padding (mass only on padded sequences)."""
    valid = padded_sequences(vocab, horizon, end_token)
    probs = draw(prob_tables_of_shape(draw(st.integers(1, 2)), int(valid.sum())))
    joint = np.zeros((probs.shape[0], valid.size))
    joint[:, valid] = probs
    return ss.JointAutoregressivePolicy(joint, vocab, horizon)


# --------------------------------------------------------------------------- log-likelihood


@given(prob_tables())
def test_log_likelihood_table_is_log_probs(probs):
    pi = ss.TabularPolicy(probs)
    np.testing.assert_array_equal(ss.log_likelihood.table(pi), pi.log_probs)
    assert isinstance(ss.log_likelihood, ss.LogLikelihoodReward)


@given(prob_tables())
def test_fixed_rewards_score_equals_table_on_samples(probs):
    pi = ss.TabularPolicy(probs)
    oracle = ss.SampleEvaluateOracle(pi, rng=0)
    x = np.arange(pi.n_contexts)
    y, lp = oracle.sample(x, 7)
    for reward in (
        ss.log_likelihood,
        ss.TableReward(np.arange(probs.size, dtype=float).reshape(probs.shape)),
    ):
        np.testing.assert_array_equal(reward.score(x, y, lp), reward.table(pi)[x[:, None], y])


# --------------------------------------------------------------------------- length-normalised


def test_lengths_first_end_token_plus_one():
    reward = ss.LengthNormalizedReward(end_token=2)
    assert reward.lengths([[2, 2, 2], [0, 2, 1], [0, 1, 1], [1, 0, 2]]).tolist() == [1, 2, 3, 3]


@given(padded_policies())
def test_length_normalized_table_and_score_agree(policy):
    reward = ss.LengthNormalizedReward(end_token=0)
    table = reward.table(policy)
    seqs = ss.all_sequences(3, 3)
    log_probs = policy.to_tabular().log_probs
    expected = log_probs / reward.lengths(seqs)[None, :]
    np.testing.assert_array_equal(table, expected)
    oracle = ss.SampleEvaluateOracle(policy, rng=1)
    x = np.arange(policy.n_contexts)
    y, lp = oracle.sample(x, 9)
    np.testing.assert_allclose(
        reward.score(x, y, lp), table[x[:, None], ss.encode_sequences(y, 3)], rtol=1e-12
    )


def test_length_normalized_requires_deterministic_padding():
    # V=2, H=2, end token 0: "0 then 1" and "0 then 0" both have mass after the end.
    policy = ss.JointAutoregressivePolicy([[0.25, 0.25, 0.25, 0.25]], 2, 2)
    with pytest.raises(ValueError, match="deterministic"):
        ss.LengthNormalizedReward(0).table(policy)


def test_length_normalized_bad_inputs():
    with pytest.raises(ValueError, match="end_token must be >= 0"):
        ss.LengthNormalizedReward(-1)
    with pytest.raises(TypeError, match="end_token must be an integer"):
        ss.LengthNormalizedReward(0.5)
    with pytest.raises(TypeError, match="base must be an autoregressive policy"):
        ss.LengthNormalizedReward(0).table(ss.TabularPolicy([[1.0]]))
    with pytest.raises(ValueError, match="end_token must be < vocab_size"):
        ss.LengthNormalizedReward(5).table(ss.JointAutoregressivePolicy([[0.5, 0.5]], 2, 1))
    with pytest.raises(ValueError, match=r"shape \(k, N, H\)"):
        ss.LengthNormalizedReward(0).score([0], [[1, 0]], [[-1.0, -1.0]])


# --------------------------------------------------------------------------- majority vote


@given(prob_tables(), st.data())
def test_majority_population_table_matches_direct_sum(probs, data):
    n_x, n_y = probs.shape
    answers = np.array(
        data.draw(st.lists(st.integers(0, 3), min_size=n_x * n_y, max_size=n_x * n_y))
    ).reshape(n_x, n_y)
    table = ss.MajorityVoteReward(answers).table(ss.TabularPolicy(probs))
    for x in range(n_x):
        for y in range(n_y):
            assert table[x, y] == pytest.approx(
                probs[x][answers[x] == answers[x, y]].sum(), rel=1e-12, abs=0
            )


@given(st.integers(1, 4), st.integers(1, 8), st.integers(0, 2**32 - 1))
def test_majority_empirical_score_is_share_of_the_row(k, n, seed):
    rng = np.random.default_rng(seed)
    answers = rng.integers(0, 3, size=(2, 5))
    x = rng.integers(0, 2, size=k)
    y = rng.integers(0, 5, size=(k, n))
    ids = answers[x[:, None], y]
    expected = (ids[:, :, None] == ids[:, None, :]).mean(axis=2)
    reward = ss.MajorityVoteReward(answers)
    np.testing.assert_allclose(reward.score(x, y, np.zeros((k, n))), expected, rtol=1e-15)
    assert reward.depends_on_group


def test_majority_callable_on_sequences():
    joint = np.array([[0.1, 0.2, 0.3, 0.4]])  # sequences 00, 01, 10, 11
    policy = ss.JointAutoregressivePolicy(joint, 2, 2)
    reward = ss.MajorityVoteReward(
        lambda seqs: np.asarray(seqs).sum(axis=-1)
    )  # answer = number of ones
    np.testing.assert_allclose(reward.table(policy), [[0.1, 0.5, 0.5, 0.4]], rtol=1e-12)
    y = np.array([[[0, 1], [1, 0], [1, 1]]])
    np.testing.assert_allclose(reward.score([0], y, np.zeros((1, 3))), [[2 / 3, 2 / 3, 1 / 3]])


def test_majority_bad_inputs():
    with pytest.raises(TypeError, match="answers must be a callable or a non-empty integer array"):
        ss.MajorityVoteReward(np.array([[0.5, 1.0]]))
    with pytest.raises(ValueError, match="non-negative"):
        ss.MajorityVoteReward([[0, -1]])
    pi = ss.TabularPolicy([[0.5, 0.5]])
    with pytest.raises(ValueError, match=r"answers must have shape \(n_contexts, n_responses\)"):
        ss.MajorityVoteReward([[0, 1, 1]]).table(pi)
    with pytest.raises(ValueError, match="answers callable must return integer ids of shape"):
        ss.MajorityVoteReward(lambda r: np.zeros(3, int)).table(pi)
    with pytest.raises(ValueError, match="non-negative ids"):
        ss.MajorityVoteReward(lambda r: -np.ones(np.shape(r), int)).table(pi)
    with pytest.raises(ValueError, match="outside"):
        ss.MajorityVoteReward([[0, 1]]).score([0], [[2]], [[0.0]])


# --------------------------------------------------------------------------- table reward and shared validation


@given(st.data())
def test_table_reward_on_sequences_uses_mixed_radix(data):
    vocab, horizon = 2, 2
    joint = np.asarray(data.draw(prob_tables_of_shape(1, vocab**horizon)))
    values = data.draw(reward_tables(1, vocab**horizon))
    policy = ss.JointAutoregressivePolicy(joint, vocab, horizon)
    reward = ss.TableReward(values, vocab_size=vocab)
    seqs = ss.all_sequences(vocab, horizon)[None]
    np.testing.assert_array_equal(reward.score([0], seqs, np.zeros((1, 4))), values)
    np.testing.assert_array_equal(reward.table(policy), values)


def test_table_reward_bad_inputs():
    with pytest.raises(ValueError, match="NaN"):
        ss.TableReward([[np.nan, 0.0]])
    with pytest.raises(ValueError, match=r"\+inf"):
        ss.TableReward([[np.inf, 0.0]])
    with pytest.raises(TypeError, match="values must be a non-empty real array"):
        ss.TableReward([1.0, 2.0])
    with pytest.raises(ValueError, match="values must have shape"):
        ss.TableReward([[1.0, 2.0]]).table(ss.TabularPolicy([[1.0, 0.0, 0.0]]))
    with pytest.raises(ValueError, match="vocab_size is needed"):
        ss.TableReward([[1.0, 2.0]]).score([0], [[[0], [1]]], np.zeros((1, 2)))


@pytest.mark.parametrize(
    "reward", [ss.log_likelihood, ss.LengthNormalizedReward(0), ss.TableReward([[0.0, 1.0]])]
)
def test_score_argument_shapes(reward):
    with pytest.raises(ValueError, match="log_prob must have shape"):
        reward.score([0], [[0, 1]], [-1.0, -1.0])
    with pytest.raises(ValueError, match="y must have shape"):
        reward.score([0], [[0, 1, 1]], [[-1.0, -1.0]])
    with pytest.raises(TypeError, match="x must be a 1-d integer array"):
        reward.score([0.0], [[0, 1]], [[-1.0, -1.0]])


def test_table_and_majority_rewards_reject_negative_prompts_and_foreign_tokens():
    # A negative prompt index used to wrap around to the last row silently.
    with pytest.raises(ValueError, match="outside"):
        ss.TableReward([[1.0, 2.0], [3.0, 4.0]]).score([-1], [[0]], [[0.0]])
    with pytest.raises(ValueError, match="outside"):
        ss.MajorityVoteReward([[0, 1], [1, 1]]).score([-1], [[0]], [[0.0]])
    # Sequences: a token >= vocab_size, or a horizon that does not match the table, used to
    # be looked up as some other sequence's mixed-radix index.
    reward = ss.TableReward(np.arange(4.0)[None], vocab_size=2)
    with pytest.raises(ValueError, match="y entries must be in"):
        reward.score([0], [[[0, 3]]], [[0.0]])
    with pytest.raises(ValueError, match=r"vocab_size\*\*H"):
        reward.score([0], [[[1]]], [[0.0]])


def test_majority_vote_with_huge_sparse_answer_ids():
    # Ids are only labels: 10**12·y used to allocate a 10**12-long count array (MemoryError).
    pi = ss.TabularPolicy([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    dense = ss.MajorityVoteReward(lambda r: np.asarray(r) % 2)
    sparse = ss.MajorityVoteReward(lambda r: (np.asarray(r) % 2) * 10**12 + 7)
    np.testing.assert_array_equal(sparse.table(pi), dense.table(pi))
    y = np.array([[0, 1, 2, 2], [1, 1, 0, 2]])
    np.testing.assert_array_equal(
        sparse.score([0, 1], y, np.zeros((2, 4))), dense.score([0, 1], y, np.zeros((2, 4)))
    )


@pytest.mark.parametrize(
    "reward", [ss.log_likelihood, ss.LengthNormalizedReward(0), ss.TableReward([[1.0, 2.0]])]
)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_score_refuses_nan_or_inf_log_prob(reward, bad):
    y = [[[1, 0], [0, 0]]] if isinstance(reward, ss.LengthNormalizedReward) else [[0, 1]]
    with pytest.raises(ValueError, match="log_prob must not contain NaN"):
        reward.score([0], y, [[bad, -1.0]])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_reward_table_refuses_nan_or_plus_inf(bad):
    class Bad(ss.LogLikelihoodReward):
        def table(self, base):
            return np.array([[0.0, bad]])

    with pytest.raises(ValueError, match=r"reward.table must not contain NaN or \+inf"):
        ss.best_of_n_law(ss.TabularPolicy([[0.5, 0.5]]), 2, reward=Bad())
