"""Training-time sharpening by SFT (Section 2.1, Theorems 4.1′ and D.1, App. A Table 1).

* ``sft_error`` — SFT's sharpening error vs ``n`` for several ``N``: Monte
  Carlo runs beside the exact expected error (``expected_sft_error``) and the
  Theorem 4.1′ bound.
* ``sample_size`` — the exact smallest ``m = n·N`` reaching ``(ε, δ)`` on the
  worst-case (lower-bound) family, vs ``C_cov`` and vs ``1/ε``.
* ``adaptive_sft`` — adaptive vs plain SFT: queries vs ``1/ε``.
* ``amortization`` — the SFT-sharpened model decoded greedily on a
  hidden-knowledge task, vs greedy on the base and inference-time best-of-N.
"""

from __future__ import annotations

import math

import numpy as np

from ..algorithms import (
    adaptive_sft_sharpening,
    expected_adaptive_sft_error,
    expected_sft_error,
    sft_sharpening,
)
from ..classes import FiniteClass, PrefixTreeClass, TabularClass
from ..inference import best_of_n_law, greedy_decode
from ..measures import adaptive_coverage, coverage, sharpening_error
from ..policies import JointAutoregressivePolicy, encode_sequences
from ..theory.bounds import sft_error_bound
from ..theory.instances import hidden_knowledge_task, lower_bound_family
from ..theory.instances.lower_bound import SFT_WORLD  # the world; its figure reads it too
from ..theory.verify.search import (  # worst-case family, searches
    hard_world,
    min_n,
    n_grid,
    sft_queries_needed,
)
from ..theory.verify.toolkit import Toolkit
from .registry import register


def min_sft_queries(base, mu, epsilon, delta, N_grid):
    """Smallest exact ``m = n·N`` over ``N ∈ N_grid`` whose expected SFT error is ``<= ε`` (tabular class).

    Returns ``(m, n, N)``; ``(inf, 0, 0)`` when no ``N`` of the grid reaches ``ε`` with ``n <= 2^22``.
    The search is the theorem check's (:func:`sharpsim.theory.verify.search.sft_queries_needed`).
    """
    best = sft_queries_needed(Toolkit.default(), base, mu, epsilon, delta, N_grid, n_max=1 << 22)
    return best["m"], best["n"] or 0, best["N"] or 0


@register(
    "sft_error",
    description="SFT-sharpening error vs n for several N: Monte Carlo, exact expected error, Thm 4.1' bound",
    grid={"N": [1, 4, 16, 64], "reps": [40]},
    quick_grid={"N": [2, 8, 32], "reps": [4]},
    figures=("sft_error",),
    seeds=5,
    quick_seeds=3,
)
def sft_error(rng, N, reps):
    """Error ``P_x[π̂(y*|x) < 1 − 2δ]`` on the lower-bound family (``SFT_WORLD``), hidden index fixed.

    Records per ``n``: ``error_mc`` (mean over ``reps`` runs with the
    tabular class), ``error_mc_finite`` (the same with the finite realizable
    class ``{BoN_N(π^I)}`` the bound assumes), ``error_exact``
    (``expected_sft_error`` at level ``2δ``, tabular class), ``bound`` (Thm
    4.1′ with constant 1, ``ρ = 0.05``, ``log|Π| = d log M``), ``C_cov``.
    """
    w = SFT_WORLD
    inst = lower_bound_family(w["d"], w["M"], w["Delta"], index=[2, 5], build_class=True)
    base, mu = inst.base, np.asarray(inst.mu)
    level = 2 * w["delta"]
    c_cov = coverage(base, mu)
    tab = TabularClass(base.n_contexts, base.n_responses)
    finite = FiniteClass([best_of_n_law(p, N) for p in inst.model_class.policies])
    records = []
    for n in (2, 4, 8, 16, 32, 64, 128, 256, 512):
        errs_t = [
            sharpening_error(sft_sharpening(base, n, N, tab, mu, rng=rng).policy, base, level, mu)
            for _ in range(reps)
        ]
        errs_f = [
            sharpening_error(
                sft_sharpening(base, n, N, finite, mu, rng=rng).policy, base, level, mu
            )
            for _ in range(reps)
        ]
        records.append(
            {
                "n": n,
                "error_mc": float(np.mean(errs_t)),
                "error_mc_finite": float(np.mean(errs_f)),
                "error_exact": expected_sft_error(base, n, N, level, mu),
                "bound": sft_error_bound(n, N, w["delta"], c_cov, w["d"] * math.log(w["M"]), 0.05),
                "C_cov": c_cov,
            }
        )
    return records


#: Ladders of the ``sample_size`` sweeps: mode-set sizes M (fixed ε) and target errors ε (fixed C).
SAMPLE_SIZE = {
    "d": 4,
    "delta": 0.5,
    "epsilon": 0.05,
    "C": 5.0,
    "M": (100, 200, 400, 800, 1600),
    "eps": (0.1, 0.05, 0.025, 0.0125, 0.00625),
}


@register(
    "sample_size",
    description="Exact smallest m = nN reaching (eps, delta) vs C_cov and vs 1/eps on the lower-bound family",
    grid={"sweep": ["C_cov", "1/eps"], "k": [0, 1, 2, 3, 4]},
    quick_grid={"sweep": ["C_cov", "1/eps"], "k": [0, 1, 2]},
    figures=("sample_size",),
    seeds=1,
    quick_seeds=1,
)
def sample_size(rng, sweep, k):
    """One point of a sweep: the worst-case family (SPEC §9, ``Δ = 2ε``, ``d = 4``, ``δ = 1/2``).

    ``sweep="C_cov"``: ``ε = 0.05``, ``M = SAMPLE_SIZE["M"][k]``;
    ``sweep="1/eps"``: ``ε = SAMPLE_SIZE["eps"][k]``, ``M = round(C/ε)``.
    Exact (no randomness: ``rng`` is unused). Records ``epsilon``, ``M``,
    ``C_cov`` (exact), ``m``, ``n``, ``N`` (the minimiser over the N grid)
    and ``log_class_size`` (``d log M``).
    """
    s = SAMPLE_SIZE
    eps = s["epsilon"] if sweep == "C_cov" else s["eps"][k]
    M = s["M"][k] if sweep == "C_cov" else int(round(s["C"] / eps))
    base, mu = hard_world(M, eps, s["d"])
    m, n, N = min_sft_queries(base, mu, eps, s["delta"], n_grid(M))
    return [
        {
            "epsilon": eps,
            "M": M,
            "C_cov": coverage(base, mu),
            "m": float(m),
            "n": n,
            "N": N,
            "log_class_size": s["d"] * math.log(M),
        }
    ]


@register(
    "adaptive_sft",
    description="Adaptive vs plain SFT on the lower-bound family: exact queries to reach eps vs 1/eps, with MC runs",
    grid={"k": [0, 1, 2, 3, 4], "reps": [200]},
    quick_grid={"k": [0, 1, 2], "reps": [20]},
    figures=("adaptive_sft",),
    seeds=3,
    quick_seeds=2,
)
def adaptive_sft(rng, k, reps):
    """``ε = SAMPLE_SIZE["eps"][k]``, ``C = 5``: exact E[m] of adaptive SFT and exact min m of plain SFT.

    Records ``epsilon``, ``m_adaptive`` (exact ``E[m]`` at the smallest ``n``
    whose exact expected error is ``<= ε``), ``n_adaptive``, ``m_plain``
    (exact min ``n·N``), ``error_adaptive_exact`` and the Monte Carlo twins
    over ``reps`` runs at that ``n``: ``m_adaptive_mc`` (mean realised
    queries), ``m_adaptive_mc_se`` (its standard error) and
    ``error_adaptive_mc``; plus ``C_bar_cov``.
    """
    s = SAMPLE_SIZE
    eps = s["eps"][k]
    M = int(round(s["C"] / eps))
    base, mu = hard_world(M, eps, s["d"])
    delta = s["delta"]
    n = min_n(lambda j: expected_adaptive_sft_error(base, j, delta, mu)[0], eps)
    err, m_ad = expected_adaptive_sft_error(base, n, delta, mu)
    tab = TabularClass(base.n_contexts, base.n_responses)
    runs = [adaptive_sft_sharpening(base, n, delta, tab, mu, rng=rng) for _ in range(reps)]
    return [
        {
            "epsilon": eps,
            "m_adaptive": m_ad,
            "n_adaptive": n,
            "m_plain": float(min_sft_queries(base, mu, eps, delta, n_grid(M))[0]),
            "error_adaptive_exact": err,
            "m_adaptive_mc": float(np.mean([r.queries for r in runs])),
            "m_adaptive_mc_se": float(np.std([r.queries for r in runs], ddof=1) / math.sqrt(reps)),
            "error_adaptive_mc": float(
                np.mean([sharpening_error(r.policy, base, delta, mu) for r in runs])
            ),
            "C_bar_cov": adaptive_coverage(base, mu),
        }
    ]


@register(
    "amortization",
    description="SFT-sharpened model (greedy) vs base greedy vs inference-time BoN on a hidden-knowledge task",
    grid={"N": [1, 2, 4, 8, 16, 32, 50], "bonus": [1.0]},
    quick_grid={"N": [1, 4, 16, 50], "bonus": [1.0]},
    figures=("amortization",),
    seeds=10,
    quick_seeds=3,
)
def amortization(rng, N, bonus, n_prompts=48):
    """One task per seed (variable length, ``n_prompts`` prompts); SFT with the prefix-tree class (every joint law).

    For ``n`` = 1, 4, 16, 64 visits per prompt on average (``n·|X|`` prompts
    drawn from ``μ``): accuracy and mean ``log π_base`` of the SFT model's
    greedy response (``accuracy_sft``, ``loglik_sft``). Exact references:
    base greedy (``accuracy_greedy``, ``loglik_greedy``), inference-time BoN
    at the same N (``accuracy_bon``, ``loglik_bon``, exact law) and the
    ``n → ∞`` limit of SFT, greedy decoding of the exact BoN law
    (``accuracy_limit``, ``loglik_limit``).
    """
    task = hidden_knowledge_task(
        n_prompts, 4, bonus=bonus, horizon=3, variable_length=True, rng=rng
    )
    base, is_correct = task.base, task.details["is_correct"]
    vocab, horizon = task.details["vocab_size"], task.details["horizon"]
    table = base.to_tabular()
    prompts = np.arange(n_prompts)
    law = best_of_n_law(base, N)

    def decoded(policy):  # a TabularPolicy over sequences or an autoregressive policy
        if not hasattr(policy, "horizon"):
            policy = JointAutoregressivePolicy(policy, vocab, horizon)
        ids = encode_sequences(greedy_decode(policy, prompts), vocab)
        return float(is_correct[prompts, ids].mean()), float(table.log_probs[prompts, ids].mean())

    acc_g, ll_g = decoded(table)
    acc_lim, ll_lim = decoded(law)
    acc_bon = float((law.probs * is_correct).sum(axis=1).mean())
    pos = law.probs > 0
    ll_bon = float(
        np.where(pos, law.probs * np.where(pos, table.log_probs, 0.0), 0.0).sum(axis=1).mean()
    )
    cls = PrefixTreeClass(n_prompts, vocab, horizon)
    records = []
    for visits in (1, 4, 16, 64):
        res = sft_sharpening(base, visits * n_prompts, N, cls, rng=rng)
        acc, ll = decoded(res.policy)
        records.append(
            {
                "visits": visits,
                "queries": res.queries,
                "accuracy_sft": acc,
                "loglik_sft": ll,
                "accuracy_greedy": acc_g,
                "loglik_greedy": ll_g,
                "accuracy_bon": acc_bon,
                "loglik_bon": ll_bon,
                "accuracy_limit": acc_lim,
                "loglik_limit": ll_lim,
            }
        )
    return records
