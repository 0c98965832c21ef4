"""Minimax lower bounds on the queries of any sharpening algorithm.

Theorem 3.1 (sample-and-evaluate, Definition 3.2), its ``p``-th-moment
generalisation Theorem 3.1' and the adaptive-framework bound Theorem D.2
(Definition D.1) of Huang et al. (ICLR 2025). The hidden absolute constant of
``≳`` is the keyword ``constant``.
"""

from __future__ import annotations

import math

from ..._validation import check_int
from ._checks import _at_least_one, _constant, _exp_finite, _non_negative, _unit_open

__all__ = [
    "lower_bound_samples",
    "lower_bound_samples_p",
    "adaptive_lower_bound_samples",
]


def lower_bound_samples_p(
    epsilon, C_cov, log_class_size, p: int = 1, *, adaptive: bool = False, constant=1.0
) -> float:
    """Minimax lower bound on the queries of any sharpening algorithm (Theorem 3.1').

    For integers ``d, p ≥ 1``, ``ε ∈ (0,1)``, ``C ≥ 1`` and ``γ = 1/2`` there is
    a class with ``log|Π| ≍ d(1 + log(C ε^{-1/p}))`` and
    ``sup_π C_cov,γ,p(π) ≲ C`` on which any algorithm reaching
    ``E[P_x[π̂(y*_γ(x)|x) > 1/2]] ≥ 1 - ε`` needs::

        m ≳ C log|Π| / (ε^{1+1/p} (1 + log(C ε^{-1/p})))     (sample-and-evaluate)
        E[m] ≳ C log|Π| / (ε^{1/p} (1 + log(C ε^{-1/p})))     (adaptive, Def. D.1)

    Hidden constant: the single absolute constant of ``≳`` (``constant``);
    the proof's hard family (SPEC §9) uses ``Δ = 16ε`` and ``M ≍ 1 + C ε^{-1/p}``.

    Args:
      epsilon: target failure fraction ``ε ∈ (0, 1)``.
      C_cov: coverage level ``C ≥ 1`` (a bound on ``C_cov,γ,p`` over the class).
      log_class_size: ``log|Π| ≥ 0``.
      p: moment of the coverage coefficient, an integer ``≥ 1``.
      adaptive: ``True`` for the adaptive framework's bound on ``E[m]``.
      constant: the constant hidden by ``≳`` (default 1).

    Returns:
      The lower bound on ``m`` (or ``E[m]``) as a float.

    Example:
      >>> round(lower_bound_samples_p(0.1, 4.0, 20.0, p=2), 1)
      715.1
      >>> round(lower_bound_samples_p(0.1, 4.0, 20.0, p=2, adaptive=True), 1)
      71.5
    """
    epsilon = _unit_open(epsilon, "epsilon")
    C_cov = _at_least_one(C_cov, "C_cov")
    log_class_size = _non_negative(log_class_size, "log_class_size")
    p = check_int(p, "p", minimum=1)
    if not isinstance(adaptive, bool):
        raise TypeError(f"adaptive must be a bool; got {type(adaptive).__name__}")
    constant = _constant(constant)
    if log_class_size == 0.0:
        return 0.0  # a single model: nothing to learn
    log_term = 1.0 + math.log(C_cov) - math.log(epsilon) / p
    exponent = 1.0 / p if adaptive else 1.0 + 1.0 / p
    # Assembled in log space: ε^{-exponent} alone can overflow while the bound would not.
    log_bound = (
        math.log(constant)
        + math.log(C_cov)
        + math.log(log_class_size)  # the product can underflow
        - exponent * math.log(epsilon)
        - math.log(log_term)
    )
    return _exp_finite(log_bound, "the lower bound")


def lower_bound_samples(epsilon, C_cov, log_class_size, *, constant=1.0) -> float:
    """Lower bound ``m ≳ C log|Π| / (ε² (1 + log(C/ε)))`` (Theorem 3.1).

    Theorem 3.1 is Theorem 3.1' with ``p = 1`` in the (non-adaptive)
    sample-and-evaluate framework (Definition 3.2): no algorithm that makes
    ``P_x[π̂(y^{π_base}(x)|x) > 1/2] ≥ 1 - ε`` in expectation for every
    ``π_base`` of the hard class (``log|Π| ≍ d(1 + log(C/ε))``,
    ``C_cov ≲ C``, unique modes) can use fewer queries. ``constant`` is the
    absolute constant hidden by ``≳``.

    Args:
      epsilon: ``ε ∈ (0, 1)``.
      C_cov: coverage level ``C ≥ 1``.
      log_class_size: ``log|Π| ≥ 0``.
      constant: the constant hidden by ``≳`` (default 1).

    Returns:
      The lower bound on ``m = n·N``.

    Example:
      >>> round(lower_bound_samples(0.1, 4.0, 20.0), 1)
      1706.2
    """
    return lower_bound_samples_p(epsilon, C_cov, log_class_size, p=1, constant=constant)


def adaptive_lower_bound_samples(epsilon, C_cov, log_class_size, *, constant=1.0) -> float:
    """Adaptive lower bound ``E[m] ≳ C log|Π| / (ε (1 + log(C/ε)))`` (Theorem D.2).

    The adaptive sample-and-evaluate framework (Definition D.1) lets the number
    of responses per prompt be a stopping time; the price of sharpening drops
    from ``1/ε²`` to ``1/ε``. Special case ``p = 1`` of Theorem 3.1'.
    ``constant`` is the absolute constant hidden by ``≳``.

    Args:
      epsilon: ``ε ∈ (0, 1)``.
      C_cov: coverage level ``C ≥ 1``.
      log_class_size: ``log|Π| ≥ 0``.
      constant: the constant hidden by ``≳`` (default 1).

    Returns:
      The lower bound on the expected number of queries ``E[m]``.

    Example:
      >>> round(adaptive_lower_bound_samples(0.1, 4.0, 20.0), 1)
      170.6
    """
    return lower_bound_samples_p(
        epsilon, C_cov, log_class_size, p=1, adaptive=True, constant=constant
    )
