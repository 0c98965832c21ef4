"""One tie rule across the package (CONTRIBUTING.md, "Ties"; issue 7 §1, §2).

Worlds here are built from exact rationals, so the true tie groups and
thresholds are known exactly (``fractions.Fraction``); the floating-point
values the package computes reach equal quantities along different arithmetic
paths (products of conditionals, sums of answer masses) and differ by ulps.
Every exact function must agree with the rational reference.
"""

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import sharpsim as ss
from sharpsim.policies.base import TIE_RTOL, canonical_ties, tie_group_starts, tie_threshold

ALPHA = 1e-3  # significance level of each statistical test here

#: The reproducers of issue 7 §1.
MARKOV_TIE = ss.MarkovPolicy(
    [[0.4, 0.45, 0.15]], [[[[0.9, 0.1, 0], [0.8, 0.2, 0], [0.5, 0.25, 0.25]]]]
)
MAJORITY_PI = np.array([[2, 4, 4, 2]]) / 12
MAJORITY_ANSWERS = [[1, 0, 2, 1]]


# --------------------------------------------------------------------------- rational worlds


@st.composite
def rational_markov(draw, max_vocab=3, max_horizon=3):
    """A Markov policy with rational rows over a common denominator, plus its exact sequence masses.

    Two sequences are forced to have equal mass along different products
    (``a·c = b·d`` with ``a ≠ b``), so ulp-level ties are always present.
    """
    den = draw(st.sampled_from([10, 12, 15, 20]))
    vocab = draw(st.integers(2, max_vocab))
    horizon = draw(st.integers(2, max_horizon))

    def row(fixed=None):
        fixed = dict(fixed or {})
        free = [j for j in range(vocab) if j not in fixed]
        rest = den - sum(fixed.values())
        if not free and rest:
            return row()
        cuts = sorted(
            draw(
                st.lists(
                    st.integers(0, rest),
                    min_size=max(len(free) - 1, 0),
                    max_size=max(len(free) - 1, 0),
                )
            )
        )
        parts = np.diff([0, *cuts, rest]) if free else []
        out = [0] * vocab
        for j, w in fixed.items():
            out[j] = w
        for j, w in zip(free, parts):
            out[j] = int(w)
        return out

    # a·c == b·d with a ≠ b: pick from factorisations of a common product (all entries ≤ den/2 + 1)
    a, c, b, d = draw(
        st.sampled_from(
            [(4, 3, 2, 6), (2, 6, 3, 4), (6, 2, 4, 3), (3, 4, 6, 2), (4, 4, 2, 8), (5, 4, 4, 5)]
        )
    )
    scale = den // 10 if den in (10, 20) else 1
    a, b = (
        a * scale if a * scale + b * scale <= den else a,
        b * scale if a * scale + b * scale <= den else b,
    )
    initial = row({0: a, 1: b}) if a + b <= den else row()
    trans = []
    for h in range(horizon - 1):
        rows = []
        for v in range(vocab):
            fixed = {0: c} if (h == 0 and v == 0) else {0: d} if (h == 0 and v == 1) else {}
            rows.append(row(fixed) if sum(fixed.values()) <= den else row())
        trans.append(rows)
    init_q = [Fraction(w, den) for w in initial]
    trans_q = [[[Fraction(w, den) for w in r] for r in rows] for rows in trans]
    exact = []
    for seq in itertools.product(range(vocab), repeat=horizon):
        p = init_q[seq[0]]
        for h in range(1, horizon):
            p *= trans_q[h - 1][seq[h - 1]][seq[h]]
        exact.append(p)
    policy = ss.MarkovPolicy(np.array([initial]) / den, np.array([trans]) / den)
    return policy, exact


@st.composite
def rational_majority(draw):
    """A tabular world with rational masses and an answer map whose answer masses tie through sums."""
    den = draw(st.sampled_from([10, 12, 15]))
    n_y = draw(st.integers(2, 6))
    cuts = sorted(draw(st.lists(st.integers(0, den), min_size=n_y - 1, max_size=n_y - 1)))
    weights = np.diff([0, *cuts, den])
    answers = draw(st.lists(st.integers(0, 2), min_size=n_y, max_size=n_y))
    if n_y >= 4 and draw(st.booleans()):
        # plant a tie through a sum: answer 0 = {y0, y1}, answer 1 = {y2} with w2 = w0 + w1
        w0 = draw(st.integers(1, den // 4))
        w1 = draw(st.integers(1, den // 4))
        rest = den - 2 * (w0 + w1)
        tail = np.diff(
            [
                0,
                *sorted(draw(st.lists(st.integers(0, rest), min_size=n_y - 4, max_size=n_y - 4))),
                rest,
            ]
        )
        weights = np.array([w0, w1, w0 + w1, *tail])
        answers = [0, 0, 1, *[2] * (n_y - 3)]
    exact = [Fraction(int(w), den) for w in weights]
    return weights / den, np.array(answers), exact


def _exact_bon_law(exact_p, exact_r, n):
    """BoN law (tie_break='first', split ∝ π within a group of equal exact rewards), in Fractions."""
    p = np.array(exact_p, dtype=object)
    law = [Fraction(0)] * len(p)
    for level in sorted(set(r for r, q in zip(exact_r, p) if q > 0)):
        below = sum((q for r, q in zip(exact_r, p) if r < level), Fraction(0))
        group = sum((q for r, q in zip(exact_r, p) if r == level), Fraction(0))
        mass = (below + group) ** n - below**n
        for y, (r, q) in enumerate(zip(exact_r, p)):
            if r == level:
                law[y] = mass * q / group
    return np.array([float(v) for v in law])


def _exact_majority_reward(exact_p, answers):
    return [sum((q for q, b in zip(exact_p, answers) if b == a), Fraction(0)) for a in answers]


# --------------------------------------------------------------------------- the helpers


def test_tie_groups_from_the_top_split_wide_chains():
    # a chain of near-ties wider than the tolerance: grouped from the top, not by single linkage
    step = 0.6 * TIE_RTOL
    row = np.array([[-1.0 - 3 * step, -1.0 - 2 * step, -1.0 - step, -1.0]])
    starts = tie_group_starts(row)
    # the leader -1 takes -1-step (0.6 tol) but not -1-2·step (1.2 tol), which leads the next group
    assert starts.astype(int).tolist() == [[1, 0, 1, 0]]
    assert canonical_ties(row[:, ::-1])[0].tolist() == [
        -1.0,
        -1.0,
        -1.0 - 2 * step,
        -1.0 - 2 * step,
    ]


def test_tie_groups_minus_inf_and_single_column():
    assert tie_group_starts(np.array([[-np.inf, -np.inf, 0.0]])).tolist() == [[True, False, True]]
    assert tie_group_starts(np.array([[1.0]])).tolist() == [[True]]


@given(
    st.lists(st.sampled_from([-np.inf, -7.0, -1.0, 0.0, 3.5]), min_size=1, max_size=8),
    st.lists(st.integers(-3, 3), min_size=8, max_size=8),
)
def test_canonical_ties_groups_ulp_perturbations(base_values, ulps):
    """Values perturbed by a few ulps are canonicalised to bit-equal leaders; distinct values stay distinct."""
    v = np.array(base_values)
    noisy = np.array(
        [x if not np.isfinite(x) else x + u * np.spacing(x if x else 1.0) for x, u in zip(v, ulps)]
    )
    canon = canonical_ties(noisy[None, :])[0]
    for i, j in itertools.product(range(len(v)), repeat=2):
        assert (canon[i] == canon[j]) == (v[i] == v[j])
    assert np.all(canon >= noisy)  # the leader is the largest member


# --------------------------------------------------------------------------- issue 7 §1 reproducers


def test_markov_reproducer_bon_law_splits_ulp_tie():
    law2 = ss.best_of_n_law(MARKOV_TIE, 2).probs[0]
    # 00 and 10 both have mass 0.36: P(pick in group) = 0.72^2 - 0.28^2 = 0.4400+..., split evenly
    np.testing.assert_allclose(law2[[0, 3]], [0.4608, 0.4608], rtol=1e-12)
    law50 = ss.best_of_n_law(MARKOV_TIE, 50).probs[0]
    np.testing.assert_allclose(law50[[0, 3]], [0.5, 0.5], rtol=1e-9)


def test_majority_reproducer_law_is_pi_at_n3():
    pi = ss.TabularPolicy(MAJORITY_PI)
    reward = ss.MajorityVoteReward(MAJORITY_ANSWERS)
    np.testing.assert_allclose(ss.best_of_n_law(pi, 3, reward=reward).probs, pi.probs, rtol=1e-12)


@pytest.mark.parametrize("method", ["faithful", "law"])
def test_markov_reproducer_samplers_split_evenly(method):
    """Both samplers pick 00 and 10 equally often at N = 50 (binomial test at level ALPHA)."""
    k = 4000
    res = ss.best_of_n(MARKOV_TIE, np.zeros(k, dtype=np.int64), 50, method=method, rng=11)
    idx = res.responses @ np.array([3, 1])
    n00, n10 = int(np.count_nonzero(idx == 0)), int(np.count_nonzero(idx == 3))
    assert n00 + n10 > 0.99 * k  # everything else has law ≤ 0.72^50
    assert stats.binomtest(n00, n00 + n10, 0.5).pvalue > ALPHA


def test_index_tie_break_resolves_ulp_tie_by_index():
    """tie_break='index' gives the whole tied group's mass to the smaller index (00, not 10)."""
    law = ss.best_of_n_law(MARKOV_TIE, 50, tie_break="index").probs[0]
    np.testing.assert_allclose(law[[0, 3]], [1.0, 0.0], atol=1e-9)
    res = ss.best_of_n(MARKOV_TIE, np.zeros(200, dtype=np.int64), 50, tie_break="index", rng=3)
    assert np.all(res.responses == 0)


def test_adaptive_law_groups_ulp_tie():
    """The adaptive law splits the 0.36 tie ∝ π, like the sampler (μ large: almost surely a mode)."""
    law = ss.adaptive_best_of_n_law(MARKOV_TIE, 30.0).probs[0]
    np.testing.assert_allclose(law[[0, 3]], [0.5, 0.5], rtol=1e-9)


def test_beam_search_cut_keeps_lexicographic_prefix_on_ulp_tie():
    # prefixes 00, 10, 11 all have mass 0.24 (0.3·0.8, 0.6·0.4, 0.6·0.4); width 2 keeps 00 and 10
    trans = np.zeros((1, 2, 3, 3))
    trans[0, 0] = [[0.8, 0.2, 0], [0.4, 0.4, 0.2], [1 / 3, 1 / 3, 1 / 3]]
    trans[0, 1] = [[0.8, 0.2, 0], [1, 0, 0], [1 / 3, 1 / 3, 1 / 3]]
    mp = ss.MarkovPolicy([[0.3, 0.6, 0.1]], trans)
    assert ss.beam_search(mp, [0], 2).tolist() == [[0, 0, 0]]
    assert mp.mode([0]).tolist() == [[1, 1, 0]]


# --------------------------------------------------------------------------- property tests


@given(rational_markov(), st.integers(1, 6))
def test_bon_law_matches_rational_reference_markov(world, n):
    policy, exact = world
    expected = _exact_bon_law(exact, exact, n)
    np.testing.assert_allclose(
        ss.best_of_n_law(policy, n).probs[0], expected, rtol=1e-9, atol=1e-15
    )


@given(rational_markov())
def test_mode_mask_matches_rational_argmax_markov(world):
    policy, exact = world
    top = max(exact)
    assert ss.mode_mask(policy)[0].tolist() == [p == top for p in exact]


@given(rational_majority(), st.integers(1, 5))
def test_bon_law_majority_matches_rational_reference(world, n):
    probs, answers, exact = world
    pi = ss.TabularPolicy(probs[None, :])
    reward = ss.MajorityVoteReward(answers[None, :])
    expected = _exact_bon_law(exact, _exact_majority_reward(exact, answers), n)
    np.testing.assert_allclose(
        ss.best_of_n_law(pi, n, reward=reward).probs[0], expected, rtol=1e-9, atol=1e-15
    )


@given(rational_markov(), st.integers(1, 4), st.sampled_from([0.1, 0.25, 0.3, 0.5, 0.6]))
def test_sft_plateau_and_mode_mass_match_rational_reference(world, n, delta):
    policy, exact = world
    top = max(exact)
    mode = sum((p for p in exact if p == top), Fraction(0))
    q = 1 - (1 - mode) ** n
    level = 1 - Fraction(repr(delta))
    np.testing.assert_allclose(ss.bon_mode_mass(policy, n), [float(q)], rtol=1e-12)
    expected = 1.0 if q < level else 0.5 if q == level else 0.0
    assert ss.sft_error_plateau(policy, n, delta) == expected


# --------------------------------------------------------------------------- issue 7 §2: boundaries


def test_plateau_boundary_is_half_and_matches_large_n_limit():
    base = ss.TabularPolicy([[0.5, 0.375, 0.125]])
    assert ss.bon_mode_mass(base, 1)[0] == pytest.approx(0.5, rel=1e-15)
    assert ss.sft_error_plateau(base, 1, 0.5) == 0.5
    # expected_sft_error → ½ at q = 1 − δ: P(Bin(v, ½) < v/2) = ½ − P(K = v/2)/2 for even v, → ½ like 1/√v
    for n in (10**4, 10**6):
        err = ss.expected_sft_error(base, n, 1, 0.5)
        assert abs(err - 0.5) < 1.0 / math.sqrt(n)


def test_count_threshold_is_exact_on_decimal_delta():
    """K/v < 1 − δ with δ = 0.3 read as 3/10: K = 7 of v = 10 is no error (the binary 0.3 would say it is)."""
    base = ss.TabularPolicy([[0.6, 0.4]])
    err = ss.expected_sft_error(base, 10, 1, 0.3, mu=[1.0])
    assert err == pytest.approx(stats.binom.cdf(6, 10, 0.6), rel=1e-12)


def test_uniform_unseen_rule_is_exact_on_decimal_delta():
    # prompt 1 has |y*|/|Y| = 7/10 = 1 − δ: its uniform fallback is no error (binary 0.3 would say it is)
    base = ss.TabularPolicy([[1.0] + [0.0] * 9, [1 / 7] * 7 + [0.0] * 3])
    # each prompt is unvisited w.p. ½; prompt 0's fallback (1/10 < 7/10) errs, prompt 1's does not
    assert ss.expected_sft_error(base, 1, 1, 0.3) == pytest.approx(0.25, rel=1e-15)


def test_adaptive_stopping_rule_decides_rational_boundary():
    """k·p ≥ μ with k·p = μ exactly (rational) stops, though the float product may fall an ulp short."""
    from sharpsim.inference.adaptive_bon import _stop_threshold

    found = 0
    for num, den, mu in itertools.product(
        range(1, 10), range(2, 13), (0.3, 0.7, 1.1, 1.3, 2.1, 3.3)
    ):
        if num >= den:
            continue
        p = Fraction(num, den)
        exact_c = math.ceil(Fraction(repr(mu)) / p)
        c = _stop_threshold(np.array([math.log(num / den)]), mu)[0]
        assert c == exact_c, (num, den, mu)
        found += exact_c * p == Fraction(repr(mu))
    assert found > 0  # the sweep includes exact boundaries


def test_sharpening_error_threshold_is_exact_on_rational_masses():
    """A model whose mode-set mass is exactly 1 − δ (rationals) is no error, however its sum rounds."""
    base = ss.TabularPolicy([[0.4, 0.4, 0.2]])
    count = 0
    for den in (7, 9, 10, 12, 15, 20):
        for a, b in itertools.product(range(1, den), repeat=2):
            if a + b >= den:
                continue
            delta = 1 - Fraction(a + b, den)
            if Fraction(repr(float(delta))) != delta:
                continue  # δ must print as the rational it stands for
            model = ss.TabularPolicy([[a / den, b / den, (den - a - b) / den]])
            assert ss.sharpening_error(model, base, float(delta)) == 0.0, (a, b, den)
            count += 1
    assert count > 50


def test_tie_threshold_is_monotone():
    x = np.sort(np.concatenate([np.linspace(-5, 5, 1001), [-1.0, 1.0, 0.0]]))
    assert np.all(np.diff(tie_threshold(x)) >= 0)


def _exact_adaptive(exact_p, mu):
    """Adaptive BoN (Eq. 10, log-likelihood reward, 'first') as a chain on (running max, pick), exact comparisons.

    Masses are floats; the stopping rule ``k·p ≥ μ`` and the ties are decided on Fractions.
    """
    mu = Fraction(repr(mu))
    support = [y for y, p in enumerate(exact_p) if p > 0]
    law, expected, running = np.zeros(len(exact_p)), 0.0, {(Fraction(0), -1): 1.0}
    for k in range(1, 100_000):
        expected += sum(running.values())
        nxt = {}
        for (top, best), mass in running.items():
            for y in support:
                key = (exact_p[y], y) if exact_p[y] > top else (top, best)
                w = mass * float(exact_p[y])
                if k * key[0] >= mu:
                    law[key[1]] += w
                else:
                    nxt[key] = nxt.get(key, 0.0) + w
        running = {s: m for s, m in nxt.items() if m > 1e-300}
        if sum(running.values()) < 1e-18:
            return law, expected
    raise AssertionError("the chain did not stop")


@given(rational_markov(max_vocab=3, max_horizon=2), st.sampled_from([0.3, 0.7, 1.0, 1.3, 2.1]))
def test_adaptive_law_matches_rational_reference_markov(world, mu):
    policy, exact = world
    law, expected = _exact_adaptive(exact, mu)
    np.testing.assert_allclose(
        ss.adaptive_best_of_n_law(policy, mu).probs[0], law, rtol=1e-8, atol=1e-15
    )
    np.testing.assert_allclose(
        ss.adaptive_best_of_n_expected_samples(policy, mu), [expected], rtol=1e-8
    )


def _reference_groups(row):
    """Tie groups from the top by the definition, one value at a time (row sorted ascending)."""
    starts, hi = [False] * len(row), len(row) - 1
    while hi >= 0:
        leader, j = row[hi], hi
        while j - 1 >= 0 and row[j - 1] >= tie_threshold(leader):
            j -= 1
        starts[j] = True
        hi = j - 1
    return starts


@given(
    st.lists(
        st.lists(st.sampled_from([-np.inf, -50.0, -1.0, 0.0, 2.0, 1e6]), min_size=1, max_size=6),
        min_size=1,
        max_size=3,
    ),
    st.data(),
)
def test_tie_group_starts_matches_definition(bases, data):
    """Rows mixing exact ties, ulp noise and chains of near-ties at fractions of the tolerance."""
    width = max(len(b) for b in bases)
    rows = []
    for b in bases:
        b = (b * width)[:width]
        steps = data.draw(
            st.lists(
                st.sampled_from([0.0, 1e-16, 0.4, 0.6, 0.9, 1.1]), min_size=width, max_size=width
            )
        )
        rows.append(
            sorted(
                x
                if not np.isfinite(x)
                else x - s * TIE_RTOL * max(1.0, abs(x))
                if s >= 0.4
                else x * (1 + s)
                for x, s in zip(b, steps)
            )
        )
    v = np.array(rows)
    got = tie_group_starts(v)
    for r in range(v.shape[0]):
        assert got[r].tolist() == _reference_groups(v[r].tolist())


def test_adaptive_sampler_splits_ulp_tie_evenly():
    res = ss.adaptive_best_of_n(MARKOV_TIE, np.zeros(4000, dtype=np.int64), 30.0, rng=5)
    idx = res.responses @ np.array([3, 1])
    n00, n10 = int(np.count_nonzero(idx == 0)), int(np.count_nonzero(idx == 3))
    assert n00 + n10 == 4000  # missing the mode has probability ≤ exp(-2·30)
    assert stats.binomtest(n00, 4000, 0.5).pvalue > ALPHA


def test_plateau_on_ulp_tied_markov_boundary():
    # y* = {00, 10} with mass 0.36 + 0.36 = 0.72 = 1 − 0.28 (through two different products)
    assert ss.bon_mode_mass(MARKOV_TIE, 1)[0] == pytest.approx(0.72, rel=1e-14)
    assert ss.sft_error_plateau(MARKOV_TIE, 1, 0.28) == 0.5
    assert abs(ss.expected_sft_error(MARKOV_TIE, 10**6, 1, 0.28) - 0.5) < 1e-3


def test_mode_mask_gamma_never_splits_a_tie_group():
    """A group whose leader reaches the γ-cut is in y*_γ whole, even a member just below the cut."""
    t = math.log(0.5) + math.log(0.5)  # the cut for γ = ½ below a top of ½
    tol = TIE_RTOL * abs(t)
    leader, member = (
        t - 0.5 * tol,
        t - 1.2 * tol,
    )  # member < tie_threshold(t) but tied with the leader
    rest = math.log1p(-(0.5 + math.exp(leader) + math.exp(member)))
    pi = ss.TabularPolicy.from_log_probs([[math.log(0.5), leader, member, rest]])
    assert member < tie_threshold(t) <= leader
    assert ss.mode_mask(pi, 0.5)[0].tolist() == [True, True, True, False]
    # the same set as thresholding the canonical (leader) values
    assert (canonical_ties(pi.log_probs) >= tie_threshold(t)).tolist() == ss.mode_mask(
        pi, 0.5
    ).tolist()
