import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy import stats
from strategies import autoregressive_policies, markov_policies, prob_tables_of_shape

import sharpsim as ss

# Greedy-failure world (Prop. 3.1 is tight), tokens a = 0, b = 1, sequences in index order
# aa, ab, ba, bb. The mode ab has mass 0.40 <= 1/2. First-token marginals: a 0.40, b 0.60, so
# greedy picks b, then a (0.35/0.60 > 0.25/0.60), returning ba (mass 0.35).
# (SPEC's aa:0, ab:0.40, ba:0.25, bb:0.25 sums to 0.9; this keeps aa = 0 and ab = 0.40.)
GREEDY_FAILURE = [[0.0, 0.40, 0.35, 0.25]]


def _failure_world():
    return ss.JointAutoregressivePolicy(GREEDY_FAILURE, 2, 2)


def test_greedy_fails_on_the_tightness_example():
    policy = _failure_world()
    assert ss.greedy_decode(policy, [0]).tolist() == [[1, 0]]  # ba
    assert policy.mode([0]).tolist() == [[0, 1]]  # ab
    assert np.exp(policy.log_prob(0, [0, 1])) <= 0.5
    assert ss.beam_search(policy, [0], 1).tolist() == [[1, 0]]
    assert ss.beam_search(policy, [0], 2).tolist() == [[0, 1]]  # width V**(H-1) = 2 is exact


@st.composite
def planted_joints(draw):
    """A joint with a planted sequence of mass w > 1/2 on top of a random table (ties, zeros)."""
    n_x, vocab, horizon = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    base = draw(prob_tables_of_shape(n_x, vocab**horizon))
    planted = np.array(
        draw(st.lists(st.integers(0, vocab**horizon - 1), min_size=n_x, max_size=n_x))
    )
    w = draw(st.floats(0.5, 1.0, exclude_min=True))
    joint = (1 - w) * base
    joint[np.arange(n_x), planted] += w
    return ss.JointAutoregressivePolicy(joint / joint.sum(axis=1, keepdims=True), vocab, horizon)


@st.composite
def planted_markov(draw):
    """A Markov chain whose rows are pulled toward a planted path so that its mass exceeds 1/2."""
    policy = draw(markov_policies(max_contexts=1, max_vocab=3, max_horizon=4))
    vocab, horizon = policy.vocab_size, policy.horizon
    path = draw(st.lists(st.integers(0, vocab - 1), min_size=horizon, max_size=horizon))
    w = draw(st.floats(0.5, 1.0, exclude_min=True)) ** (
        1.0 / horizon
    )  # per-step weight: product = w**H > 1/2
    initial = (1 - w) * policy.initial
    initial[0, path[0]] += w
    transition = (1 - w) * policy.transition
    for h in range(horizon - 1):
        transition[0, h, :, path[h + 1]] += w
    return ss.MarkovPolicy(initial, transition)


@given(st.one_of(planted_joints(), planted_markov()))
def test_prop_3_1_greedy_returns_a_unique_mode_with_mass_above_half(policy):
    x = np.arange(policy.n_contexts)
    table = policy.to_tabular().probs
    mode = policy.mode(x)
    mass = table[x, ss.encode_sequences(mode, policy.vocab_size)]
    assume(np.all(mass > 0.5))  # premise of Prop. 3.1 (float rounding could break it at w -> 1/2)
    np.testing.assert_array_equal(ss.greedy_decode(policy, x), mode)


@given(autoregressive_policies(max_vocab=3, max_horizon=3), st.integers(0, 3))
def test_beam_search_with_full_width_is_exact(policy, extra):
    x = np.arange(policy.n_contexts)
    width = policy.vocab_size ** (policy.horizon - 1) + extra
    np.testing.assert_array_equal(ss.beam_search(policy, x, width), policy.mode(x))


@given(markov_policies(max_vocab=3, max_horizon=4))
def test_beam_width_one_is_greedy(policy):
    x = np.arange(policy.n_contexts)
    np.testing.assert_array_equal(ss.beam_search(policy, x, 1), ss.greedy_decode(policy, x))


@given(autoregressive_policies(), st.integers(1, 4))
def test_beam_never_beats_the_mode_and_greedy_sequences_are_possible(policy, width):
    x = np.arange(policy.n_contexts)
    best = policy.log_prob(x, policy.mode(x))
    for decoded in (ss.beam_search(policy, x, width), ss.greedy_decode(policy, x)):
        logp = policy.log_prob(x, decoded)
        assert np.all(np.isfinite(logp)) and np.all(logp <= best + 1e-9)


# ------------------------------------------------------------------ temperature


@given(autoregressive_policies())
def test_token_temperature_one_is_the_model(policy):
    np.testing.assert_array_equal(
        ss.token_temperature_law(policy, 1.0).log_probs, policy.to_tabular().log_probs
    )


def test_token_temperature_law_closed_form_on_failure_world():
    t = 0.5  # conditionals squared and renormalised
    first_a = 0.4**2 / (0.4**2 + 0.6**2)
    then_a = 0.35**2 / (0.35**2 + 0.25**2)
    want = [0.0, first_a, (1 - first_a) * then_a, (1 - first_a) * (1 - then_a)]
    np.testing.assert_allclose(
        ss.token_temperature_law(_failure_world(), t).probs[0], want, rtol=1e-12
    )


@pytest.mark.parametrize("temperature", [0.01, 1e-300])
def test_low_token_temperature_concentrates_on_greedy_not_on_the_mode(temperature):
    law = ss.token_temperature_law(_failure_world(), temperature).probs[0]
    inv = 1.0 / temperature
    ba = 1.0 / ((1.0 + (0.4 / 0.6) ** inv) * (1.0 + (0.25 / 0.35) ** inv))
    np.testing.assert_allclose(
        law[2], ba, rtol=1e-12
    )  # ba, the greedy sequence: ≈ 1 - 2.4e-15 at T = 0.01
    assert law[1] < 1e-17  # ab, the sequence-level mode: (2/3)^(1/T) / (1 + (2/3)^(1/T))
    seqs = ss.temperature_sample(_failure_world(), [0], 20, temperature, rng=0)
    assert np.all(seqs == [1, 0])


def test_temperature_sample_matches_its_exact_law():
    """Chi-square goodness of fit at level 0.001 per (prompt, temperature) (Bonferroni over 4)."""
    rng = np.random.default_rng(2)
    policy = ss.MarkovPolicy(
        rng.dirichlet(np.ones(3), size=2), rng.dirichlet(np.ones(3), size=(2, 1, 3))
    )
    n = 20_000
    for temperature in (0.5, 2.0):
        law = ss.token_temperature_law(policy, temperature).probs
        idx = ss.encode_sequences(ss.temperature_sample(policy, [0, 1], n, temperature, rng=9), 3)
        for x in range(2):
            counts = np.bincount(idx[x], minlength=9)
            assert stats.chisquare(counts, n * law[x]).pvalue > 0.001 / 4


@given(autoregressive_policies(), st.sampled_from([0.05, 0.3, 3.0]))
def test_temperature_samples_stay_in_the_support(policy, temperature):
    x = np.arange(policy.n_contexts)
    seqs = ss.temperature_sample(policy, x, 50, temperature, rng=1)
    assert np.all(np.isfinite(policy.log_prob(x[:, None], seqs)))


# ------------------------------------------------------------------ bad inputs


def test_decoding_bad_inputs():
    policy = _failure_world()
    with pytest.raises(ValueError, match="width must be >= 1"):
        ss.beam_search(policy, [0], 0)
    with pytest.raises(TypeError, match="width must be an integer"):
        ss.beam_search(policy, [0], 2.0)
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="temperature must be in"):
            ss.temperature_sample(policy, [0], 3, bad)
        with pytest.raises(ValueError, match="temperature must be in"):
            ss.token_temperature_law(policy, bad)
    with pytest.raises(ValueError, match="temperature must be finite"):
        ss.temperature_sample(policy, [0], 3, np.inf)
    with pytest.raises(ValueError, match="n must be >= 0"):
        ss.temperature_sample(policy, [0], -2, 1.0)
    tabular = ss.TabularPolicy(GREEDY_FAILURE)
    for call in (
        lambda: ss.greedy_decode(tabular, [0]),
        lambda: ss.beam_search(tabular, [0], 2),
        lambda: ss.temperature_sample(tabular, [0], 2, 1.0),
        lambda: ss.token_temperature_law(tabular, 1.0),
    ):
        with pytest.raises(TypeError, match="policy must be an AutoregressivePolicy"):
            call()
    with pytest.raises(ValueError, match="x must be a 1-d array"):
        ss.greedy_decode(policy, 0)
    with pytest.raises(ValueError, match=r"x entries must be in \[0, 1\)"):
        ss.beam_search(policy, [1], 2)
    big = ss.MarkovPolicy(np.full((1, 50), 0.02), np.full((1, 4, 50, 50), 0.02))
    with pytest.raises(ValueError, match="more than max_responses=2000000"):
        ss.token_temperature_law(big, 0.5)


def test_beam_search_full_width_follows_the_mode_tie_rule_on_rounding_ties():
    # Six sequences of mass 3/19 whose conditionals round differently: beam search with
    # width V**(H-1) must not prune the lexicographically first near-tie at the last step.
    joint = np.array([[3, 3, 0, 3, 3, 3, 0, 1, 3]]) / 19
    policy = ss.JointAutoregressivePolicy(joint, 3, 2)
    assert policy.mode([0]).tolist() == [[0, 0]]
    assert ss.beam_search(policy, [0], 3).tolist() == [[0, 0]]


def test_beam_search_refuses_huge_width_before_allocating():
    ar = ss.MarkovPolicy(np.full((1, 10), 0.1), np.full((1, 7, 10, 10), 0.1))
    with pytest.raises(ValueError, match="width = 1000000000 needs .* MAX_BEAM_ENTRIES"):
        ss.beam_search(ar, [0], 10**9)
    # a width past every prefix count is capped at V**(H-1): small worlds still run
    small = ss.JointAutoregressivePolicy([[0.0, 0.4, 0.35, 0.25]], 2, 2)
    assert ss.beam_search(small, [0], 10**9).tolist() == small.mode([0]).tolist()
