"""The alias sampler behind TabularPolicy.sample: exact law, zero and tiny masses, ties, seeds."""

import pickle
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from strategies import prob_tables

import sharpsim as ss
from sharpsim.policies.alias import SAMPLE_CHUNK, _AliasTables, _exact_bernoulli

#: Chi-square goodness-of-fit tests reject at this level per world (Bonferroni over rows).
ALPHA = 1e-3
TINY = [1e-300, 5e-324, 2.0**-60, 1e-17]


@st.composite
def tiny_mass_tables(draw, max_contexts=3, max_responses=12):
    """Rows with zeros and masses far below one grid step of a double uniform (down to subnormals)."""
    n_x = draw(st.integers(1, max_contexts))
    n_y = draw(st.integers(1, max_responses))
    rows = []
    for _ in range(n_x):
        w = np.array(draw(st.lists(st.integers(0, 5), min_size=n_y, max_size=n_y)), dtype=float)
        if w.sum() == 0:
            w[draw(st.integers(0, n_y - 1))] = 1.0
        row = w / w.sum()
        zeros = np.flatnonzero(row == 0)
        if zeros.size:  # tiny masses replace zeros, so the row still sums to 1 (within rounding)
            for j in draw(st.lists(st.sampled_from(zeros.tolist()), max_size=zeros.size)):
                row[j] = draw(st.sampled_from(TINY))
        rows.append(row)
    return np.array(rows)


any_table = st.one_of(prob_tables(max_contexts=3, max_responses=12), tiny_mass_tables())


def implied_law(tables: _AliasTables, n_rows: int) -> list[list[Fraction]]:
    """The law the tables draw from, in exact rational arithmetic: (q[y] + Σ_{a[c]=y} (1 - q[c])) / width."""
    width = tables.width
    q = tables.threshold.reshape(n_rows, width)
    alias = tables.alias.reshape(n_rows, width)
    law = []
    for r in range(n_rows):
        mass = [Fraction(float(v)) for v in q[r]]
        for c in range(width):
            mass[alias[r, c]] += 1 - Fraction(float(q[r, c]))
        law.append([m / width for m in mass])
    return law


@given(any_table)
def test_alias_law_is_exact_for_light_responses_and_within_bound_for_heavy(probs):
    tables = _AliasTables(probs)
    n_rows, n_responses = probs.shape
    law = implied_law(tables, n_rows)
    bound = Fraction(
        2.0 ** (tables.bits - 51)
    )  # the prefix-sum rounding stated in TabularPolicy.sample
    for r in range(n_rows):
        exact = [Fraction(float(p)) for p in probs[r]] + [Fraction(0)] * (
            tables.width - n_responses
        )
        slack = abs(sum(exact) - 1)
        for y, p in enumerate(exact):
            if p * tables.width < 1 and y != np.argmax(probs[r]):
                assert (
                    law[r][y] == p
                )  # light (zero, tiny and padding included): exactly its probability
            else:
                assert abs(law[r][y] - p) <= slack + bound
    assert np.all((tables.threshold >= 0) & (tables.threshold <= 1))


@pytest.mark.parametrize(
    "row",
    [
        [0.5 - 1e-9, 0.5 - 1e-9],  # sums to 1 - 2e-9: no w >= 1, the argmax is made heavy
        [0.5 + 4e-9, 0.5 + 4e-9, 0.0],  # sums to 1 + 8e-9: the last heavy gives up the excess
        [0.25, 0.125, 0.25, 0.375],  # heavies with w = 1 exactly, first and in the middle
        [1e-300, 0.0, 1.0, 0.0, 5e-324],
    ],
)
def test_alias_law_with_rounding_slack_and_exact_unit_weights(row):
    probs = np.array([row])
    tables = _AliasTables(probs)
    law = implied_law(tables, 1)[0]
    exact = [Fraction(float(p)) for p in row] + [Fraction(0)] * (tables.width - len(row))
    slack = abs(sum(exact) - 1)
    bound = Fraction(2.0 ** (tables.bits - 51))
    for y, p in enumerate(exact):
        if p * tables.width < 1 and y != np.argmax(row):
            assert law[y] == p
        else:
            assert abs(law[y] - p) <= slack + bound
    assert sum(law) == 1


@given(any_table)
def test_every_alias_is_a_response_of_positive_mass(probs):
    """Half of the zero-mass proof: the alias branch can only return positive-mass responses."""
    tables = _AliasTables(probs)
    n_rows = probs.shape[0]
    alias = tables.alias.reshape(n_rows, tables.width)
    assert np.all(alias < probs.shape[1])
    assert np.all(probs[np.arange(n_rows)[:, None], alias] > 0)


@given(any_table)
def test_zero_mass_responses_are_never_sampled(probs):
    pi = ss.TabularPolicy(probs)
    x = np.arange(pi.n_contexts)
    y = pi.sample(x, 400, rng=3)
    assert y.min() >= 0 and y.max() < pi.n_responses
    assert np.all(probs[x[:, None], y] > 0)


class ScriptedUniforms:
    """A stand-in generator whose ``random(size)`` returns scripted uniforms, to force ties."""

    def __init__(self, *batches):
        self.batches = [np.asarray(b, dtype=float) for b in batches]

    def random(self, size):
        batch = self.batches.pop(0)
        assert batch.shape == (size,)
        return batch.copy()


def test_tie_on_a_subnormal_mass_is_refined_exactly():
    """u = 0 falls in the grid cell that straddles q = 2·5e-324: only the refinement bits decide."""
    pi = ss.TabularPolicy([[5e-324, 1.0]])  # width 2: response 0 is light with q = 1e-323
    zeros = [np.zeros(1)] * 22  # a uniform real that is exactly 0 lies below any q > 0
    assert pi._sample_rows(np.zeros(1, np.int64), ScriptedUniforms(*zeros)).tolist() == [0]
    above = [np.zeros(1), np.zeros(1), np.full(1, 0.5)]  # its bits beyond the first 106 exceed q
    assert pi._sample_rows(np.zeros(1, np.int64), ScriptedUniforms(*above)).tolist() == [1]
    clear = [np.full(1, 0.25)]  # column 0, far above q: the alias, no refinement drawn
    assert pi._sample_rows(np.zeros(1, np.int64), ScriptedUniforms(*clear)).tolist() == [1]


def test_no_tie_when_q_is_on_the_grid():
    """q = 0.5 on the grid: u whose cell starts at q is rejected without drawing more bits."""
    pi = ss.TabularPolicy([[0.25, 0.75]])  # width 2: q[0] = 0.5, alias 1
    assert pi._sample_rows(
        np.zeros(2, np.int64), ScriptedUniforms([0.25, 0.2499999999])
    ).tolist() == [1, 0]


@pytest.mark.parametrize("p", [0.0, 0.3, 2.0**-30 + 0.5, 1.0 - 2.0**-53])
def test_exact_bernoulli_frequency(p):
    """Two-sided binomial test at level ALPHA."""
    n = 20_000
    hits = int(_exact_bernoulli(np.full(n, p), np.random.default_rng(5)).sum())
    if p == 0.0:
        assert hits == 0
    else:
        assert stats.binomtest(hits, n, p).pvalue > ALPHA


def test_exact_bernoulli_scripted_rounds():
    """Bits equal to p's first 53 bits tie; the next round decides against p's remaining bits."""
    p = np.array([2.0**-10 + 2.0**-60])  # first 53 bits: 2^-10; the rest: 2^-60
    tie = [np.full(1, 2.0**-10)]
    assert _exact_bernoulli(p, ScriptedUniforms(*tie, np.zeros(1))).tolist() == [True]
    assert _exact_bernoulli(p, ScriptedUniforms(*tie, np.full(1, 0.5))).tolist() == [False]


def chi_square_rows(probs, n, seed):
    """Per-row chi-square p-values of n draws; cells with expected count < 5 are pooled."""
    pi = ss.TabularPolicy(probs)
    y = pi.sample(np.arange(pi.n_contexts), n, rng=seed)
    p_values = []
    for row, draws in zip(np.asarray(probs), y):
        counts = np.bincount(draws, minlength=row.shape[0])
        big = row * n >= 5
        observed = np.append(counts[big], counts[~big].sum())
        expected = np.append(row[big] * n, row[~big].sum() * n)
        if expected[-1] < 5:  # pool the small cells into the smallest big one
            observed[np.argmin(expected[:-1])] += observed[-1]
            expected[np.argmin(expected[:-1])] += expected[-1]
            observed, expected = observed[:-1], expected[:-1]
        expected *= observed.sum() / expected.sum()  # the row's own rounding slack, ≤ 1e-8 relative
        p_values.append(stats.chisquare(observed, expected).pvalue if observed.size > 1 else 1.0)
    return np.array(p_values)


def _zipf_rows():
    ranks = np.arange(1, 1001, dtype=float)
    rows = np.stack([ranks**-1.1, ranks[::-1] ** -2.0])
    return rows / rows.sum(axis=1, keepdims=True)


def _zeros_and_tiny():
    row = np.array([0.0, 0.4, 1e-300, 0.0, 0.35, 5e-324, 0.25, 0.0])
    return np.stack([row, row[::-1]])


WORLDS = {
    "dirichlet": np.random.default_rng(0).dirichlet(np.ones(8), size=3),
    "zipf-1000": _zipf_rows(),
    "zeros-and-tiny": _zeros_and_tiny(),
    "uniform-5": np.full((1, 5), 0.2),
    "peaked": np.array([[0.999] + [0.001 / 6] * 6]),
}


@pytest.mark.parametrize("world", sorted(WORLDS))
def test_samples_match_the_law_chi_square(world):
    probs = WORLDS[world]
    p_values = chi_square_rows(probs, 40_000, seed=11)
    assert np.all(p_values > ALPHA / probs.shape[0])


def test_same_seed_same_samples_and_chunking_does_not_matter():
    probs = np.random.default_rng(1).dirichlet(np.ones(30), size=7)
    pi = ss.TabularPolicy(probs)
    x = np.random.default_rng(2).integers(
        0, 7, 5000
    )  # 5000·7 pairs: crosses SAMPLE_CHUNK boundaries
    assert x.shape[0] * 7 > 2 * SAMPLE_CHUNK
    whole = pi.sample(x, 7, rng=9)
    np.testing.assert_array_equal(whole, pi.sample(x, 7, rng=np.random.default_rng(9)))
    gen = np.random.default_rng(9)
    pieces = [pi.sample(x[:1234], 7, rng=gen), pi.sample(x[1234:], 7, rng=gen)]
    np.testing.assert_array_equal(whole, np.concatenate(pieces))


def test_alias_tables_are_cached_and_not_pickled():
    pi = ss.TabularPolicy(np.random.default_rng(3).dirichlet(np.ones(6), size=2))
    tables = pi._alias_tables()
    assert pi._alias_tables() is tables
    clone = pickle.loads(pickle.dumps(pi))
    assert "_alias" not in clone.__dict__
    np.testing.assert_array_equal(clone.sample([0, 1], 50, rng=4), pi.sample([0, 1], 50, rng=4))


def test_table_layout_and_memory():
    pi = ss.TabularPolicy(np.full((3, 5), 0.2))
    tables = pi._alias_tables()
    assert (tables.bits, tables.width) == (3, 8)
    assert tables.nbytes == 3 * 8 * 32  # one 32-byte record a column


def reference_draw(tables: _AliasTables, rows: np.ndarray, rng) -> np.ndarray:
    """The sampler as first written (threshold and alias arrays, two reads a draw): the reference."""
    q, alias = tables.threshold, tables.alias
    u = rng.random(rows.shape[0]) * tables.width
    col = u.astype(np.int64)
    frac = u - col
    cell = rows * tables.width + col
    own = frac + tables.step <= q[cell]
    y = np.where(own, col, alias[cell])
    tie = np.flatnonzero((frac < q[cell]) & ~own)
    if tie.size:
        accept = tie[_exact_bernoulli((q[cell][tie] - frac[tie]) / tables.step, rng)]
        y[accept] = col[accept]
    return y


@given(any_table, st.integers(0, 2**32 - 1))
def test_packed_records_draw_what_the_reference_draws(probs, seed):
    """Same seed, same responses and log-likelihoods as the two-read reference (bit for bit)."""
    pi = ss.TabularPolicy(probs)
    rows = np.repeat(np.arange(pi.n_contexts), 50)
    y, log_prob = pi._sample_rows_with_log_prob(rows, np.random.default_rng(seed))
    np.testing.assert_array_equal(
        y, reference_draw(pi._alias_tables(), rows, np.random.default_rng(seed))
    )
    np.testing.assert_array_equal(log_prob, pi.log_probs[rows, y])


@given(any_table)
def test_packed_records_hold_grid_bound_alias_and_log_probs(probs):
    tables = _AliasTables(probs)
    n_rows, n_responses = probs.shape
    q = tables.threshold
    col = np.tile(np.arange(tables.width), n_rows)
    row = np.repeat(np.arange(n_rows), tables.width)
    assert np.array_equal(tables.records["bound"], col + np.floor(q / tables.step) * tables.step)
    padded = np.zeros((n_rows, tables.width))
    padded[:, :n_responses] = probs
    with np.errstate(divide="ignore"):
        logs = np.log(padded)
    assert np.array_equal(tables.records["log_own"], logs[row, col])
    assert np.array_equal(tables.records["log_alias"], logs[row, tables.alias])


@pytest.mark.parametrize("scripted", [[0.0] * 22, [0.0, 0.0, 0.5], [0.25]])
def test_packed_records_settle_ties_like_the_reference(scripted):
    """A uniform on the straddling grid cell: packed draw and reference agree, log-likelihood included."""
    pi = ss.TabularPolicy([[5e-324, 1.0]])
    batches = [np.full(1, v) for v in scripted]
    rows = np.zeros(1, np.int64)
    y, log_prob = pi._sample_rows_with_log_prob(rows, ScriptedUniforms(*batches))
    assert (
        y.tolist() == reference_draw(pi._alias_tables(), rows, ScriptedUniforms(*batches)).tolist()
    )
    assert log_prob.tolist() == pi.log_probs[0, y].tolist()


def test_sample_rows_with_log_prob_agrees_with_log_prob():
    pi = ss.TabularPolicy(_zeros_and_tiny())
    rows = np.repeat([0, 1], 300)
    y, log_prob = pi._sample_rows_with_log_prob(rows, np.random.default_rng(0))
    np.testing.assert_array_equal(log_prob, pi.log_prob(rows, y))
    assert np.all(np.isfinite(log_prob))
