"""The sample-and-evaluate oracle (Definitions 3.2 and D.1): counting, budgets, streaming, laws."""

import tracemalloc

import numpy as np
import pytest
from scipy import stats

import sharpsim as ss
from sharpsim.oracle import OracleChunk
from sharpsim.policies.alias import SAMPLE_CHUNK

#: Statistical tests reject at this level (Bonferroni-corrected where several are made).
ALPHA = 1e-3


class SequenceView:
    """A tabular policy over ``V**H`` seen as token sequences ``[..., H]`` (a test double)."""

    response_ndim = 1

    def __init__(self, table: ss.TabularPolicy, vocab_size: int, horizon: int):
        assert table.n_responses == vocab_size**horizon
        self.table, self.vocab_size, self.horizon = table, vocab_size, horizon
        self.n_contexts = table.n_contexts

    def log_prob(self, x, seqs):
        return self.table.log_prob(x, ss.encode_sequences(seqs, self.vocab_size))

    def sample(self, x, n, rng=None):
        return ss.decode_responses(self.table.sample(x, n, rng=rng), self.vocab_size, self.horizon)


class Undeclared:
    """A policy that does not declare ``response_ndim``."""

    def __init__(self, table):
        self.table, self.n_contexts = table, table.n_contexts

    def log_prob(self, x, y):
        return self.table.log_prob(x, y)

    def sample(self, x, n, rng=None):
        return self.table.sample(x, n, rng=rng)


def world(n_contexts=4, n_responses=6, seed=0):
    return ss.TabularPolicy(
        np.random.default_rng(seed).dirichlet(np.ones(n_responses), size=n_contexts)
    )


def rng_state(oracle):
    return oracle.rng.bit_generator.state


def test_counts_every_pair_and_budget():
    pi = ss.TabularPolicy([[0.7, 0.3], [0.2, 0.8]])
    oracle = ss.SampleEvaluateOracle(pi, budget=25, rng=0)
    x = oracle.draw_prompts(4)
    y, logp = oracle.sample(x, 5)
    assert y.shape == (4, 5) and oracle.queries == 20
    np.testing.assert_array_equal(logp, pi.log_prob(x[:, None], y))
    with pytest.raises(ss.QueryBudgetExceeded, match="exceeds the budget"):
        oracle.sample(x, 2)
    assert oracle.queries == 20
    oracle.evaluate(x[:2], np.zeros((2, 2), dtype=int))
    assert oracle.queries == 24 and oracle.evaluated == 4
    assert oracle.remaining == 1 and oracle.prompts_drawn == 4


def test_refused_requests_change_nothing_not_even_the_generator():
    oracle = ss.SampleEvaluateOracle(world(), budget=10, rng=1)
    x = np.array([0, 1, 2])
    oracle.sample(x, 3)
    state = rng_state(oracle)
    for request in (
        lambda: oracle.sample(x, 1),
        lambda: oracle.stream(x, 1),
        lambda: oracle.evaluate(x, np.zeros((3, 1), dtype=int)),
        lambda: oracle.charge(2),
    ):
        with pytest.raises(ss.QueryBudgetExceeded):
            request()
        assert oracle.queries == 9 and rng_state(oracle) == state
    oracle.sample(x[:1], 1)  # exactly reaching the budget is allowed
    assert oracle.queries == 10


def test_evaluate_validates_responses_before_counting():
    oracle = ss.SampleEvaluateOracle(world(), rng=0)
    with pytest.raises(ValueError, match="y entries must be in"):
        oracle.evaluate([0], [[6]])
    with pytest.raises(ValueError, match=r"y must have shape \[k=2"):
        oracle.evaluate([0, 1], [[0]])
    with pytest.raises(ValueError, match=r"y must have shape \[k=1"):
        oracle.evaluate([0], 3)
    assert oracle.queries == 0


def test_evaluate_counts_pairs_for_integer_and_sequence_responses():
    table = world(n_contexts=3, n_responses=8)
    tab = ss.SampleEvaluateOracle(table, rng=0)
    y = np.array([[0, 7, 3], [1, 1, 1], [5, 2, 6]])
    np.testing.assert_array_equal(tab.evaluate([0, 1, 2], y), table.log_prob([[0], [1], [2]], y))
    assert tab.evaluate([2], [4]).shape == (1,) and tab.queries == 10

    seq = SequenceView(table, vocab_size=2, horizon=3)
    oracle = ss.SampleEvaluateOracle(seq, rng=0)
    seqs = ss.decode_responses(y, 2, 3)  # [3, 3, H]
    np.testing.assert_array_equal(
        oracle.evaluate([0, 1, 2], seqs), table.log_prob([[0], [1], [2]], y)
    )
    assert oracle.queries == 9
    assert oracle.evaluate([1], seqs[1, :1]).shape == (1,)  # y [k, H]: one pair per prompt
    assert oracle.queries == 10


def test_sequence_base_sample_and_stream_count_pairs():
    seq = SequenceView(world(n_contexts=3, n_responses=8), vocab_size=2, horizon=3)
    oracle = ss.SampleEvaluateOracle(seq, rng=4)
    y, logp = oracle.sample([0, 2], 5)
    assert y.shape == (2, 5, 3) and logp.shape == (2, 5) and oracle.queries == 10
    np.testing.assert_array_equal(logp, seq.log_prob([[0], [2]], y))
    for chunk_size in (3, 7):  # N = 5 above and below chunk_size
        before = oracle.queries
        chunks = list(oracle.stream([0, 1, 2], 5, chunk_size=chunk_size))
        assert all(c.responses.shape == (c.positions.shape[0], 3) for c in chunks)
        assert all(c.positions.shape[0] <= chunk_size for c in chunks)
        positions = np.concatenate([c.positions for c in chunks])
        np.testing.assert_array_equal(positions, np.repeat([0, 1, 2], 5))
        for c in chunks:
            np.testing.assert_array_equal(
                c.log_probs, seq.log_prob(np.array([0, 1, 2])[c.positions], c.responses)
            )
        assert oracle.queries - before == 15


def test_response_ndim_is_explicit():
    table = world()
    assert ss.TabularPolicy.response_ndim == 0 and table.response_ndim == 0
    oracle = ss.SampleEvaluateOracle(Undeclared(table), rng=0)
    assert oracle.sample([0], 2)[0].shape == (1, 2)  # sampling does not need it
    with pytest.raises(TypeError, match="response_ndim"):
        oracle.evaluate([0], [[1]])
    assert oracle.queries == 2
    bad = Undeclared(table)
    bad.response_ndim = 2
    with pytest.raises(ValueError, match="response_ndim must be 0"):
        ss.SampleEvaluateOracle(bad)


@pytest.mark.parametrize("chunk_size", [1, 3, 10, 12, 100_000])
@pytest.mark.parametrize("N", [0, 1, 4, 11])
def test_stream_reproduces_sample_exactly(N, chunk_size):
    pi = world(n_contexts=5, n_responses=7, seed=3)
    x = np.array([4, 0, 0, 3, 1, 2])
    y, logp = ss.SampleEvaluateOracle(pi, rng=8).sample(x, N)
    oracle = ss.SampleEvaluateOracle(pi, rng=8)
    chunks = list(oracle.stream(x, N, chunk_size=chunk_size))
    assert all(
        isinstance(c, OracleChunk) and 0 < c.positions.shape[0] <= chunk_size for c in chunks
    )
    if N <= chunk_size:  # whole prompts per chunk
        assert all(c.positions.shape[0] % N == 0 for c in chunks)
    else:  # each chunk within one prompt
        assert all(np.unique(c.positions).size == 1 for c in chunks)
    assert oracle.queries == x.shape[0] * N

    def cat(field):
        return np.concatenate([getattr(c, field) for c in chunks]) if chunks else np.zeros(0)

    np.testing.assert_array_equal(cat("positions"), np.repeat(np.arange(x.shape[0]), N))
    np.testing.assert_array_equal(cat("responses"), y.reshape(-1))
    np.testing.assert_array_equal(cat("log_probs"), logp.reshape(-1))


def test_stream_counts_only_what_was_drawn_and_checks_budget_upfront():
    oracle = ss.SampleEvaluateOracle(world(), budget=100, rng=0)
    stream = oracle.stream(np.zeros(10, np.int64), 10, chunk_size=20)
    assert oracle.queries == 0  # nothing drawn yet
    next(stream)
    assert oracle.queries == 20
    next(stream)
    assert oracle.queries == 40
    stream.close()
    assert oracle.queries == 40
    with pytest.raises(ss.QueryBudgetExceeded):
        oracle.stream(np.zeros(7, np.int64), 10)  # 70 > 60 left: refused at the call
    stream = oracle.stream(np.zeros(6, np.int64), 10, chunk_size=20)
    oracle.sample([0], 1)  # an interleaved request takes one query of the reserve ...
    assert sum(c.positions.shape[0] for c in (next(stream), next(stream))) == 40
    with pytest.raises(
        ss.QueryBudgetExceeded
    ):  # ... so the last chunk is refused before it is drawn
        next(stream)
    assert oracle.queries == 81


def test_stream_memory_is_bounded_by_chunk_size():
    """Peak traced memory while streaming 2·10^6 pairs: 64·chunk_size + 100·SAMPLE_CHUNK bytes (docstring)."""
    pi = world(n_contexts=20, n_responses=50)
    oracle = ss.SampleEvaluateOracle(pi, rng=0)
    x = np.arange(20).repeat(1000)  # 2·10^4 prompts, N = 100
    pi._alias_tables()  # the policy's cache is not part of the stream's working memory
    chunk_size = 10_000
    tracemalloc.start()
    try:
        total = 0
        for chunk in oracle.stream(x, 100, chunk_size=chunk_size):
            total += chunk.positions.shape[0]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 2_000_000 == oracle.queries
    assert peak <= 64 * chunk_size + 100 * SAMPLE_CHUNK  # sample(x, 100) would need 48 MB


def test_streamed_responses_follow_the_law_chi_square():
    pi = ss.TabularPolicy([[0.5, 0.25, 0.125, 0.125, 0.0], [0.0, 1e-300, 0.3, 0.3, 0.4]])
    oracle = ss.SampleEvaluateOracle(pi, rng=5)
    x = np.array([0, 1])
    counts = np.zeros((2, 5), np.int64)
    for c in oracle.stream(x, 30_000, chunk_size=4096):
        np.add.at(counts, (x[c.positions], c.responses), 1)
    for row in range(2):
        support = pi.probs[row] > 1e-12
        assert np.all(counts[row, ~support] == 0)
        expected = pi.probs[row, support] * 30_000
        assert stats.chisquare(counts[row, support], expected).pvalue > ALPHA / 2


def test_draw_prompts_follows_mu_and_never_draws_a_zero_mass_prompt():
    mu = np.array([0.0, 0.5, 0.2, 0.0, 0.3, 1e-300])
    oracle = ss.SampleEvaluateOracle(world(n_contexts=6), mu=mu, rng=2)
    x = oracle.draw_prompts(50_000)
    assert x.dtype == np.int64 and oracle.prompts_drawn == 50_000 and oracle.queries == 0
    counts = np.bincount(x, minlength=6)
    assert counts[0] == counts[3] == 0
    support = mu > 1e-12
    assert stats.chisquare(counts[support], mu[support] * 50_000).pvalue > ALPHA
    assert oracle.draw_prompts(0).shape == (0,)


def test_same_seed_same_draws():
    pi = world()
    runs = []
    for rng in (7, np.random.default_rng(7)):
        oracle = ss.SampleEvaluateOracle(pi, rng=rng)
        x = oracle.draw_prompts(50)
        runs.append((x, *oracle.sample(x, 3)))
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_adaptive_rounds_count_the_realised_stopping_times():
    """Definition D.1 driven by a stopping rule: sample one more response for each active prompt.

    Rule: stop at the first draw of response 0, whose probability is p; the number of
    draws per prompt is Geometric(p). Its mean over 2000 prompts must lie within the
    two-sided normal band at level ALPHA (CLT; the variance (1-p)/p² is known).
    """
    p = 0.2
    oracle = ss.SampleEvaluateOracle(ss.TabularPolicy([[p, 1 - p]]), rng=3)
    x = oracle.draw_prompts(2000)
    draws = np.zeros(x.shape[0], np.int64)
    active = np.arange(x.shape[0])
    while active.size:
        y, _ = oracle.sample(x[active], 1)
        draws[active] += 1
        active = active[y[:, 0] != 0]
    assert oracle.queries == draws.sum()
    z = (draws.mean() - 1 / p) / np.sqrt((1 - p) / p**2 / x.shape[0])
    assert abs(z) < stats.norm.ppf(1 - ALPHA / 2)


def test_bad_inputs():
    pi = ss.TabularPolicy([[0.7, 0.3]])
    with pytest.raises(TypeError, match="base"):
        ss.SampleEvaluateOracle(np.eye(2))
    with pytest.raises(ValueError, match="mu must have length"):
        ss.SampleEvaluateOracle(pi, mu=[0.5, 0.5])
    with pytest.raises(ValueError, match="budget"):
        ss.SampleEvaluateOracle(pi, budget=-1)
    oracle = ss.SampleEvaluateOracle(pi, rng=0)
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        oracle.stream([0], 1, chunk_size=0)
    with pytest.raises(ValueError, match="N must be >= 0"):
        oracle.stream([0], -1)
    with pytest.raises(ValueError, match="N must be >= 0"):
        oracle.sample([0], -1)
    with pytest.raises(ValueError, match="x must be 1-d"):
        oracle.sample([[0]], 1)
    with pytest.raises(TypeError, match="x must be an integer array"):
        oracle.stream([0.0], 1)
    with pytest.raises(ValueError, match=r"x entries must be in \[0, 1\)"):
        oracle.evaluate([1], [[0]])
    with pytest.raises(ValueError, match="n must be >= 0"):
        oracle.draw_prompts(-1)
    with pytest.raises(ValueError, match="kind must be"):
        oracle.charge(1, kind="free")
    assert oracle.queries == 0


def test_evaluate_shape_error_states_the_expected_shape():
    """The message spells the expected shape once: ``[k, ...]`` (integers) or ``[k, ..., H]`` (sequences)."""
    tab = ss.SampleEvaluateOracle(ss.TabularPolicy([[0.5, 0.5]]))
    with pytest.raises(
        ValueError, match=r"y must have shape \[k=1, \.\.\.\] \(response_ndim=0\); got \(\)"
    ):
        tab.evaluate([0], 1)
    seq = ss.SampleEvaluateOracle(ss.JointAutoregressivePolicy([[0.0, 0.4, 0.35, 0.25]], 2, 2))
    with pytest.raises(
        ValueError, match=r"y must have shape \[k=1, \.\.\., H\] \(response_ndim=1\); got \(2,\)"
    ):
        seq.evaluate([0], [0, 1])


# --------------------------------------------------------------------------- whole requests (issue 7 §5)


def test_check_request_refuses_without_changing_anything():
    oracle = ss.SampleEvaluateOracle(world(), budget=10, rng=1)
    oracle.sample([0, 1], 3)
    state = rng_state(oracle)
    oracle.check_request(4)  # exactly the rest: allowed, and nothing is charged
    assert oracle.queries == 6
    with pytest.raises(
        ss.QueryBudgetExceeded, match="request for 5 queries exceeds the budget: 6 used of 10"
    ):
        oracle.check_request(5)
    assert oracle.queries == 6 and rng_state(oracle) == state
    ss.SampleEvaluateOracle(world()).check_request(10**30)  # no budget: any request
    with pytest.raises(ValueError, match="count must be >= 0"):
        oracle.check_request(-1)


def test_best_of_n_refuses_a_request_the_budget_cannot_serve_before_drawing():
    """The issue's example: 10 prompts x 200,000 draws against a budget of 1.5 million."""
    pi = ss.TabularPolicy([[0.5, 0.3, 0.2]])
    oracle = ss.SampleEvaluateOracle(pi, budget=1_500_000, rng=0)
    state = rng_state(oracle)
    with pytest.raises(ss.QueryBudgetExceeded, match="request for 2000000 queries"):
        ss.best_of_n(oracle, [0] * 10, 200_000)
    assert oracle.queries == 0 and rng_state(oracle) == state
    for reward in (None, ss.MajorityVoteReward([[0, 1, 1]])):  # the group-reward stream too
        oracle = ss.SampleEvaluateOracle(pi, budget=50, rng=0)
        with pytest.raises(ss.QueryBudgetExceeded):
            ss.best_of_n(oracle, [0] * 10, 20, reward=reward, chunk_size=30)
        assert oracle.queries == 0 and rng_state(oracle) == state


def test_adaptive_best_of_n_refuses_when_even_the_first_draws_exceed_the_budget():
    """No prompt can stop before draw ⌈μ_stop⌉: k·⌈μ_stop⌉ queries over the budget are refused untouched."""
    pi = ss.TabularPolicy([[0.9, 0.1]])
    oracle = ss.SampleEvaluateOracle(pi, budget=8, rng=0)
    state = rng_state(oracle)
    with pytest.raises(ss.QueryBudgetExceeded, match="request for 9 queries"):
        ss.adaptive_best_of_n(oracle, [0, 0, 0], mu_stop=2.5)
    assert oracle.queries == 0 and rng_state(oracle) == state
    res = ss.adaptive_best_of_n(
        ss.SampleEvaluateOracle(pi, budget=9, rng=0), [0, 0, 0], mu_stop=2.5
    )
    assert res.queries == 9  # π = 0.9 stops every prompt at its third draw: exactly the budget
