"""Beyond the paper: best-of-N vs InferenceTimePessimism with an imperfect reward (SPEC §11).

Every number is exact (no sampling): best-of-N's true value comes from its
exact law under the proxy (:func:`~sharpsim.bon_regret_curve`), ITP's from
its population-``λ`` law (:func:`~sharpsim.itp_law`), evaluated for all ``N``
at once through the identity ``Reg(π̂_N) = Reg(π_β) + q_N·(Reg(π_ref) − Reg(π_β))``,
``q_N = (1 − β/(1 − λ))^N``. The world (:func:`zipf_world`) has a heavy-tailed
``π_ref`` over 2000 responses (masses down to ``~5·10⁻⁷``), true rewards in
``[0, 1/2]`` with one best response ``r* = 0.6`` of mass ``≈ 1/C``, and the
proxy of :func:`~sharpsim.reward_models.adversarial_reward_model` (budget
``ε²`` on the 1000 rarest responses). Seeds do not matter (exact), so each
experiment runs one seed.

* ``imperfect_scaling``: regret vs ``N = 1…10⁶`` for BoN and ITP (``β = ε/√C_1``) at several ``ε``;
* ``imperfect_rates``: tuned regrets vs ``ε`` and vs ``C`` beside ``√(Cε²)`` and the bounds
  (there ``r* ~ U[0, 0.6]`` and half the budget under-rates the best response);
* ``itp_heatmap``: ITP's exact regret over ``(β, N)`` with ``β* = ε/√C_1``.
"""

from __future__ import annotations

import numpy as np

from ..inference import bon_regret_curve, chi2_regularized, chi2_threshold
from ..policies.tabular import TabularPolicy
from ..reward_models import (
    RewardModel,
    adversarial_reward_model,
    comparator_coverage,
    optimal_comparator,
)
from ..theory.bounds import bon_regret_bound, bon_tuned_n, itp_regret_bound, itp_tuned_beta
from .registry import register

#: The ``N`` of the regret curves: 25 log-spaced integers from 1 to 10⁶.
N_GRID = tuple(int(v) for v in np.unique(np.round(np.logspace(0, 6, 25)).astype(np.int64)))


def zipf_world(
    coverage: float = 450.0, n_responses: int = 2000, exponent: float = 1.8, seed: int = 0
):
    """``(π_ref, r*, comparator)``: ``π_ref ∝ k^{-exponent}``, ``r* ~ U[0, 1/2]`` (seeded), and ``r* = 0.6`` at the
    response whose mass is closest to ``1/coverage`` (the comparator ``π*``, one-hot).

    Example:
      >>> pi, true, comp = zipf_world(100.0, n_responses=50)
      >>> pi.probs.shape, float(true.max())
      ((1, 50), 0.6)
    """
    p = np.arange(1, n_responses + 1, dtype=float) ** -exponent
    p /= p.sum()
    true = 0.5 * np.random.default_rng(seed).random((1, n_responses))
    best = int(np.argmin(np.abs(np.log(p) + np.log(coverage))))
    true[0, best] = 0.6
    pi = TabularPolicy(p[None, :])
    return pi, true, optimal_comparator(pi, true)


def itp_regret_curve(pi, rm: RewardModel, beta: float, ns, comparator) -> np.ndarray:
    """Exact regret ``[len(ns)]`` of ITP (population ``λ``) for every ``N`` in ``ns`` (one prompt).

    Example:
      >>> pi, true, comp = zipf_world(100.0, n_responses=50)
      >>> rm = adversarial_reward_model(pi, true, 0.01, 25)
      >>> curve = itp_regret_curve(pi, rm, 0.01, [1, 10, 100], comp)
      >>> bool(np.all(np.diff(curve) <= 0) or np.all(np.diff(curve) >= 0))
      True
    """
    target = chi2_regularized(pi, rm, beta)
    lam = chi2_threshold(pi, rm, beta)[0]
    reg_target = rm.regret(target, pi, comparator)
    reg_ref = rm.regret(pi, pi, comparator)
    q = np.exp(np.asarray(ns, dtype=float) * np.log1p(-beta / (1.0 - lam)))
    return reg_target + q * (reg_ref - reg_target)


def _world_and_proxy(coverage, eps, miss_best=False):
    """The Zipf world and its proxy; ``miss_best`` (the rates world): ``r* ~ U[0, 0.6]`` and half the
    budget lowers ``r̂`` at the best response by ``ε/√(2π_ref(y*))`` (capped at 0.6), half goes to rare hacks."""
    pi, true, comp = zipf_world(coverage)
    if miss_best:
        best = int(np.argmax(comp.probs[0]))
        true = 0.6 * np.random.default_rng(1).random(true.shape)
        true[0, best] = 0.6
        rm = adversarial_reward_model(pi, true, eps / np.sqrt(2.0), n_rare=true.shape[1] // 2)
        proxy = rm.proxy.copy()
        proxy[0, best] -= min(0.6, eps / np.sqrt(2.0 * pi.probs[0, best]))
        rm = RewardModel(true, proxy, name="adversarial, best response under-rated")
    else:
        rm = adversarial_reward_model(pi, true, eps, n_rare=true.shape[1] // 2)
    eps_real = float(np.sqrt(rm.error(pi))[0])
    c_inf, c_1 = (float(v[0]) for v in comparator_coverage(comp, pi))
    return pi, rm, comp, eps_real, c_inf, c_1


@register(
    "imperfect_scaling",
    description="Regret vs N (1..1e6) of best-of-N and InferenceTimePessimism with an adversarial proxy, exact",
    grid={"eps": [0.001, 0.003, 0.01, 0.03]},
    quick_grid={"eps": [0.001, 0.003, 0.01, 0.03]},
    figures=("imperfect_scaling",),
    seeds=1,
    quick_seeds=1,
)
def imperfect_scaling(rng, eps):
    """Records per ``N`` and method (``"bon"``, ``"itp"``): ``n``, ``regret``, ``eps_realised``, ``beta``, ``c_1``."""
    pi, rm, comp, eps_real, _, c_1 = _world_and_proxy(450.0, eps)
    beta = itp_tuned_beta(eps_real, c_1)
    curves = {
        "bon": bon_regret_curve(pi, rm, N_GRID, comp),
        "itp": itp_regret_curve(pi, rm, beta, N_GRID, comp),
    }
    return [
        {
            "method": m,
            "n": n,
            "regret": float(v),
            "eps_realised": eps_real,
            "beta": beta,
            "c_1": c_1,
        }
        for m, curve in curves.items()
        for n, v in zip(N_GRID, curve)
    ]


@register(
    "imperfect_rates",
    description="Tuned regret of best-of-N and InferenceTimePessimism vs eps and vs coverage C, beside sqrt(C eps^2)",
    grid={
        "coverage": [10.0, 30.0, 100.0, 300.0, 1000.0],
        "eps": [0.0005, 0.001, 0.002, 0.004, 0.008],
    },
    quick_grid={"coverage": [10.0, 100.0, 1000.0], "eps": [0.0005, 0.002, 0.008]},
    figures=("imperfect_rates",),
    seeds=1,
    quick_seeds=1,
)
def imperfect_rates(rng, coverage, eps):
    """One record: tuned regrets (``bon_tuned``: min over ``N``; ``itp_tuned``: ``β = ε/√C_1``, ``N = 10⁶``), bounds, ``c_1``."""
    pi, rm, comp, eps_real, c_inf, c_1 = _world_and_proxy(coverage, eps, miss_best=True)
    bon = bon_regret_curve(pi, rm, N_GRID, comp)
    beta = itp_tuned_beta(eps_real, c_1)
    itp = itp_regret_curve(pi, rm, beta, [10**6], comp)[0]
    n_star = bon_tuned_n(eps_real, c_inf)
    return [
        {
            "c_1": c_1,
            "eps_realised": eps_real,
            "bon_tuned": float(bon.min()),
            "bon_best_n": int(N_GRID[int(np.argmin(bon))]),
            "itp_tuned": float(itp),
            "bon_bound": bon_regret_bound(n_star, eps_real, c_inf),
            "itp_bound": itp_regret_bound(beta, eps_real, c_1, 10**6),
            "rate": float(eps_real * np.sqrt(c_1)),
        }
    ]


BETA_GRID = tuple(float(b) for b in np.logspace(-5, 0, 16))


@register(
    "itp_heatmap",
    description="Exact InferenceTimePessimism regret over (beta, N) with the tuned beta = eps/sqrt(C_1)",
    grid={"eps": [0.003]},
    quick_grid={"eps": [0.003]},
    figures=("itp_heatmap",),
    seeds=1,
    quick_seeds=1,
)
def itp_heatmap(rng, eps):
    """Records per ``(beta, n)``: ``regret``, ``beta_star`` (``ε/√C_1``), ``eps_realised``."""
    pi, rm, comp, eps_real, _, c_1 = _world_and_proxy(450.0, eps)
    beta_star = itp_tuned_beta(eps_real, c_1)
    return [
        {"beta": b, "n": n, "regret": float(v), "beta_star": beta_star, "eps_realised": eps_real}
        for b in BETA_GRID
        for n, v in zip(N_GRID, itp_regret_curve(pi, rm, b, N_GRID, comp))
    ]
