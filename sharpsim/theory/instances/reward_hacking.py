"""Hard instances for an imperfect reward: best-of-N's reward hacking and the two-point minimax pair (SPEC §11).

* :func:`reward_hacking_instance`: a rare response whose proxy is inflated by
  ``2Δ = ε√N`` on mass ``1/N``: best-of-``N`` returns it with probability
  ``≥ 1 − 1/e`` and pays ``Δ`` (:func:`~sharpsim.theory.bounds.reward_hacking_lower_bound`).
* :func:`two_point_instances`: two worlds an algorithm that sees only ``π_ref``
  and ``r̂`` cannot tell apart (:func:`~sharpsim.theory.bounds.minimax_lower_bound`).

References:
  Huang, Block, Liu, Jiang, Krishnamurthy, Foster, ICML 2025 (arXiv 2503.21878);
  the constructions here are derived (their proofs are in the bounds' docstrings).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..._validation import check_int, check_real
from ...policies.tabular import TabularPolicy
from ...reward_models import RewardModel

__all__ = ["ImperfectInstance", "reward_hacking_instance", "two_point_instances"]


class ImperfectInstance(NamedTuple):
    """A world with an imperfect reward: reference ``pi``, ``reward_model`` (``r*``, ``r̂``) and ``comparator`` ``π*``."""

    pi: TabularPolicy
    reward_model: RewardModel
    comparator: TabularPolicy


def reward_hacking_instance(eps, n) -> ImperfectInstance:
    """Responses ``(a, z, h)``: ``π_ref = (1/2, 1/2 − 1/N, 1/N)``, ``r* = (Δ, 0, 0)``, ``r̂ = (Δ, 0, 2Δ)``, ``Δ = ε√N/2``.

    The error is exactly ``ε²``, the comparator ``δ_a`` has ``C_∞ = C_1 = 2``,
    and best-of-``N`` has regret ``Δ(1 − (1 − 1/N)^N + (1/2 − 1/N)^N) ≥ (1 − 1/e)Δ``.

    Args:
      eps: ``ε > 0``.
      n: ``N`` with ``2 ≤ N ≤ 1/ε²`` (so ``r̂ ≤ 1``).

    Example:
      >>> inst = reward_hacking_instance(0.05, 100)
      >>> inst.pi.probs.round(12).tolist(), float(inst.reward_model.error(inst.pi)[0].round(10))
      ([[0.5, 0.49, 0.01]], 0.0025)
    """
    eps = check_real(eps, "eps", low=0.0, low_open=True)
    n = check_int(n, "n", minimum=2)
    if n * eps * eps > 1.0:
        raise ValueError(f"n must be at most 1/eps² = {1 / eps**2:.6g}; got {n}")
    delta = eps * math.sqrt(n) / 2.0
    pi = TabularPolicy([[0.5, 0.5 - 1.0 / n, 1.0 / n]])
    rm = RewardModel(
        [[delta, 0.0, 0.0]], [[delta, 0.0, min(1.0, 2.0 * delta)]], name="reward hacking"
    )
    return ImperfectInstance(pi, rm, TabularPolicy([[1.0, 0.0, 0.0]]))


def two_point_instances(eps, c) -> tuple[ImperfectInstance, ImperfectInstance]:
    """Two worlds with ``π_ref = (1/C, 1 − 1/C)``, ``r̂ ≡ 1/2`` and ``r*(a) = 1/2 ± ε√C``, ``r*(b) = 1/2``.

    Both have error ``ε²``; the first's comparator is ``δ_a`` (coverage ``C``),
    the second's ``δ_b`` (coverage ``C/(C−1) ≤ C``). Any output law has regrets
    summing to ``ε√C`` over the pair.

    Args:
      eps: ``ε >= 0``; c: ``C >= 2`` with ``ε√C ≤ 1/2``.

    Example:
      >>> up, down = two_point_instances(0.1, 4.0)
      >>> up.reward_model.true.tolist(), down.reward_model.true.tolist()
      ([[0.7, 0.5]], [[0.3, 0.5]])
    """
    eps = check_real(eps, "eps", low=0.0)
    c = check_real(c, "c", low=2.0)
    delta = eps * math.sqrt(c)
    if delta > 0.5:
        raise ValueError(f"eps·sqrt(c) must be at most 1/2; got {delta:.6g}")
    pi = TabularPolicy([[1.0 / c, 1.0 - 1.0 / c]])
    proxy = np.full((1, 2), 0.5)
    up = RewardModel([[0.5 + delta, 0.5]], proxy, name="two-point, up")
    down = RewardModel([[0.5 - delta, 0.5]], proxy, name="two-point, down")
    return (
        ImperfectInstance(pi, up, TabularPolicy([[1.0, 0.0]])),
        ImperfectInstance(pi, down, TabularPolicy([[0.0, 1.0]])),
    )
