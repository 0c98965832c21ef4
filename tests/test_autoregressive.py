import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from scipy.special import logsumexp
from strategies import autoregressive_policies, markov_policies, prob_tables_of_shape

import sharpsim as ss
from sharpsim.policies.base import TIE_RTOL


def _markov_log_table(initial, transition):
    """Independent reference: log π(y|x) of every sequence by explicit loops over sequences."""
    n_x, vocab = initial.shape
    horizon = transition.shape[1] + 1
    seqs = ss.all_sequences(vocab, horizon)
    with np.errstate(divide="ignore"):
        out = np.array(
            [
                [
                    np.log(initial[x, s[0]])
                    + sum(np.log(transition[x, h, s[h], s[h + 1]]) for h in range(horizon - 1))
                    for s in seqs
                ]
                for x in range(n_x)
            ]
        )
    return out


def _assert_same_log_probs(actual, expected, rtol=1e-12):
    np.testing.assert_array_equal(np.isneginf(actual), np.isneginf(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(actual[finite], expected[finite], rtol=rtol, atol=1e-12)


def _enumeration_mode(policy, x):
    return ss.AutoregressivePolicy.mode(policy, x)


# --------------------------------------------------------------------------- Markov


@given(markov_policies())
def test_markov_to_tabular_matches_product_of_transitions(policy):
    expected = _markov_log_table(policy.initial, policy.transition)
    _assert_same_log_probs(policy.to_tabular().log_probs, expected)


@given(markov_policies())
def test_log_prob_broadcasts_and_matches_table(policy):
    table = policy.to_tabular().log_probs
    seqs = ss.all_sequences(policy.vocab_size, policy.horizon)
    got = policy.log_prob(np.arange(policy.n_contexts)[:, None], seqs[None])
    np.testing.assert_array_equal(got.shape, table.shape)
    _assert_same_log_probs(got, table)


@given(markov_policies(max_vocab=3, max_horizon=4))
def test_viterbi_mode_equals_enumeration_mode_with_ties(policy):
    x = np.arange(policy.n_contexts)
    np.testing.assert_array_equal(policy.mode(x), _enumeration_mode(policy, x))


@given(autoregressive_policies())
def test_mode_attains_maximum_and_is_first_among_ties(policy):
    x = np.arange(policy.n_contexts)
    table = policy.to_tabular().log_probs
    idx = ss.encode_sequences(policy.mode(x), policy.vocab_size)
    best = table.max(axis=1)
    tol = TIE_RTOL * np.maximum(1.0, np.abs(best))
    assert np.all(table[x, idx] >= best - tol)
    below = np.arange(policy.n_responses)[None] < idx[:, None]
    assert not np.any(below & (table >= (best - tol)[:, None]))


@st.composite
def rational_markov_policies(draw, max_vocab=3, max_horizon=4):
    """Rows w / w.sum() with integer weights 1..9: many products tie exactly but round differently."""
    vocab, horizon = draw(st.integers(2, max_vocab)), draw(st.integers(2, max_horizon))
    weights = np.array(
        draw(
            st.lists(
                st.integers(1, 9),
                min_size=vocab * (1 + (horizon - 1) * vocab),
                max_size=vocab * (1 + (horizon - 1) * vocab),
            )
        ),
        float,
    ).reshape(-1, vocab)
    rows = weights / weights.sum(axis=1, keepdims=True)
    return ss.MarkovPolicy(rows[:1], rows[1:].reshape(1, horizon - 1, vocab, vocab))


@given(rational_markov_policies())
def test_viterbi_equals_enumeration_when_ties_round_differently(policy):
    np.testing.assert_array_equal(policy.mode([0]), _enumeration_mode(policy, [0]))


def test_viterbi_tie_regression_rounding():
    """000 and 110 both have probability 7/48, but their log-probs differ by an ulp when summed
    in Viterbi's and in enumeration's order; the tie rule must still pick 000 in both."""
    a, h = np.array([7.0, 5.0]) / 12, np.array([0.5, 0.5])
    policy = ss.MarkovPolicy([h], [[[a, h], [h, a]]])
    np.testing.assert_allclose(policy.to_tabular().probs[0, [0, 6]], [7 / 48, 7 / 48])
    np.testing.assert_array_equal(policy.mode([0]), [[0, 0, 0]])
    np.testing.assert_array_equal(_enumeration_mode(policy, [0]), [[0, 0, 0]])


def test_viterbi_long_horizon_no_underflow():
    rng = np.random.default_rng(3)
    vocab, horizon = 5, 400
    initial = rng.dirichlet(np.ones(vocab), size=2)
    transition = rng.dirichlet(np.full(vocab, 0.3), size=(2, horizon - 1, vocab))
    policy = ss.MarkovPolicy(initial, transition)
    mode = policy.mode([0, 1])
    logp = policy.log_prob([0, 1], mode)
    assert np.all(np.isfinite(logp)) and np.all(logp < -1.0)
    # The Viterbi path beats every one of many samples (it is the exact maximiser).
    samples = policy.sample([0, 1], 200, rng=0)
    assert np.all(policy.log_prob(np.array([[0], [1]]), samples) <= logp[:, None] + 1e-9)


def test_markov_with_horizon_one_is_a_tabular_policy():
    policy = ss.MarkovPolicy([[0.2, 0.8]], np.zeros((1, 0, 2, 2)))
    np.testing.assert_allclose(policy.to_tabular().probs, [[0.2, 0.8]])
    np.testing.assert_array_equal(policy.mode([0]), [[1]])


# ------------------------------------------------------------------- joint / round trip


@given(st.integers(1, 2), st.integers(1, 3), st.integers(1, 3), st.data())
def test_joint_round_trip(n_x, vocab, horizon, data):
    joint = data.draw(prob_tables_of_shape(n_x, vocab**horizon))
    policy = ss.JointAutoregressivePolicy(joint, vocab, horizon)
    with np.errstate(divide="ignore"):
        _assert_same_log_probs(policy.to_tabular().log_probs, np.log(joint), rtol=1e-9)
    from_tabular = ss.AutoregressivePolicy.from_joint(ss.TabularPolicy(joint), vocab, horizon)
    np.testing.assert_array_equal(
        from_tabular.to_tabular().log_probs, policy.to_tabular().log_probs
    )


@given(markov_policies())
def test_joint_of_markov_has_the_markov_conditionals_on_reachable_prefixes(markov):
    table = markov.to_tabular()
    joint = ss.JointAutoregressivePolicy(table, markov.vocab_size, markov.horizon)
    x = np.arange(markov.n_contexts)[:, None]
    for h in range(markov.horizon):
        blocks = table.log_probs.reshape(markov.n_contexts, markov.vocab_size**h, -1)
        with np.errstate(divide="ignore"):
            reachable = np.isfinite(logsumexp(blocks, axis=-1))  # prefix marginal > 0
        prefixes = ss.all_sequences(markov.vocab_size, h)[None]
        got = joint.next_token_log_probs(x, prefixes)[reachable]
        _assert_same_log_probs(got, markov.next_token_log_probs(x, prefixes)[reachable], rtol=1e-9)


def test_joint_conditionals_after_zero_prefix_are_uniform():
    # Prefix "a" (token 0) has probability 0: its conditionals are uniform by definition.
    policy = ss.JointAutoregressivePolicy([[0.0, 0.0, 0.0, 0.3, 0.3, 0.1, 0.3, 0.0, 0.0]], 3, 2)
    np.testing.assert_allclose(np.exp(policy.next_token_log_probs(0, [0])), [1 / 3] * 3)
    np.testing.assert_allclose(np.exp(policy.next_token_log_probs(0, [1])), [3 / 7, 3 / 7, 1 / 7])
    np.testing.assert_allclose(np.exp(policy.next_token_log_probs(0, [2])), [1.0, 0.0, 0.0])
    assert policy.log_prob(0, [0, 1]) == -np.inf


def test_joint_tiny_masses_stay_in_log_space():
    joint = np.array([[1e-300, 1e-300, 0.5, 0.5 - 2e-300]])
    policy = ss.JointAutoregressivePolicy(joint, 2, 2)
    np.testing.assert_allclose(policy.log_prob(0, [0, 1]), np.log(1e-300), rtol=1e-12)
    np.testing.assert_allclose(policy.next_token_log_probs(0, [0]), np.log([0.5, 0.5]), rtol=1e-12)


# ------------------------------------------------------------------------------- sampling


@given(autoregressive_policies())
def test_samples_never_have_zero_probability(policy):
    x = np.arange(policy.n_contexts)
    seqs = policy.sample(x, 100, rng=2)
    assert seqs.shape == (policy.n_contexts, 100, policy.horizon)
    assert np.all(np.isfinite(policy.log_prob(x[:, None], seqs)))


@pytest.mark.parametrize("kind", ["markov", "joint"])
def test_sample_matches_law_chi_square(kind):
    """Chi-square goodness of fit at level 0.001 per prompt (Bonferroni over 2 prompts x 2 kinds)."""
    rng = np.random.default_rng(5)
    vocab, horizon = 3, 3
    if kind == "markov":
        policy = ss.MarkovPolicy(
            rng.dirichlet(np.ones(vocab), size=2),
            rng.dirichlet(np.ones(vocab), size=(2, horizon - 1, vocab)),
        )
    else:
        policy = ss.JointAutoregressivePolicy(
            rng.dirichlet(np.ones(vocab**horizon), size=2), vocab, horizon
        )
    n = 30_000
    idx = ss.encode_sequences(policy.sample([0, 1], n, rng=11), vocab)
    probs = policy.to_tabular().probs
    for x in range(2):
        counts = np.bincount(idx[x], minlength=vocab**horizon)
        assert stats.chisquare(counts, n * probs[x]).pvalue > 0.001 / 4


def test_sample_seed_reproducible_and_empty():
    policy = ss.JointAutoregressivePolicy(np.full((2, 8), 1 / 8), 2, 3)
    same_seed = policy.sample([0, 1], 7, rng=np.random.default_rng(4))
    np.testing.assert_array_equal(policy.sample([0, 1], 7, rng=4), same_seed)
    assert policy.sample([0, 1], 0, rng=0).shape == (2, 0, 3)


# ------------------------------------------------------------------ user subclasses


class _Sticky(ss.AutoregressivePolicy):
    """Repeat the previous token with probability ``stay``; first token uniform."""

    def __init__(self, stay, vocab=3, horizon=3):
        super().__init__(1, vocab, horizon)
        self.stay = stay

    def next_token_log_probs(self, x, prefix):
        shape = np.broadcast_shapes(np.shape(x), prefix.shape[:-1]) + (self.vocab_size,)
        if prefix.shape[-1] == 0:
            return np.full(shape, -np.log(self.vocab_size))
        same = prefix[..., -1:] == np.arange(self.vocab_size)
        move = (1 - self.stay) / (self.vocab_size - 1)
        return np.broadcast_to(np.log(np.where(same, self.stay, move)), shape)


def test_user_subclass_gets_generic_methods():
    policy = _Sticky(0.7)
    table = policy.to_tabular().probs
    seqs = ss.all_sequences(3, 3)
    repeats = (seqs[:, 1:] == seqs[:, :-1]).sum(axis=1)
    np.testing.assert_allclose(table[0], (1 / 3) * 0.7**repeats * 0.15 ** (2 - repeats))
    np.testing.assert_array_equal(policy.mode([0]), [[0, 0, 0]])
    assert np.all(np.isfinite(policy.log_prob(0, policy.sample([0], 50, rng=0))))


def test_user_subclass_that_does_not_normalise_is_rejected():
    class Unnormalised(_Sticky):
        def next_token_log_probs(self, x, prefix):
            return super().next_token_log_probs(x, prefix) + 0.1

    class ReturnsNaN(_Sticky):
        def next_token_log_probs(self, x, prefix):
            return super().next_token_log_probs(x, prefix) * np.nan

    with pytest.raises(ValueError, match="normalise"):
        Unnormalised(0.5).sample([0], 3, rng=0)
    with pytest.raises(ValueError, match="log-sum-exp"):
        Unnormalised(0.5).to_tabular()
    with pytest.raises(ValueError, match="NaN"):
        ReturnsNaN(0.5).log_prob(0, [0, 1, 2])


def test_user_subclass_wrong_shape_and_missing_hook():
    class WrongShape(_Sticky):
        def next_token_log_probs(self, x, prefix):
            return np.zeros(2)

    with pytest.raises(ValueError, match="must return shape"):
        WrongShape(0.5).log_prob(0, [0, 0, 0])
    with pytest.raises(NotImplementedError):
        ss.AutoregressivePolicy(1, 2, 2).log_prob(0, [0, 0])


# ----------------------------------------------------------- multi-layer linear softmax


def test_linear_softmax_matches_direct_softmax():
    rng = np.random.default_rng(0)
    n_x, vocab, horizon, d = 2, 3, 3, 4
    tables = [rng.normal(size=(n_x, vocab ** (h + 1), d)) for h in range(horizon)]

    def features(h, x, seqs):
        return tables[h][x, ss.encode_sequences(seqs, vocab)]

    theta = rng.normal(size=(horizon, d))
    policy = ss.MultiLayerLinearSoftmaxPolicy(features, theta, vocab, horizon, n_x, B=10.0)
    expected = np.zeros((n_x, vocab**horizon))
    for x in range(n_x):
        for i, s in enumerate(ss.all_sequences(vocab, horizon)):
            for h in range(horizon):
                stem = ss.encode_sequences(s[:h], vocab) * vocab if h else 0
                logits = tables[h][x, stem + np.arange(vocab)] @ theta[h]
                expected[x, i] += logits[s[h]] - np.log(np.exp(logits).sum())
    np.testing.assert_allclose(policy.to_tabular().log_probs, expected, rtol=1e-12, atol=1e-12)


def _spins(seqs, horizon):
    """Tokens {0, 1} -> spins {-1, +1}, zero-padded to length H (unset positions contribute 0)."""
    s = np.zeros(seqs.shape[:-1] + (horizon,))
    s[..., : seqs.shape[-1]] = 2.0 * seqs - 1.0
    return s


def _cubic_features(horizon):
    """φ_h(y_{1:h}) = (y_i, y_i y_j, y_i y_j y_k) with d = H + H² + H³ (Prop. E.1)."""

    def features(h, x, seqs):
        s = _spins(seqs, horizon)
        pairs = s[..., :, None] * s[..., None, :]
        triples = pairs[..., None] * s[..., None, None, :]
        lead = s.shape[:-1]
        return np.concatenate(
            [s, pairs.reshape(lead + (-1,)), triples.reshape(lead + (-1,))], axis=-1
        )

    return features


def test_maxcut_instance_mode_is_a_maximum_cut():
    """Prop. E.1 on a 4-vertex graph with 5 edges (odd): the sequence mode encodes a max cut."""
    edges = [(0, 1), (1, 2), (2, 0), (2, 3), (3, 0)]
    n_v = 4
    horizon = n_v + 2
    adjacency = np.zeros((n_v, n_v))
    for i, j in edges:
        adjacency[i, j] = adjacency[j, i] = 1.0
    d = horizon + horizon**2 + horizon**3

    def e_triple(i, j, k):
        return horizon + horizon**2 + (i * horizon + j) * horizon + k

    theta = np.zeros((horizon, d))
    for i in range(n_v):
        for j in range(n_v):
            theta[horizon - 2, e_triple(i, j, horizon - 2)] = -adjacency[i, j]  # J = -A(G)
    bound = float(horizon)
    theta[horizon - 1, horizon + (horizon - 2) * horizon + (horizon - 1)] = bound  # e_(H-1,H)
    theta[horizon - 1, horizon - 1] = bound  # e_H
    theta[horizon - 1] *= bound / np.linalg.norm(theta[horizon - 1])
    policy = ss.MultiLayerLinearSoftmaxPolicy(_cubic_features(horizon), theta, 2, horizon, B=bound)

    mode = policy.mode([0])[0]
    spins = 2 * mode - 1
    cut = lambda s: sum(s[i] != s[j] for i, j in edges)  # noqa: E731
    best_cut = max(cut(2 * c - 1) for c in ss.all_sequences(2, n_v))
    assert mode[-2:].tolist() == [1, 1]
    assert cut(spins[:n_v]) == best_cut == 4
    # Positions 1..H-2 are uniform (θ_h = 0): evaluation stays polynomial and exact.
    np.testing.assert_allclose(np.exp(policy.next_token_log_probs(0, mode[:2])), [0.5, 0.5])


def _nonclosure_features(h, x, seqs):
    """Prop. E.2 with V = [n] as tokens 0..n-1 (paper's token i is i-1 here), d = 2."""
    first = seqs[..., 0]
    if h == 0:
        return np.stack([first <= 1, first >= 2], axis=-1).astype(float)
    second = seqs[..., 1]
    is_two = first == 1
    return np.stack([is_two & (second == 0), is_two & (second != 0)], axis=-1).astype(float)


@given(st.lists(st.floats(-30, 30), min_size=4, max_size=4))
def test_nonclosure_no_model_in_class_sharpens_the_mode(theta_flat):
    n = 12
    bound = float(np.log(n)) + 1.0
    base = ss.MultiLayerLinearSoftmaxPolicy(
        _nonclosure_features, [[bound, 0.0], [bound, 0.0]], n, 2, B=bound
    )
    table = base.to_tabular().probs[0]
    star = ss.encode_sequences([1, 0], n)
    assert np.argmax(table) == star and table[star] > 0.3
    other = ss.MultiLayerLinearSoftmaxPolicy(
        _nonclosure_features, np.reshape(theta_flat, (2, 2)), n, 2
    )
    assert other.log_prob(0, [1, 0]) <= np.log(0.5) + 1e-12


# ------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    "initial, transition, error, match",
    [
        ([[0.5, 0.4]], np.full((1, 1, 2, 2), 0.5), ValueError, "initial rows must sum to 1"),
        ([[0.5, 0.5]], [[[[0.5, 0.5], [0.3, 0.3]]]], ValueError, "transition rows must sum to 1"),
        ([[0.5, 0.5]], np.full((1, 2, 2), 0.5), ValueError, "4 dimensions"),
        ([[0.5, 0.5]], np.full((2, 1, 2, 2), 0.5), ValueError, "to match initial"),
        ([[0.5, 0.5]], np.full((1, 1, 3, 3), 1 / 3), ValueError, "to match initial"),
        ([0.5, 0.5], np.full((1, 1, 2, 2), 0.5), ValueError, "initial must have 2 dimensions"),
        ([[1.5, -0.5]], np.full((1, 1, 2, 2), 0.5), ValueError, "non-negative"),
        ([[0.5, 0.5]], [[[[np.nan, 1.0], [0.5, 0.5]]]], ValueError, "finite"),
    ],
)
def test_markov_bad_inputs(initial, transition, error, match):
    with pytest.raises(error, match=match):
        ss.MarkovPolicy(initial, transition)


def test_joint_bad_inputs():
    with pytest.raises(ValueError, match=r"V\*\*H = 2\*\*2 = 4 columns"):
        ss.JointAutoregressivePolicy([[0.5, 0.5]], 2, 2)
    with pytest.raises(ValueError, match="joint rows must sum to 1"):
        ss.JointAutoregressivePolicy([[0.5, 0.5, 0.5, 0.5]], 2, 2)
    with pytest.raises(ValueError, match="vocab_size must be >= 1"):
        ss.JointAutoregressivePolicy([[1.0]], 0, 2)
    with pytest.raises(TypeError, match="horizon must be an integer"):
        ss.AutoregressivePolicy.from_joint([[0.5, 0.5]], 2, 1.0)


def test_linear_softmax_bad_inputs():
    feats = _cubic_features(2)
    with pytest.raises(TypeError, match="features must be callable"):
        ss.MultiLayerLinearSoftmaxPolicy("phi", np.zeros((2, 14)), 2, 2)
    with pytest.raises(ValueError, match=r"theta must have shape \[horizon=2, d\]"):
        ss.MultiLayerLinearSoftmaxPolicy(feats, np.zeros((3, 14)), 2, 2)
    with pytest.raises(ValueError, match="theta must be finite"):
        ss.MultiLayerLinearSoftmaxPolicy(feats, np.full((2, 14), np.inf), 2, 2)
    with pytest.raises(TypeError, match="theta must be a real array"):
        ss.MultiLayerLinearSoftmaxPolicy(feats, np.full((2, 14), "a"), 2, 2)
    with pytest.raises(ValueError, match="row 1 has norm 3"):
        ss.MultiLayerLinearSoftmaxPolicy(
            feats, [[0.0] * 13 + [1.0], [0.0] * 13 + [3.0]], 2, 2, B=2.0
        )
    with pytest.raises(ValueError, match=r"B must be in \[0.0"):
        ss.MultiLayerLinearSoftmaxPolicy(feats, np.zeros((2, 14)), 2, 2, B=-1.0)
    wrong_dim = ss.MultiLayerLinearSoftmaxPolicy(feats, np.zeros((2, 5)), 2, 2)
    with pytest.raises(ValueError, match="features.*must return shape"):
        wrong_dim.log_prob(0, [0, 1])
    nan_feats = ss.MultiLayerLinearSoftmaxPolicy(
        lambda h, x, s: np.full(s.shape[:-1] + (1,), np.nan), [[1.0], [1.0]], 2, 2
    )
    with pytest.raises(ValueError, match="non-finite"):
        nan_feats.sample([0], 2, rng=0)


def test_method_bad_inputs():
    policy = ss.MarkovPolicy([[0.5, 0.5], [1.0, 0.0]], np.full((2, 2, 2, 2), 0.5))
    with pytest.raises(ValueError, match=r"seqs must have shape \[\.\.\., horizon=3\]"):
        policy.log_prob(0, [0, 1])
    with pytest.raises(ValueError, match=r"seqs entries must be in \[0, 2\)"):
        policy.log_prob(0, [0, 1, 2])
    with pytest.raises(ValueError, match=r"x entries must be in \[0, 2\)"):
        policy.log_prob(2, [0, 1, 1])
    with pytest.raises(TypeError, match="x must be an integer array"):
        policy.sample([0.0], 2)
    with pytest.raises(ValueError, match="does not broadcast"):
        policy.log_prob([0, 1, 0], np.zeros((2, 3), int))
    with pytest.raises(ValueError, match="n must be >= 0"):
        policy.sample([0], -1)
    with pytest.raises(ValueError, match="x must be a 1-d array"):
        policy.mode([[0]])
    with pytest.raises(ValueError, match=r"0 <= h < horizon=3"):
        policy.next_token_log_probs(0, [0, 1, 1])
    with pytest.raises(TypeError, match="rng"):
        policy.sample([0], 2, rng="seed")


def test_to_tabular_refuses_past_the_enumeration_limit():
    big = ss.MarkovPolicy(np.full((1, 50), 0.02), np.full((1, 4, 50, 50), 0.02))
    with pytest.raises(
        ValueError, match=r"50\*\*5 = 312500000 responses: more than max_responses=2000000"
    ):
        big.to_tabular()
    with pytest.raises(ValueError, match="max_responses=3"):
        ss.JointAutoregressivePolicy(np.full((1, 4), 0.25), 2, 2).to_tabular(max_responses=3)
    with pytest.raises(ValueError, match="more than max_responses"):
        ss.AutoregressivePolicy.mode(big, [0])
    assert big.mode([0]).shape == (1, 5)  # Viterbi needs no enumeration


def test_sequence_encoding_rejects_tokens_indices_and_sizes_out_of_range():
    # These used to return another sequence's index / tokens, or wrap around int64, silently.
    with pytest.raises(ValueError, match=r"seqs entries must be in \[0, 2\)"):
        ss.encode_sequences([[3, 0]], 2)
    with pytest.raises(ValueError, match=r"seqs entries must be in \[0, 2\)"):
        ss.encode_sequences([[-1, 0]], 2)
    with pytest.raises(ValueError, match="int64"):
        ss.encode_sequences([[1] * 64], 2)
    with pytest.raises(ValueError, match=r"index entries must be in \[0, 4\)"):
        ss.decode_responses([5], 2, 2)
    with pytest.raises(ValueError, match="vocab_size must be >= 1"):
        ss.encode_sequences([[0]], 0)
    assert ss.encode_sequences([[1] * 62], 2).tolist() == [2**62 - 1]
    assert ss.decode_responses([2**62 - 1], 2, 62).tolist() == [[1] * 62]


def test_multilayer_logits_past_the_float_range_give_a_valid_policy():
    # ⟨φ_h, θ_h⟩ = 1e400 overflowing to inf gave NaN (0.1.0), then a refusal (0.1.x); it is now
    # normalised in log space like LinearSoftmaxPolicy: two tied logits, each response 1/2.
    def features(h, x, seqs):
        return np.stack([seqs[..., -1] == 0, seqs[..., -1] == 1], axis=-1) * 1e200

    policy = ss.MultiLayerLinearSoftmaxPolicy(features, [[1e200, 1e200]], 2, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert policy.to_tabular().probs.tolist() == [[0.5, 0.5]]
    policy = ss.MultiLayerLinearSoftmaxPolicy(features, [[1e200, -1e200]], 2, 1)
    assert policy.to_tabular().probs.tolist() == [[1.0, 0.0]]
