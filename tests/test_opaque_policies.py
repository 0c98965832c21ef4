"""Opaque policies (issue 16): the core algorithms run on a policy that can only sample and score.

``OpaquePolicy`` wraps a :class:`~sharpsim.MarkovPolicy` and exposes only the
protocol a real causal LM provides (``n_contexts``, ``response_ndim = 1``,
``enumerable = False``, ``sample``, ``log_prob``, ``sample_with_log_prob``):
no ``to_tabular``, ``probs``, ``horizon`` or ``vocab_size``. Its
``sample_with_log_prob`` is the Markov policy's own ``sample`` then
``log_prob``, so it consumes the generator exactly as ``sample`` does, and
every algorithm must give, for the same seed, the same picks, queries, data
and fitted policy on the opaque base as on the plain Markov base (whose
Monte Carlo paths the other suites check against the exact laws).
"""

from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import markov_policies

import sharpsim as ss
from sharpsim.algorithms import xpo as xpo_module
from sharpsim.policies import is_enumerable
from sharpsim.policies.base import tied

MK = ss.MarkovPolicy(
    [[0.6, 0.4], [0.3, 0.7]],
    [
        [[[0.7, 0.3], [0.2, 0.8]], [[0.5, 0.5], [0.9, 0.1]]],
        [[[0.4, 0.6], [0.6, 0.4]], [[0.3, 0.7], [0.8, 0.2]]],
    ],
)
#: p(0,1) = 0.4·0.9 and p(1,0) = 0.6·0.6 are both 0.36, equal only up to rounding: a two-way tie.
TIED = ss.MarkovPolicy([[0.4, 0.6]], [[[[0.1, 0.9], [0.6, 0.4]]]])
CLASSES = {
    "markov": lambda: ss.MarkovClass(2, 2, 3),
    "prefix-tree": lambda: ss.PrefixTreeClass(2, 2, 3),
}


class OpaquePolicy:
    """Only the opaque protocol, around a Markov policy; counts the calls of each method."""

    enumerable = False
    response_ndim = 1

    def __init__(self, inner):
        self.inner = inner
        self.n_contexts = inner.n_contexts
        self.calls = Counter()

    def sample(self, x, n, rng=None):
        self.calls["sample"] += 1
        return self.inner.sample(x, n, rng=rng)

    def log_prob(self, x, y):
        self.calls["log_prob"] += 1
        return self.inner.log_prob(x, y)

    def sample_with_log_prob(self, x, n, rng=None):
        self.calls["sample_with_log_prob"] += 1
        x = np.asarray(x)
        y = self.inner.sample(x, n, rng=rng)
        return y, self.inner.log_prob(np.broadcast_to(x[:, None], y.shape[:2]), y)


def _table(policy) -> np.ndarray:
    return (policy.inner if isinstance(policy, OpaquePolicy) else policy).to_tabular().log_probs


def _assert_same_run(opaque, plain):
    """Same fitted policy, queries, seed, per-prompt counts and data, bit for bit."""
    assert np.array_equal(_table(opaque.policy), _table(plain.policy))
    assert (opaque.queries, opaque.seed) == (plain.queries, plain.seed)
    if plain.samples_per_prompt is not None:
        assert np.array_equal(opaque.samples_per_prompt, plain.samples_per_prompt)
    assert opaque.data.keys() == plain.data.keys()
    for key, value in plain.data.items():
        if key == "iterates":
            assert [_table(p).tobytes() for p in opaque.data[key]] == [
                _table(p).tobytes() for p in value
            ]
        else:
            assert np.array_equal(opaque.data[key], value), key


def test_the_double_is_a_policy_and_is_not_enumerable():
    opaque = OpaquePolicy(MK)
    assert isinstance(opaque, ss.Policy) and not is_enumerable(opaque) and is_enumerable(MK)
    assert not hasattr(opaque, "to_tabular") and not hasattr(opaque, "horizon")


# --------------------------------------------------------------------------- the oracle


def test_oracle_uses_sample_with_log_prob_and_gives_the_same_draws():
    opaque = OpaquePolicy(MK)
    mine, plain = ss.SampleEvaluateOracle(opaque, rng=5), ss.SampleEvaluateOracle(MK, rng=5)
    x = [0, 1, 1, 0, 1]
    for a, b in zip(mine.sample(x, 4), plain.sample(x, 4), strict=True):
        assert np.array_equal(a, b) and a.dtype == b.dtype
    for chunk_size in (1, 3, 8, 100):
        chunks = zip(
            mine.stream(x, 6, chunk_size=chunk_size), plain.stream(x, 6, chunk_size=chunk_size)
        )
        for a, b in chunks:
            assert all(
                np.array_equal(u, v) and u.dtype == v.dtype for u, v in zip(a, b, strict=True)
            )
    assert mine.queries == plain.queries == 20 + 4 * 30
    assert opaque.calls["sample"] == opaque.calls["log_prob"] == 0
    # one call for sample, then one per chunk: 5·6 pieces of 1, 5·2 of 3, 5 whole prompts, 1 chunk
    assert opaque.calls["sample_with_log_prob"] == 1 + 30 + 10 + 5 + 1


def test_oracle_refuses_a_sample_with_log_prob_of_the_wrong_shape():
    class Flat(OpaquePolicy):
        def sample_with_log_prob(self, x, n, rng=None):
            y, log_prob = super().sample_with_log_prob(x, n, rng)
            return y, log_prob.ravel()

    with pytest.raises(ValueError, match="sample_with_log_prob"):
        ss.SampleEvaluateOracle(Flat(MK), rng=0).sample([0, 1], 3)

    class NotAMethod(OpaquePolicy):
        sample_with_log_prob = 3

    with pytest.raises(TypeError, match="sample_with_log_prob"):
        ss.SampleEvaluateOracle(NotAMethod(MK))


# --------------------------------------------------------------------------- best-of-N


@given(
    markov_policies(),
    st.integers(0, 2**32 - 1),
    st.integers(1, 12),
    st.integers(1, 20),
    st.lists(st.integers(0, 1), min_size=1, max_size=6),
)
def test_faithful_best_of_n_is_the_same_on_an_opaque_base(base, seed, N, chunk_size, prompts):
    x = np.array(prompts) % base.n_contexts
    mine, plain = (
        ss.SampleEvaluateOracle(OpaquePolicy(base), rng=seed),
        ss.SampleEvaluateOracle(base, rng=seed),
    )
    a = ss.best_of_n(mine, x, N, chunk_size=chunk_size)
    b = ss.best_of_n(plain, x, N, chunk_size=chunk_size)
    assert np.array_equal(a.responses, b.responses) and np.array_equal(a.log_probs, b.log_probs)
    assert a.queries == b.queries == mine.queries == x.size * N


@pytest.mark.parametrize("chunk_size", [1, 7, 1000])
def test_majority_vote_best_of_n_is_the_same_on_an_opaque_base(chunk_size):
    """The empirical majority vote reads answers off the responses: an answer map, no decoding."""
    vote = ss.MajorityVoteReward(lambda y: np.asarray(y)[..., -1])  # the answer is the last token
    x = np.array([0, 1, 1, 0, 1, 0])
    a = ss.best_of_n(OpaquePolicy(MK), x, 9, reward=vote, rng=4, chunk_size=chunk_size)
    b = ss.best_of_n(MK, x, 9, reward=vote, rng=4, chunk_size=chunk_size)
    assert np.array_equal(a.responses, b.responses) and np.array_equal(a.log_probs, b.log_probs)
    assert a.queries == b.queries == 54


@pytest.mark.parametrize("seed", range(5))
def test_faithful_best_of_n_on_an_opaque_base_keeps_the_first_tied_draw(seed):
    """The pick is the earliest draw tied with the best one, read off the very same draws."""
    opaque, x, N = OpaquePolicy(TIED), np.zeros(40, np.int64), 6
    y, log_prob = ss.SampleEvaluateOracle(opaque, rng=seed).sample(x, N)
    res = ss.best_of_n(opaque, x, N, rng=seed)
    top = tied(log_prob, log_prob.max(axis=1, keepdims=True))
    first = np.argmax(top, axis=1)
    assert np.array_equal(res.responses, y[np.arange(x.size), first])
    assert res.queries == x.size * N
    both = {tuple(r) for r in res.responses.tolist()}
    assert both <= {(0, 1), (1, 0)} and len(both) == 2  # the two tied modes both get picked


@given(
    markov_policies(),
    st.integers(0, 2**32 - 1),
    st.floats(0.5, 4.0),
    st.integers(1, 30),
    st.lists(st.integers(0, 1), min_size=0, max_size=6),
)
def test_adaptive_best_of_n_is_the_same_on_an_opaque_base(base, seed, mu_stop, chunk_size, prompts):
    x = np.array(prompts, dtype=np.int64) % base.n_contexts
    opaque = OpaquePolicy(base)
    mine, plain = ss.SampleEvaluateOracle(opaque, rng=seed), ss.SampleEvaluateOracle(base, rng=seed)
    kw = dict(max_samples=40, on_cap="flag", chunk_size=chunk_size)
    a = ss.adaptive_best_of_n(mine, x, mu_stop, **kw)
    b = ss.adaptive_best_of_n(plain, x, mu_stop, **kw)
    for field in ("log_probs", "samples_per_prompt", "stopped"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    if x.size:
        assert np.array_equal(a.responses, b.responses)
    else:  # no draw, so no width to read: the opaque base declares no horizon
        assert a.responses.shape == (0, 0) and b.responses.shape == (0, base.horizon)
    assert a.queries == b.queries == mine.queries == int(a.samples_per_prompt.sum())
    assert opaque.calls["sample"] == opaque.calls["log_prob"] == 0


# --------------------------------------------------------------------------- the algorithms


@pytest.mark.parametrize("name", CLASSES)
def test_sft_sharpening_is_the_same_on_an_opaque_base(name):
    opaque = ss.sft_sharpening(OpaquePolicy(MK), 40, 5, CLASSES[name](), rng=3, keep_data=True)
    plain = ss.sft_sharpening(
        MK, 40, 5, CLASSES[name](), rng=3, keep_data=True, bon_method="faithful"
    )
    _assert_same_run(opaque, plain)
    assert opaque.queries == 200 and opaque.diagnostics == plain.diagnostics


@pytest.mark.parametrize("name", CLASSES)
def test_adaptive_sft_sharpening_is_the_same_on_an_opaque_base(name):
    kw = dict(rng=4, keep_data=True, max_samples=60, on_cap="flag")
    opaque = ss.adaptive_sft_sharpening(OpaquePolicy(MK), 30, 0.2, CLASSES[name](), **kw)
    plain = ss.adaptive_sft_sharpening(MK, 30, 0.2, CLASSES[name](), **kw)
    _assert_same_run(opaque, plain)
    assert opaque.queries == int(opaque.samples_per_prompt.sum())


@pytest.mark.parametrize("loss", ["regression", "logistic"])
@pytest.mark.parametrize("name", CLASSES)
def test_dpo_sharpening_is_the_same_on_an_opaque_base(name, loss, monkeypatch):
    plain = ss.dpo_sharpening(
        MK, 30, 0.5, CLASSES[name](), rng=5, loss=loss, keep_data=True, check_realizable=False
    )
    monkeypatch.setattr("sharpsim.algorithms.dpo.tilted", _never)
    opaque = ss.dpo_sharpening(
        OpaquePolicy(MK), 30, 0.5, CLASSES[name](), rng=5, loss=loss, keep_data=True
    )
    _assert_same_run(opaque, plain)
    assert opaque.queries == 60 and opaque.diagnostics == plain.diagnostics


def _never(*args, **kwargs):
    raise AssertionError("an exact computation was asked of an opaque base")


def _forbid_exact_xpo(monkeypatch):
    for name in ("tilted", "regularized_objective", "kl_divergence", "sharpening_error"):
        monkeypatch.setattr(xpo_module, name, _never)


@pytest.mark.parametrize("select", ["validation", "last"])
@pytest.mark.parametrize("name", CLASSES)
def test_xpo_sharpening_is_the_same_on_an_opaque_base(name, select, monkeypatch):
    kw = dict(rng=6, select=select, n_validation=15, keep_data=True)
    plain = ss.xpo_sharpening(MK, 5, 0.5, 0.05, CLASSES[name](), check_realizable=False, **kw)
    _forbid_exact_xpo(monkeypatch)
    base = OpaquePolicy(MK)
    opaque = ss.xpo_sharpening(base, 5, 0.5, 0.05, CLASSES[name](), **kw)
    _assert_same_run(opaque, plain)
    assert opaque.queries == 10 + (6 * 15 if select == "validation" else 0)
    assert base.calls["sample"] == 0  # the base is sampled only through sample_with_log_prob
    shared = {"queries", "selected", "seconds_sampling", "seconds_solver", "seconds_diagnostics"}
    if select == "validation":
        shared.add("validation_objective")
    assert set(opaque.diagnostics) == shared
    assert {"objective", "kl_to_optimum"} <= set(plain.diagnostics)
    for key in shared - {"seconds_sampling", "seconds_solver", "seconds_diagnostics"}:
        assert np.array_equal(opaque.diagnostics[key], plain.diagnostics[key]), key
    if select == "last":
        assert opaque.diagnostics["selected"] == 5 and opaque.policy is opaque.data["iterates"][-1]


class _OpaqueIterates(ss.MarkovClass):
    """A learner whose iterates are opaque too, as the torch learner's are."""

    def fit_xpo(self, *args, init=None, **kwargs):
        init = init.inner if isinstance(init, OpaquePolicy) else init
        return OpaquePolicy(super().fit_xpo(*args, init=init, **kwargs))


def test_xpo_with_opaque_iterates_uses_only_the_protocol(monkeypatch):
    """Base and iterates opaque: the loop needs only sampling and scoring, one pass per own draw."""
    kw = dict(rng=7, select="validation", n_validation=12, keep_data=True)
    plain = ss.xpo_sharpening(
        MK, 4, 0.5, 0.05, ss.MarkovClass(2, 2, 3), check_realizable=False, **kw
    )
    _forbid_exact_xpo(monkeypatch)
    opaque = ss.xpo_sharpening(OpaquePolicy(MK), 4, 0.5, 0.05, _OpaqueIterates(2, 2, 3), **kw)
    _assert_same_run(opaque, plain)
    assert np.array_equal(
        opaque.diagnostics["validation_objective"], plain.diagnostics["validation_objective"]
    )
    for iterate in opaque.data["iterates"][1:]:
        assert iterate.calls["log_prob"] == 0  # validation scores it by sample_with_log_prob
        assert iterate.calls["sample_with_log_prob"] == 1


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    "call, argument",
    [
        (
            lambda b: ss.sft_sharpening(b, 5, 2, ss.MarkovClass(2, 2, 3), bon_method="law"),
            "bon_method",
        ),
        (
            lambda b: ss.sft_sharpening(b, 5, 2, ss.MarkovClass(2, 2, 3), check_realizable=True),
            "check_realizable",
        ),
        (
            lambda b: ss.sft_sharpening(b, 5, 2, ss.MarkovClass(2, 2, 3), tie_break="index"),
            "tie_break",
        ),
        (
            lambda b: ss.adaptive_sft_sharpening(
                b, 5, 0.2, ss.MarkovClass(2, 2, 3), check_realizable=True
            ),
            "check_realizable",
        ),
        (
            lambda b: ss.dpo_sharpening(b, 5, 0.5, ss.MarkovClass(2, 2, 3), check_realizable=True),
            "check_realizable",
        ),
        (lambda b: ss.xpo_sharpening(b, 2, 0.5, 0.1, ss.MarkovClass(2, 2, 3)), "select"),
        (
            lambda b: ss.xpo_sharpening(b, 2, 0.5, 0.1, ss.MarkovClass(2, 2, 3), select="exact"),
            "select",
        ),
        (
            lambda b: ss.xpo_sharpening(
                b, 2, 0.5, 0.1, ss.MarkovClass(2, 2, 3), select="last", delta=0.1
            ),
            "delta",
        ),
        (
            lambda b: ss.xpo_sharpening(
                b, 2, 0.5, 0.1, ss.MarkovClass(2, 2, 3), select="last", check_realizable=True
            ),
            "check_realizable",
        ),
        (lambda b: ss.best_of_n(b, [0, 1], 3, method="law", rng=0), "method"),
        (lambda b: ss.best_of_n(b, [0, 1], 3, tie_break="index", rng=0), "tie_break"),
        (lambda b: ss.adaptive_best_of_n(b, [0, 1], 2.0, tie_break="index", rng=0), "tie_break"),
    ],
)
def test_exact_options_on_an_opaque_base_are_refused_naming_the_argument(call, argument):
    base = OpaquePolicy(MK)
    with pytest.raises(ValueError, match=f"{argument}=.*enumerable"):
        call(base)
    assert sum(base.calls.values()) == 0  # refused before any draw


def test_check_realizable_must_be_none_or_a_bool():
    with pytest.raises(TypeError, match="check_realizable"):
        ss.dpo_sharpening(MK, 5, 0.5, ss.MarkovClass(2, 2, 3), check_realizable="yes")


def test_default_realizability_check_still_runs_on_an_enumerable_base():
    """check_realizable=None checks what True checked before: here π*_β is not in the class."""
    base = ss.TabularPolicy([[0.9, 0.1]])
    cls = ss.FiniteClass([ss.TabularPolicy([[0.5, 0.5]])])
    for run in (
        lambda: ss.dpo_sharpening(base, 5, 0.5, cls),
        lambda: ss.xpo_sharpening(base, 2, 0.5, 0.1, cls),
    ):
        with pytest.raises(ValueError, match="realizability"):
            run()
    assert ss.dpo_sharpening(base, 5, 0.5, cls, check_realizable=False, rng=0).queries == 10


# --------------------------------------------------------------------------- XPO: prompts per iteration

#: A run of main's code before issue 16 (commit 58274be), T = 6, select="validation", n_validation=10:
#: x, y, y_ref, queries, selected, the per-iterate queries and Ĵ_β (printed to 6 decimals).
PINNED = {
    "tabular": (
        [0, 0, 0, 2, 2, 2],
        [1, 2, 3, 2, 3, 1],
        [0, 2, 1, 0, 1, 2],
        [-1.423672, -1.765812, -2.112386, -1.968355, -2.023042, -1.919069, -1.782942],
    ),
    "markov": (
        [1, 1, 0, 1, 0, 0],
        [[1, 0, 1], [1, 1, 0], [0, 1, 0], [0, 1, 1], [1, 0, 0], [1, 1, 1]],
        [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0], [0, 1, 0]],
        [-1.907802, -2.998692, -4.397857, -4.867256, -3.977593, -4.149694, -3.160943],
    ),
}


@pytest.mark.parametrize("world", PINNED)
def test_one_prompt_per_iteration_replays_the_pinned_run(world):
    if world == "tabular":
        base = ss.TabularPolicy([[0.4, 0.3, 0.2, 0.1], [0.1, 0.2, 0.35, 0.35], [0.25] * 4])
        cls, extra = ss.TabularClass(3, 4), {}
    else:
        base, cls, extra = MK, ss.MarkovClass(2, 2, 3), {"check_realizable": False}
    res = ss.xpo_sharpening(
        base,
        6,
        0.5,
        0.05,
        cls,
        rng=14,
        select="validation",
        n_validation=10,
        keep_data=True,
        prompts_per_iteration=1,
        **extra,
    )
    x, y, y_ref, objective = PINNED[world]
    assert (res.data["x"].tolist(), res.data["y"].tolist(), res.data["y_ref"].tolist()) == (
        x,
        y,
        y_ref,
    )
    assert (res.queries, res.diagnostics["selected"]) == (82, 0)
    assert res.diagnostics["queries"].tolist() == [0, 2, 4, 6, 8, 10, 12]
    assert np.allclose(res.diagnostics["validation_objective"], objective, rtol=0, atol=5e-7)


class _CountingMarkovClass(ss.MarkovClass):
    """Records how many pairs each fit_xpo call sees."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fits = []

    def fit_xpo(self, x, *args, **kwargs):
        self.fits.append(len(x))
        return super().fit_xpo(x, *args, **kwargs)


@pytest.mark.parametrize("b", [2, 5])
def test_several_prompts_per_iteration_cost_two_queries_each_and_one_fit(b):
    T, cls = 4, _CountingMarkovClass(2, 2, 3)
    res = ss.xpo_sharpening(
        MK,
        T,
        0.5,
        0.05,
        cls,
        rng=8,
        select="last",
        keep_data=True,
        check_realizable=False,
        prompts_per_iteration=b,
    )
    assert res.queries == 2 * T * b
    assert res.diagnostics["queries"].tolist() == [2 * b * t for t in range(T + 1)]
    assert cls.fits == [b * t for t in range(1, T + 1)]
    x = res.data["x"]
    assert x.shape == (T * b,) and len(res.data["iterates"]) == T + 1
    assert np.array_equal(res.data["log_prob"], MK.log_prob(x, res.data["y"]))
    assert np.array_equal(res.data["log_prob_ref"], MK.log_prob(x, res.data["y_ref"]))
    assert res.policy is res.data["iterates"][-1] and len(res.diagnostics["objective"]) == T + 1
    opaque = ss.xpo_sharpening(
        OpaquePolicy(MK),
        T,
        0.5,
        0.05,
        _CountingMarkovClass(2, 2, 3),
        rng=8,
        select="last",
        keep_data=True,
        prompts_per_iteration=b,
    )
    _assert_same_run(opaque, res)


def test_select_last_without_data_returns_the_last_iterate():
    kw = dict(rng=9, select="last", check_realizable=False, prompts_per_iteration=2)
    kept = ss.xpo_sharpening(MK, 3, 0.5, 0.05, ss.MarkovClass(2, 2, 3), keep_data=True, **kw)
    lean = ss.xpo_sharpening(MK, 3, 0.5, 0.05, ss.MarkovClass(2, 2, 3), **kw)
    assert np.array_equal(_table(lean.policy), _table(kept.data["iterates"][-1]))
    assert lean.diagnostics["selected"] == 3
    assert np.array_equal(lean.diagnostics["objective"], kept.diagnostics["objective"])


def test_prompts_per_iteration_is_checked():
    cls = ss.MarkovClass(2, 2, 3)
    with pytest.raises(ValueError, match="prompts_per_iteration"):
        ss.xpo_sharpening(MK, 2, 0.5, 0.1, cls, select="last", prompts_per_iteration=0)
    with pytest.raises(ValueError, match="prompts_per_iteration.*MAX_PAIRS"):
        ss.xpo_sharpening(MK, 10**6, 0.5, 0.1, cls, select="last", prompts_per_iteration=11)


def test_xpo_refuses_iterates_whose_responses_have_another_width():
    class Wider(ss.MarkovClass):
        def fit_xpo(self, *args, **kwargs):
            return ss.MarkovPolicy([[0.5, 0.5]] * 2, np.full((2, 3, 2, 2), 0.5))  # H = 4, not 3

    with pytest.raises(ValueError, match="one width H"):
        ss.xpo_sharpening(OpaquePolicy(MK), 2, 0.5, 0.1, Wider(2, 2, 3), rng=0, select="last")
