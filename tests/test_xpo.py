"""RLHF-Sharpening with exploration: reward-based XPO (Algorithm 1, Theorems 4.3, J.1–J.3, Example J.1)."""

import math
import sys

import numpy as np
import pytest

import sharpsim as ss
from sharpsim.theory import bounds
from sharpsim.theory.instances import separation_instance

# --------------------------------------------------------------------------- Example J.1: XPO vs SFT


def _xpo_settings(inst, T, epsilon, delta, rho=0.1):
    """β and α as Theorems J.2/J.3 set them (helpers from sharpsim.theory.bounds), for T iterations."""
    d = inst.details["features"].shape[-1]
    n_responses = inst.claims["n_responses"]
    plan = bounds.xpo_linear_softmax_plan(
        epsilon, delta, rho, inst.claims["gamma_margin"], d, inst.claims["B"], math.log(n_responses)
    )
    sec = bounds.linear_softmax_sec_bound(d, T)
    eps_disc = bounds.xpo_discretization(epsilon, delta, sec, T)
    log_net = bounds.linear_softmax_log_covering_number(d, inst.claims["B"], eps_disc)
    alpha = bounds.xpo_alpha(T, sec, log_net, rho, plan.R_max, plan.beta * plan.R_max, plan.beta)
    return plan.beta, alpha


def _sft_queries_lower_bound(base, epsilon):
    """Any SFT run with m = n·N responses in total has error >= P(no draw hits y*) = (1 - π(y*))^m,
    since the BoN picks then all miss y* and the tabular MLE puts no mass on it; so error <= ε needs
    m >= log(ε)/log(1 - π(y*)) — an exact requirement, for every split of m into n and N."""
    p_mode = float(ss.mode_mass(base)[0])
    return math.log(epsilon) / math.log1p(-p_mode)


def _separation_case(d, max_size, T, epsilon=0.1, delta=0.1):
    inst = separation_instance(d, rng=0, B=2000.0, max_size=max_size)
    base = inst.base
    beta, alpha = _xpo_settings(inst, T, epsilon, delta)
    cls = ss.LinearSoftmaxClass(inst.details["features"], inst.claims["B"], n_restarts=0)
    res = ss.xpo_sharpening(base, T, beta, alpha, cls, rng=0, delta=delta)
    error = ss.sharpening_error(res.policy, base, delta)
    m_sft = _sft_queries_lower_bound(base, epsilon)
    # the bound is attained up to rounding by SFT with n = 1 (error = (1 - π(y*))^N exactly)
    n1 = math.ceil(m_sft)
    assert (
        ss.expected_sft_error(base, 1, n1, delta)
        <= epsilon
        < ss.expected_sft_error(base, 1, n1 - 1, delta)
    )
    return inst, res, error, m_sft


def test_xpo_sharpens_example_j1_with_far_fewer_queries_than_sft():
    """d = 8, |Y| = 1024: C_cov ~ 400, so SFT needs ~ C_cov·log(1/ε) responses; XPO needs ~ 2(d + 1)."""
    epsilon = 0.1
    inst, res, error, m_sft = _separation_case(d=8, max_size=1024, T=12, epsilon=epsilon)
    assert inst.claims["coverage"] > 100
    assert error <= epsilon
    assert res.queries == 24
    assert 10 * res.queries < m_sft


@pytest.mark.slow
def test_xpo_sharpens_example_j1_d12():
    epsilon = 0.05
    inst, res, error, m_sft = _separation_case(d=12, max_size=4096, T=20, epsilon=epsilon)
    assert error <= epsilon and 50 * res.queries < m_sft


# --------------------------------------------------------------------------- exact identities on a small world


def _small_world():
    base = ss.TabularPolicy([[0.45, 0.3, 0.15, 0.1], [0.2, 0.5, 0.2, 0.1], [0.6, 0.25, 0.1, 0.05]])
    return base, np.array([0.5, 0.3, 0.2])


def test_diagnostics_satisfy_the_kl_identity_and_selection_rule():
    """J_β(π*_β) - J_β(π^(t)) = β·KL(π^(t) ‖ π*_β) (proof of Thm J.1) for every iterate; the output is the argmax."""
    base, mu = _small_world()
    beta, T = 0.3, 4
    cls = ss.TabularClass(3, 4, n_restarts=0)
    res = ss.xpo_sharpening(base, T, beta, 0.01, cls, mu=mu, rng=5, delta=0.2)
    diag = res.diagnostics
    best = ss.regularized_objective(ss.tilted(base, beta), base, beta, mu=mu)
    np.testing.assert_allclose(
        diag["objective"] + beta * diag["kl_to_optimum"], best, rtol=1e-10, atol=1e-12
    )
    assert diag["objective"].shape == (T + 1,) and diag["kl_to_optimum"][0] > 0
    np.testing.assert_array_equal(diag["queries"], 2 * np.arange(T + 1))
    assert res.queries == 2 * T
    assert diag["selected"] == int(np.argmax(diag["objective"]))
    assert res.policy is not base or diag["selected"] == 0
    assert ss.regularized_objective(res.policy, base, beta, mu=mu) == pytest.approx(
        diag["objective"].max()
    )
    err = diag["sharpening_error"]
    assert err.shape == (T + 1,) and np.all((err >= 0) & (err <= 1))
    assert err[0] == ss.sharpening_error(base, base, 0.2, mu)
    assert diag["seconds_solver"] >= 0 and diag["seconds_sampling"] >= 0


def test_validation_selection_counts_its_queries_and_estimates_j_within_hoeffding_band():
    """Each Ĵ_β(π^(t)) averages n_val i.i.d. terms r - β log(π/π_base) with y ~ π^(t): Hoeffding band at 99.9%
    overall (Bonferroni over the T+1 iterates), range computed exactly from the tables."""
    base, mu = _small_world()
    beta, T, n_val, level = 0.5, 4, 400, 0.001
    cls = ss.TabularClass(3, 4, n_restarts=0)
    res = ss.xpo_sharpening(
        base,
        T,
        beta,
        0.0,
        cls,
        mu=mu,
        rng=9,
        select="validation",
        n_validation=n_val,
        keep_data=True,
    )
    assert res.queries == 2 * T + (T + 1) * n_val
    diag = res.diagnostics
    assert diag["selected"] == int(np.argmax(diag["validation_objective"]))
    for t, policy in enumerate(res.data["iterates"]):
        values = base.log_probs - beta * (policy.log_probs - base.log_probs)
        on_support = values[policy.probs > 0]
        spread = on_support.max() - on_support.min()
        band = spread * math.sqrt(math.log(2 * (T + 1) / level) / (2 * n_val))
        assert abs(diag["validation_objective"][t] - diag["objective"][t]) <= band


def test_keep_data_records_the_dataset_and_seed_replays():
    base, mu = _small_world()
    cls = ss.TabularClass(3, 4, n_restarts=0)
    first = ss.xpo_sharpening(base, 3, 0.5, 0.0, cls, mu=mu)
    assert first.data is None and isinstance(first.seed, int)
    again = ss.xpo_sharpening(base, 3, 0.5, 0.0, cls, mu=mu, rng=first.seed, keep_data=True)
    np.testing.assert_array_equal(first.policy.probs, again.policy.probs)
    data = again.data
    assert data["x"].shape == data["y"].shape == data["y_ref"].shape == data["target"].shape == (3,)
    np.testing.assert_allclose(data["log_prob"], base.log_probs[data["x"], data["y"]])
    np.testing.assert_allclose(data["log_prob_ref"], base.log_probs[data["x"], data["y_ref"]])
    np.testing.assert_allclose(data["target"], data["log_prob"] - data["log_prob_ref"])
    assert len(data["iterates"]) == 4 and data["iterates"][0] is base


def test_own_responses_come_from_the_current_iterate():
    """After t = 1 the learner samples y from π^(t): with a class whose fit puts all mass on response 3,
    every later y is 3 even though π_base gives it little mass."""

    class Always3:
        n_contexts, n_responses = 1, 4

        def fit_xpo(self, x, y, y_ref, target, beta, alpha, base, init=None):
            return ss.TabularPolicy([[0.0, 0.0, 0.0, 1.0]])

    base = ss.TabularPolicy([[0.7, 0.2, 0.05, 0.05]])
    res = ss.xpo_sharpening(
        base, 8, 0.5, 0.0, Always3(), rng=0, keep_data=True, check_realizable=False
    )
    assert np.all(res.data["y"][1:] == 3)
    assert res.queries == 16


def test_progress_is_written_only_to_a_terminal(capsys, monkeypatch):
    base, _ = _small_world()
    cls = ss.TabularClass(3, 4, n_restarts=0)
    ss.xpo_sharpening(base, 2, 0.5, 0.0, cls, rng=0, progress=True)
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    ss.xpo_sharpening(base, 2, 0.5, 0.0, cls, rng=0, progress=True)
    assert "XPO 2/2" in capsys.readouterr().err


# --------------------------------------------------------------------------- bad input


def test_bad_inputs_raise_naming_the_argument():
    base, _ = _small_world()
    cls = ss.TabularClass(3, 4)
    with pytest.raises(ValueError, match="T must be >= 1"):
        ss.xpo_sharpening(base, 0, 0.5, 0.1, cls)
    with pytest.raises(ValueError, match="beta"):
        ss.xpo_sharpening(base, 3, 0.0, 0.1, cls)
    with pytest.raises(ValueError, match="alpha"):
        ss.xpo_sharpening(base, 3, 0.5, -0.1, cls)
    with pytest.raises(ValueError, match="select"):
        ss.xpo_sharpening(base, 3, 0.5, 0.1, cls, select="best")
    with pytest.raises(ValueError, match="n_validation"):
        ss.xpo_sharpening(base, 3, 0.5, 0.1, cls, select="validation", n_validation=0)
    with pytest.raises(ValueError, match="delta"):
        ss.xpo_sharpening(base, 3, 0.5, 0.1, cls, delta=1.5)
    with pytest.raises(TypeError, match="fit_xpo"):
        ss.xpo_sharpening(base, 3, 0.5, 0.1, object())
    with pytest.raises(ValueError, match="n_responses"):
        ss.xpo_sharpening(base, 3, 0.5, 0.1, ss.TabularClass(3, 5))


def test_class_that_cannot_represent_the_tilted_model_is_refused():
    """Assumption J.3: π*_β ∈ Π. Example J.1 with B below (1 + 1/β)·‖θ*‖ violates it."""
    inst = separation_instance(3, rng=0, B=2.0, max_size=30)
    with pytest.raises(ValueError, match="realizability"):
        ss.xpo_sharpening(inst.base, 3, 0.1, 0.0, inst.model_class)


# --------------------------------------------------------------------------- refusals at the extremes (issue 7 §5)


def test_xpo_refuses_a_huge_T_before_drawing_anything():
    base = ss.TabularPolicy([[0.5, 0.5]])
    with pytest.raises(ValueError, match=r"T must be <= 1000000; got 1000000000000"):
        ss.xpo_sharpening(base, 10**12, 0.5, 0.1, ss.TabularClass(1, 2), rng=0)


def test_xpo_refuses_iterates_that_would_not_fit_in_memory():
    from sharpsim.algorithms.xpo import MAX_ITERATE_ENTRIES

    base = ss.TabularPolicy(np.full((4, 2**16), 2.0**-16))
    T = MAX_ITERATE_ENTRIES // base.probs.size  # (T + 1) tables exceed the cap by one
    with pytest.raises(ValueError, match=r"MAX_ITERATE_ENTRIES.*use T <= 511"):
        ss.xpo_sharpening(base, T, 0.5, 0.1, ss.TabularClass(4, 2**16), rng=0)


def test_warm_start_needs_a_class_that_takes_it():
    class Plain:
        n_contexts, n_responses = 1, 2

        def fit_xpo(self, x, y, y_ref, target, beta, alpha, base, init=None):  # pragma: no cover
            return base

    with pytest.raises(TypeError, match="warm_start=True needs model_class.fit_xpo"):
        ss.xpo_sharpening(
            ss.TabularPolicy([[0.5, 0.5]]), 2, 0.5, 0.1, Plain(), rng=0, warm_start=True
        )
    with pytest.raises(TypeError, match="warm_start must be a bool"):
        ss.xpo_sharpening(
            ss.TabularPolicy([[0.5, 0.5]]), 2, 0.5, 0.1, ss.TabularClass(1, 2), warm_start=1
        )


def test_warm_start_matches_cold_start_after_the_data_span_on_example_j1():
    """Once the pair differences span R^d the XPO problem has one basin: warm and cold iterates agree."""
    inst = separation_instance(3, rng=0, max_size=256)
    cls = ss.LinearSoftmaxClass(inst.details["features"], B=200.0)
    runs = [
        ss.xpo_sharpening(inst.base, 12, 0.05, 1e-3, cls, rng=2, delta=0.1, warm_start=w)
        for w in (False, True)
    ]
    cold, warm = (r.diagnostics["objective"] for r in runs)
    np.testing.assert_allclose(warm[-4:], cold[-4:], rtol=1e-6)
    assert runs[0].queries == runs[1].queries
