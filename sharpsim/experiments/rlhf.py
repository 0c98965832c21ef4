"""RLHF-sharpening experiments: SFT vs DPO vs XPO on Example J.1, and XPO's dynamics (Thms 4.3, J.1).

* ``separation`` — queries to reach sharpening error ``ε`` as ``d`` grows:
  SFT exactly (``expected_sft_error``, tabular class on the |Y| packing
  points), DPO and XPO by Monte Carlo with the linear softmax class.
* ``xpo_dynamics`` — per-iteration ``J_β`` gap, ``KL(π^(t) ‖ π*_β)``,
  sharpening error and queries of one XPO run, beside the Theorem J.1 rate.
"""

from __future__ import annotations

import math

import numpy as np

from ..algorithms import dpo_sharpening, xpo_sharpening
from ..classes import LinearSoftmaxClass
from ..measures import margin, regularized_objective, sharpening_error, tilted
from ..theory.bounds import (
    linear_softmax_log_covering_number,
    linear_softmax_sec_bound,
    xpo_beta,
    xpo_regret_bound,
)
from ..theory.instances import separation_instance
from .registry import register
from .sft import min_sft_queries

#: Target error and level of the separation experiment.
SEPARATION = {"epsilon": 0.1, "delta": 0.1}


def _world(d, rng):
    """Example J.1 with β from Theorem 4.3 and a class radius that realises π*_β (Assumption J.3)."""
    inst = separation_instance(d, rng=int(rng.integers(2**31)), max_size=4096)
    base = inst.base
    beta = xpo_beta(SEPARATION["delta"], margin(base), math.log(base.n_responses))
    B = 2.0 * (1.0 + 1.0 / beta)  # ‖θ*_β‖ = (1 + 1/β)‖θ*‖ = 1 + 1/β <= B
    return (
        inst,
        base,
        beta,
        LinearSoftmaxClass(inst.details["features"], B=B, n_restarts=1, random_state=0),
        B,
    )


@register(
    "separation",
    description="Example J.1: queries for SFT (exact), DPO and XPO (Monte Carlo) to reach eps as d grows",
    grid={"d": [2, 3, 4, 5], "T": [80]},
    quick_grid={"d": [2, 3], "T": [12]},
    figures=("separation",),
    seeds=5,
    quick_seeds=2,
)
def separation(rng, d, T):
    """One packing per seed. Records ``method``, ``queries`` (``inf`` never written: a method that
    does not reach ``ε`` within its budget is recorded with ``reached=False`` and its budget as
    ``queries``), ``reached``, ``n_responses`` (``|Y|``), ``C_cov`` and ``margin``.
    """
    eps, delta = SEPARATION["epsilon"], SEPARATION["delta"]
    inst, base, beta, cls, _ = _world(d, rng)
    size = base.n_responses
    grid = np.unique(np.round(np.geomspace(1, 50 * size, 24)).astype(int))
    m_sft = min_sft_queries(base, None, eps, delta, grid)[0]
    res = xpo_sharpening(base, T, beta, 1e-3, cls, rng=rng, delta=delta)
    hit = np.flatnonzero(np.asarray(res.diagnostics["sharpening_error"]) <= eps)
    xpo = (float(res.diagnostics["queries"][hit[0]]), True) if hit.size else (float(2 * T), False)
    dpo = (float(4 * T), False)
    n = 1
    while 2 * n <= 4 * T:  # DPO with the same budget as XPO, doubling n
        fit = dpo_sharpening(base, n, beta, cls, rng=rng)
        if sharpening_error(fit.policy, base, delta) <= eps:
            dpo = (float(fit.queries), True)
            break
        n *= 2
    common = {
        "n_responses": size,
        "C_cov": float(inst.claims["coverage"]),
        "margin": float(margin(base)),
    }
    return [
        {
            "method": "SFT (exact)",
            "queries": float(m_sft),
            "reached": bool(np.isfinite(m_sft)),
            **common,
        },
        {"method": "XPO", "queries": xpo[0], "reached": xpo[1], **common},
        {"method": "DPO", "queries": dpo[0], "reached": dpo[1], **common},
    ]


@register(
    "xpo_dynamics",
    description="XPO per-iteration J_beta gap, KL to pi*_beta, sharpening error and queries, with the Thm J.1 rate",
    grid={"d": [3], "T": [120], "alpha": [1e-3]},
    quick_grid={"d": [2], "T": [16], "alpha": [1e-3]},
    figures=("xpo_dynamics",),
    seeds=5,
    quick_seeds=2,
)
def xpo_dynamics(rng, d, T, alpha):
    """One XPO run on Example J.1 (``δ = 0.1``). Records per iterate ``t = 1..T+1``:
    ``t``, ``queries``, ``gap`` (exact ``J_β(π*_β) − J_β(π^(t))``), ``beta_kl``
    (``β·KL(π^(t)‖π*_β)``, equal to ``gap``), ``error`` (sharpening error at δ),
    ``bound`` (Thm J.1 at ``T = t``, constant 1, ``ρ = 0.05``, ``ε_disc = 0.01``,
    ``SEC = d log(t+1)``, ``R_max`` the largest ``log 1/π_base``,
    ``V_max = β R_max``), ``beta``.
    """
    _, base, beta, cls, B = _world(d, rng)
    delta = SEPARATION["delta"]
    res = xpo_sharpening(base, T, beta, alpha, cls, rng=rng, delta=delta)
    diag = res.diagnostics
    j_opt = regularized_objective(tilted(base, beta), base, beta)
    r_max = float(-base.log_probs.min())
    eps_disc = 0.01
    log_cover = linear_softmax_log_covering_number(d, B, eps_disc)
    records = []
    for t in range(T + 1):
        rounds = max(t, 1)
        bound = xpo_regret_bound(
            rounds,
            linear_softmax_sec_bound(d, rounds),
            log_cover,
            0.05,
            r_max,
            beta * r_max,
            beta,
            eps_disc,
        )
        records.append(
            {
                "t": t + 1,
                "queries": int(diag["queries"][t]),
                "gap": float(j_opt - diag["objective"][t]),
                "beta_kl": float(beta * diag["kl_to_optimum"][t]),
                "error": float(diag["sharpening_error"][t]),
                "bound": bound,
                "beta": beta,
            }
        )
    return records
