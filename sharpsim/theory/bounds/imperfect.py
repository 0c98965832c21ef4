"""Regret bounds with an imperfect reward: best-of-N, χ²-pessimism and the minimax floor (SPEC §11).

Setting, per prompt: reference ``π_ref``, true reward ``r*`` and proxy ``r̂``
in ``[0, 1]``, ``ε² = E_{π_ref}(r̂ − r*)²``, a comparator ``π*`` with
``C_∞ = max π*/π_ref`` and ``C_1 = E_{π*}[π*/π_ref] ≤ C_∞``; regret
``J(π*) − J(π̂)`` under ``r*``. Huang, Block, Liu, Jiang, Krishnamurthy, Foster
(ICML 2025, arXiv 2503.21878) prove these rates up to constants; their theorem
statements could not be read here, so every bound below is **derived and proved
in its docstring with explicit constants** and checked numerically (``sharpsim
verify``, rows of :mod:`sharpsim.theory.verify.imperfect`).

**Lemma (change of measure).** For any ``π ≪ π_ref``,
``|E_π[r̂ − r*]| ≤ ε·√C_1(π)``. Proof: ``E_π[δ] = E_{π_ref}[(π/π_ref)δ] ≤
√(E_{π_ref}[(π/π_ref)²])·√(E_{π_ref}δ²)`` (Cauchy–Schwarz) and
``E_{π_ref}[(π/π_ref)²] = E_π[π/π_ref] = C_1(π)``. ∎

Hence for any output ``π̂``: ``Reg(π̂) ≤ ε√C_1(π*) + [Ĵ(π*) − Ĵ(π̂)] + ε√C_1(π̂)``
with ``Ĵ`` the value under ``r̂`` (three-term decomposition).
"""

from __future__ import annotations

import math

import numpy as np

from ..._validation import check_int
from ._checks import _at_least_one, _non_negative, _positive

__all__ = [
    "bon_regret_bound",
    "bon_tuned_n",
    "itp_regret_bound",
    "itp_tuned_beta",
    "minimax_lower_bound",
    "reward_hacking_lower_bound",
]


def bon_regret_bound(n, eps, c_inf) -> float:
    """Best-of-``N`` by ``r̂``: ``Reg ≤ ε(√C_∞ + √N) + (1 − 1/C_∞)^N`` (derived; SPEC §11).

    Proof. (i) ``π_BoN(y) ≤ N·π_ref(y)`` (a tie group ``G`` of mass ``m`` is
    picked w.p. ``F^N − (F−m)^N ≤ N m``, split ``∝ π_ref``), so
    ``C_1(π_BoN) ≤ N`` and the lemma bounds the last term by ``ε√N``; the first
    is ``≤ ε√C_1(π*) ≤ ε√C_∞``. (ii) With ``p(t) = P_{π_ref}(r̂ > t)``,
    ``Ĵ(π*) = ∫_0^1 P_{π*}(r̂ > t) dt ≤ ∫ min(1, C_∞ p(t)) dt`` and
    ``Ĵ(π_BoN) = ∫_0^1 (1 − (1 − p(t))^N) dt``, so the middle term is at most
    ``sup_{p∈[0,1]} g(p)``, ``g(p) = min(1, C p) − 1 + (1−p)^N``: on
    ``p ≥ 1/C`` it is ``(1−p)^N ≤ (1−1/C)^N``; on ``[0, 1/C]`` it is convex with
    ``g(0) = 0``, ``g(1/C) = (1−1/C)^N``. ∎ The ``√N ε`` term is the price of
    reward hacking: :func:`reward_hacking_lower_bound` shows it is necessary.

    Args:
      n: ``N >= 1``; eps: ``ε >= 0``; c_inf: ``C_∞ >= 1`` of the comparator.

    Example:
      >>> round(bon_regret_bound(100, 0.01, 4.0), 6)   # 0.01·(2 + 10) + 0.75**100
      0.12
    """
    n = check_int(n, "n", minimum=1)
    eps = _non_negative(eps, "eps")
    c_inf = _at_least_one(c_inf, "c_inf")
    tail = 0.0 if c_inf == 1.0 else math.exp(n * math.log1p(-1.0 / c_inf))
    return eps * (math.sqrt(c_inf) + math.sqrt(n)) + tail


def bon_tuned_n(eps, c_inf, n_max: int = 10**15) -> int:
    """The ``N`` minimising :func:`bon_regret_bound` (≈ ``C_∞·log(1/(ε√C_∞))``), searched exactly over integers.

    At that ``N`` the bound is ``ε√C_∞·O(1 + √log(1/(ε√C_∞)))``: tuned best-of-N
    reaches the minimax rate (:func:`minimax_lower_bound`) under ``C_∞``
    coverage, up to a logarithm; untuned (``N → ∞``) it does not.

    Example:
      >>> bon_tuned_n(0.01, 4.0) < bon_tuned_n(0.001, 4.0)
      True
    """
    eps = _non_negative(eps, "eps")
    c_inf = _at_least_one(c_inf, "c_inf")
    n_max = check_int(n_max, "n_max", minimum=1)
    if c_inf == 1.0 or eps * math.sqrt(2.0) >= 1.0 - 1.0 / c_inf:
        return 1 if c_inf == 1.0 or _bound(1, eps, c_inf) <= _bound(2, eps, c_inf) else 2
    grid = np.unique(np.round(np.logspace(0.0, math.log10(n_max), 4000)).astype(np.int64))
    values = _bound_array(grid, eps, c_inf)
    i = int(np.argmin(values))
    lo, hi = int(grid[max(i - 1, 0)]), int(grid[min(i + 1, grid.size - 1)])
    ints = np.arange(lo, hi + 1, dtype=np.int64)
    return int(ints[np.argmin(_bound_array(ints, eps, c_inf))])


def _bound(n, eps, c_inf):
    return float(_bound_array(np.array([n]), eps, c_inf)[0])


def _bound_array(ns, eps, c_inf):
    return eps * (math.sqrt(c_inf) + np.sqrt(ns)) + np.exp(ns * math.log1p(-1.0 / c_inf))


def reward_hacking_lower_bound(n, eps) -> float:
    """On :func:`~sharpsim.theory.instances.reward_hacking_instance` best-of-``N`` has ``Reg ≥ (1 − 1/e)·ε√N/2``.

    Valid for ``2 ≤ N ≤ 1/ε²``; the comparator has ``C_∞ = C_1 = 2``, so the
    regret grows like ``√(N ε²)`` while the minimax rate is ``≍ ε``.

    Proof. The instance has responses ``a, z, h`` with ``π_ref = (1/2,
    1/2 − 1/N, 1/N)``, ``r* = (Δ, 0, 0)``, ``r̂ = (Δ, 0, 2Δ)``, ``Δ = ε√N/2``,
    so ``ε² = (1/N)(2Δ)²`` exactly. Best-of-N returns ``a`` iff no draw is
    ``h`` and some draw is ``a``: ``J = Δ((1 − 1/N)^N − (1/2 − 1/N)^N)
    ≤ Δ/e``, and ``J(π*) = Δ``. ∎

    Example:
      >>> round(reward_hacking_lower_bound(100, 0.01), 6)
      0.031606
    """
    n = check_int(n, "n", minimum=2)
    eps = _positive(eps, "eps")
    if n * eps * eps > 1.0:
        raise ValueError(f"n must be at most 1/eps² = {1 / eps**2:.6g}; got {n}")
    return (1.0 - math.exp(-1.0)) * eps * math.sqrt(n) / 2.0


def itp_regret_bound(beta, eps, c_1, n=None, r_min=0.0) -> float:
    """InferenceTimePessimism: ``Reg ≤ ε√C_1 + (β/2)C_1 + ε²/(2β) + (1 − β/(1 − r_min + β))^N`` (derived).

    With ``r̂ ∈ [r_min, 1]`` and ``r_max = 1``:
    ``Reg(π̂_N) ≤ ε√C_1 + (β/2)·C_1 + ε²/(2β) + (1 − β/(1 − r_min + β))^N``,
    for the population-``λ`` law of :func:`~sharpsim.itp_law`; ``n=None``
    drops the last term (the target ``π_β`` itself). Non-increasing in ``N``:
    *scaling-monotonic*. With ``β = ε/√C_1`` (:func:`itp_tuned_beta`) the
    first three terms are ``2ε√C_1``, the minimax rate up to the factor 4.

    Proof. ``π_β`` maximises ``Ĵ(π) − (β/2)χ²(π)``, so ``Ĵ(π*) − Ĵ(π_β) ≤
    (β/2)(χ²(π*) − χ²(π_β)) = (β/2)(C_1 − c)`` with ``c = C_1(π_β)``. With
    the lemma, ``Reg(π_β) ≤ ε√C_1 + (β/2)C_1 + max_c[ε√c − (β/2)c]`` and the
    max is ``ε²/(2β)``. ITP's law is ``(1 − q)π_β + q·π_ref`` with ``q =
    (1 − β/(1 − λ))^N``; ``λ ≥ r_min − β`` (the root condition at ``λ = r_min − β``
    already holds), so ``q ≤ (1 − β/(1 − r_min + β))^N``; and ``Reg(π̂_N) = Reg(π_β) +
    q·(J(π_β) − J(π_ref)) ≤ Reg(π_β) + q`` as ``r* ∈ [0, 1]``. ∎

    Example:
      >>> round(itp_regret_bound(0.005, 0.01, 4.0), 6)   # 0.02 + 0.01 + 0.01
      0.04
    """
    beta = _positive(beta, "beta")
    eps = _non_negative(eps, "eps")
    c_1 = _at_least_one(c_1, "c_1")
    r_min = _non_negative(r_min, "r_min")
    value = eps * math.sqrt(c_1) + 0.5 * beta * c_1 + eps * eps / (2.0 * beta)
    if n is None:
        return value
    n = check_int(n, "n", minimum=1)
    return value + math.exp(n * math.log1p(-beta / (1.0 - r_min + beta)))


def itp_tuned_beta(eps, c_1) -> float:
    """``β = ε/√C_1``: the minimiser of ``(β/2)C_1 + ε²/(2β)`` in :func:`itp_regret_bound`.

    Example:
      >>> itp_tuned_beta(0.02, 4.0)
      0.01
    """
    return _positive(eps, "eps") / math.sqrt(_at_least_one(c_1, "c_1"))


def minimax_lower_bound(eps, c) -> float:
    """Any method that sees only ``π_ref`` and ``r̂`` has ``max Reg ≥ ε√C/2`` on a two-point pair (``C ≥ 2``, ``ε√C ≤ 1/2``).

    Proof (:func:`~sharpsim.theory.instances.two_point_instances`). Two worlds
    share ``π_ref = (1/C, 1 − 1/C)`` and ``r̂ ≡ 1/2`` and differ in ``r*(a) =
    1/2 ± Δ`` (``r*(b) = 1/2``), ``Δ = ε√C``, so both have error ``ε²``. An
    algorithm's output law ``π̂`` is the same in both; with comparators
    ``δ_a`` (``C_1 = C_∞ = C``) and ``δ_b`` (``C/(C−1) ≤ C``) the regrets are
    ``Δ(1 − π̂(a))`` and ``Δ·π̂(a)``, summing to ``Δ``: one is ``≥ Δ/2``. ∎

    Example:
      >>> minimax_lower_bound(0.05, 4.0)
      0.05
    """
    eps = _non_negative(eps, "eps")
    c = _at_least_two(c)
    if eps * math.sqrt(c) > 0.5:
        raise ValueError(f"eps·sqrt(c) must be at most 1/2; got {eps * math.sqrt(c):.6g}")
    return eps * math.sqrt(c) / 2.0


def _at_least_two(c) -> float:
    c = _at_least_one(c, "c")
    if c < 2.0:
        raise ValueError(f"c must be >= 2; got {c}")
    return c
