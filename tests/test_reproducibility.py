"""Same seed ⇒ same bytes (issue 7 §4): every random choice of a run derives from the run's ``rng``.

Each algorithm runs twice with the same integer seed on every model class that
supports it; the fitted policies (their full tables), the query counts, the
data and the diagnostics must be bit-identical (``array_equal``, never
``allclose``). The classes are built with ``random_state=None``, the default,
so their XPO / pair-solver restarts must come from the run's seed too.
"""

import numpy as np
import pytest

import sharpsim as ss
from sharpsim.algorithms.result import solver_rng

BASE = ss.TabularPolicy([[0.4, 0.3, 0.2, 0.1], [0.1, 0.2, 0.35, 0.35], [0.25, 0.25, 0.25, 0.25]])
PHI = np.random.default_rng(0).standard_normal((3, 4, 3))
PHI /= np.linalg.norm(PHI, axis=-1, keepdims=True)
LINEAR_BASE = ss.LinearSoftmaxPolicy(PHI, [0.8, -0.4, 0.3])
MARKOV_BASE = ss.MarkovPolicy(
    [[0.6, 0.4], [0.3, 0.7]],
    [
        [[[0.7, 0.3], [0.2, 0.8]], [[0.5, 0.5], [0.9, 0.1]]],
        [[[0.4, 0.6], [0.6, 0.4]], [[0.3, 0.7], [0.8, 0.2]]],
    ],
)


def _classes():
    """(name, base, class factory, supports pair fits): every class family, restarts left to the run."""
    other = ss.TabularPolicy([[0.25] * 4] * 3)
    sharp = ss.tilted(BASE, 0.5)
    return [
        ("tabular", BASE, lambda: ss.TabularClass(3, 4)),
        ("tabular-base-anchor", BASE, lambda: ss.TabularClass(3, 4, unseen="base", base=BASE)),
        ("linear", LINEAR_BASE, lambda: ss.LinearSoftmaxClass(PHI, B=20.0)),
        ("finite", BASE, lambda: ss.FiniteClass([BASE, other, sharp])),
        ("markov", MARKOV_BASE, lambda: ss.MarkovClass(2, 2, 3)),
        ("prefix-tree", MARKOV_BASE, lambda: ss.PrefixTreeClass(2, 2, 3)),
    ]


CLASSES = _classes()
IDS = [c[0] for c in CLASSES]


def _table(policy) -> np.ndarray:
    return policy.to_tabular().log_probs if hasattr(policy, "to_tabular") else policy.log_probs


def _assert_same(a, b):
    """Bit-identical results: policy table, queries, seed, data and diagnostics (wall-clock times excluded)."""
    assert np.array_equal(_table(a.policy), _table(b.policy))
    assert (a.queries, a.seed) == (b.queries, b.seed)
    for field in ("data", "diagnostics"):
        da, db = getattr(a, field) or {}, getattr(b, field) or {}
        assert da.keys() == db.keys()
        for key in da:
            if key.startswith("seconds"):
                continue
            va, vb = da[key], db[key]
            if key == "iterates":
                assert all(
                    np.array_equal(_table(p), _table(q)) for p, q in zip(va, vb, strict=True)
                )
            elif isinstance(va, np.ndarray) or isinstance(vb, np.ndarray):
                assert np.array_equal(va, vb), key
            else:
                assert va == vb, key
    if a.samples_per_prompt is not None or b.samples_per_prompt is not None:
        assert np.array_equal(a.samples_per_prompt, b.samples_per_prompt)


def _twice(run):
    return run(), run()


@pytest.mark.parametrize("bon_method", ["law", "faithful"])
@pytest.mark.parametrize("name, base, make", CLASSES, ids=IDS)
def test_sft_sharpening_is_bit_identical_for_a_seed(name, base, make, bon_method):
    _assert_same(
        *_twice(
            lambda: ss.sft_sharpening(
                base, 30, 4, make(), rng=11, bon_method=bon_method, keep_data=True
            )
        )
    )


@pytest.mark.parametrize("name, base, make", CLASSES, ids=IDS)
def test_adaptive_sft_sharpening_is_bit_identical_for_a_seed(name, base, make):
    _assert_same(
        *_twice(
            lambda: ss.adaptive_sft_sharpening(
                base, 20, 0.3, make(), rng=12, max_samples=200, on_cap="flag", keep_data=True
            )
        )
    )


@pytest.mark.parametrize("loss", ["regression", "logistic"])
@pytest.mark.parametrize("name, base, make", CLASSES, ids=IDS)
def test_dpo_sharpening_is_bit_identical_for_a_seed(name, base, make, loss):
    _assert_same(
        *_twice(
            lambda: ss.dpo_sharpening(
                base, 25, 0.5, make(), rng=13, loss=loss, keep_data=True, check_realizable=False
            )
        )
    )


@pytest.mark.parametrize("name, base, make", CLASSES, ids=IDS)
def test_xpo_sharpening_is_bit_identical_for_a_seed(name, base, make):
    _assert_same(
        *_twice(
            lambda: ss.xpo_sharpening(
                base,
                5,
                0.5,
                0.05,
                make(),
                rng=14,
                delta=0.2,
                keep_data=True,
                check_realizable=False,
            )
        )
    )


def test_xpo_is_bit_identical_with_a_generator_seed_and_validation_selection():
    cls = ss.LinearSoftmaxClass(PHI, B=20.0)
    runs = [
        ss.xpo_sharpening(
            LINEAR_BASE,
            4,
            0.5,
            0.05,
            cls,
            rng=np.random.default_rng(3),
            select="validation",
            n_validation=20,
            keep_data=True,
        )
        for _ in range(2)
    ]
    _assert_same(*runs)


def test_xpo_restarts_follow_the_seed_on_the_separation_instance():
    """The reported defect: Example J.1's XPO with a default class gave different iterates on two runs."""
    from sharpsim.theory.instances import separation_instance

    inst = separation_instance(3, rng=0, max_size=256)
    cls = ss.LinearSoftmaxClass(inst.details["features"], B=2000.0)  # random_state=None
    runs = [
        ss.xpo_sharpening(inst.base, 6, 0.01, 1e-3, cls, rng=5, delta=0.1, keep_data=True)
        for _ in range(2)
    ]
    _assert_same(*runs)


def test_different_seeds_give_different_restarts():
    """The restarts really are random: two seeds give different random starts (no constant stream)."""
    assert not np.array_equal(solver_rng(1).random(4), solver_rng(2).random(4))


def test_explicit_random_state_overrides_the_run_seed():
    """A class's own random_state, when given, drives its restarts whatever rng the fit receives."""
    cls = ss.TabularClass(1, 2, random_state=7)
    assert (
        cls.restart_rng(1).random()
        == cls.restart_rng(2).random()
        == np.random.default_rng(7).random()
    )
    assert ss.TabularClass(1, 2).restart_rng(9).random() == np.random.default_rng(9).random()


def test_solver_stream_is_independent_of_the_data_stream():
    """Restarts come from a child stream, so the data a run draws do not depend on how many restarts it uses."""
    few = ss.xpo_sharpening(
        BASE, 4, 0.5, 0.05, ss.TabularClass(3, 4, n_restarts=0), rng=21, keep_data=True
    )
    many = ss.xpo_sharpening(
        BASE, 4, 0.5, 0.05, ss.TabularClass(3, 4, n_restarts=5), rng=21, keep_data=True
    )
    assert np.array_equal(few.data["x"], many.data["x"])
    assert np.array_equal(few.data["y_ref"], many.data["y_ref"])
