"""RLHF-Sharpening with XPO (Algorithm 1) of Huang et al. (ICLR 2025).

Theorem J.1 (optimism coefficient ``α`` and KL-regularised regret),
Theorem J.2 / 4.3 (``β``, ``ε_disc``, the iteration count ``T`` and the
closed-form sample complexity). Theorem J.3 (the full plan for a linear
softmax class) is in :mod:`.xpo_linear`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ..._validation import check_int
from ._checks import (
    _at_least_one,
    _constant,
    _finite,
    _log_over_rho,
    _non_negative,
    _positive,
    _unit_open,
)

__all__ = [
    "xpo_beta",
    "xpo_alpha",
    "xpo_regret_bound",
    "xpo_discretization",
    "xpo_iterations",
    "xpo_sample_complexity",
]


def _log_two_y_over_delta(log_n_responses: float, delta: float) -> float:
    return math.log(2.0) + log_n_responses - math.log(delta)


def xpo_beta(delta, gamma_margin, log_n_responses) -> float:
    """KL-regularisation ``β = γ_margin / (2 log(2|Y|/δ))`` of Theorem 4.3 / J.2 / J.3.

    With this ``β`` the margin gives ``(1+γ_margin)^{1+1/β} ≥ 2|Y|/δ``, hence
    ``π*_β(y*(x)|x) ≥ 1 - δ/2`` for every prompt (proof of Theorem J.2).
    Exact; no hidden constant (Theorem J.2 only needs ``β`` at most this).

    Args:
      delta: ``δ ∈ (0, 1)``.
      gamma_margin: margin ``γ_margin > 0`` (Assumption 4.2).
      log_n_responses: ``log|Y| ≥ 0``.

    Returns:
      ``β``.

    Example:
      >>> round(xpo_beta(0.1, 0.5, math.log(100)), 6)
      0.032891
    """
    delta = _unit_open(delta, "delta")
    gamma_margin = _positive(gamma_margin, "gamma_margin")
    log_n_responses = _non_negative(log_n_responses, "log_n_responses")
    return gamma_margin / (2.0 * _log_two_y_over_delta(log_n_responses, delta))


def _xpo_log_term(log_covering_number: float, T: float, rho: float) -> float:
    """``log(2 N(Π, ε_disc) T / ρ)`` from ``log N``."""
    return math.log(2.0) + log_covering_number + math.log(T) - math.log(rho)


def _check_xpo_common(T, SEC, log_covering_number, rho):
    T = check_int(T, "T", minimum=1)
    SEC = _positive(SEC, "SEC")
    log_covering_number = _non_negative(log_covering_number, "log_covering_number")
    rho = _unit_open(rho, "rho")
    return T, SEC, log_covering_number, rho


def xpo_alpha(T, SEC, log_covering_number, rho, R_max, V_max, beta) -> float:
    """Optimism coefficient of XPO (Algorithm 1), as set in Theorem J.1 (SPEC §7).

    ``α = β/(R_max + V_max) · sqrt(log(2 N(Π, ε_disc) T / ρ) / (SEC·T))``.
    A definition, so no hidden constant. Theorem J.2 states the same with
    ``V_max`` omitted and ``δ`` in place of ``ρ`` inside the log; its proof
    applies Theorem J.1 with ``V_max = β R_max``.

    Args:
      T: number of iterations, integer ``≥ 1``.
      SEC: sequential extrapolation coefficient ``> 0`` (Definition J.1).
      log_covering_number: ``log N(Π, ε_disc) ≥ 0`` (Definition J.2).
      rho: ``ρ ∈ (0, 1)``.
      R_max: reward range ``R_max > 0`` (``|r| ≤ R_max``).
      V_max: density-ratio range ``V_max ≥ 0`` (Assumption J.4).
      beta: ``β > 0``.

    Returns:
      ``α``.

    Example:
      >>> round(xpo_alpha(1000, 5.0, 20.0, 0.05, 4.0, 0.1, 0.05), 6)
      0.000954
    """
    T, SEC, log_covering_number, rho = _check_xpo_common(T, SEC, log_covering_number, rho)
    R_max = _positive(R_max, "R_max")
    V_max = _non_negative(V_max, "V_max")
    beta = _positive(beta, "beta")
    log_term = _xpo_log_term(log_covering_number, T, rho)
    return beta / (R_max + V_max) * math.sqrt(log_term / (SEC * T))


def xpo_regret_bound(
    T, SEC, log_covering_number, rho, R_max, V_max, beta, epsilon_disc, *, constant=1.0
) -> float:
    """XPO's bound on ``β·KL(π̂‖π*_β) = J_β(π*_β) - J_β(π̂)`` for any reward (Theorem J.1).

    Under realizability (Assumption J.3) and bounded density ratios
    (Assumption J.4), with ``α`` from :func:`xpo_alpha`, w.p. ``≥ 1 - ρ``::

        J_β(π*_β) - J_β(π̂) ≲ (R_max + V_max) sqrt(SEC log(2N(Π,ε_disc)T/ρ) / T)
                             + β ε_disc sqrt(SEC·T)

    ``constant`` is the one constant hidden by ``≲``; no log factor is dropped.

    Args:
      T, SEC, log_covering_number, rho, R_max, V_max, beta: as in :func:`xpo_alpha`.
      epsilon_disc: discretisation scale ``ε_disc ∈ (0, 1)``.
      constant: the constant hidden by ``≲`` (default 1).

    Returns:
      The bound on the KL-regularised suboptimality of the returned model.

    Example:
      >>> round(xpo_regret_bound(1000, 5.0, 20.0, 0.05, 4.0, 0.1, 0.05, 0.001), 4)
      1.6072
    """
    T, SEC, log_covering_number, rho = _check_xpo_common(T, SEC, log_covering_number, rho)
    R_max = _positive(R_max, "R_max")
    V_max = _non_negative(V_max, "V_max")
    beta = _positive(beta, "beta")
    epsilon_disc = _unit_open(epsilon_disc, "epsilon_disc")
    constant = _constant(constant)
    log_term = _xpo_log_term(log_covering_number, T, rho)
    estimation = (R_max + V_max) * math.sqrt(SEC * log_term / T)
    discretisation = beta * epsilon_disc * math.sqrt(SEC * T)
    return _finite(constant * (estimation + discretisation), "the XPO regret bound")


#: Largest ``ε_disc`` handed out: Theorem J.2 also needs ``ε_disc ∈ (0, 1)``.
EPSILON_DISC_CAP = 0.5


def xpo_discretization(epsilon, delta, SEC, T, *, constant=1.0) -> float:
    """Discretisation scale ``ε_disc = min(c εδ/sqrt(SEC·T), 1/2)`` (Theorem J.2).

    Theorem J.2 needs some ``ε_disc ∈ (0, 1)`` with
    ``ε_disc ≤ c_J.2 εδ/sqrt(SEC·T)``; this returns the largest such value,
    capped at :data:`EPSILON_DISC_CAP` ``= 1/2`` to stay inside ``(0, 1)``
    (the cap binds only when ``SEC·T < 4 (c εδ)²``). ``constant`` is ``c_J.2``.

    Args:
      epsilon: ``ε ∈ (0, 1)``.
      delta: ``δ ∈ (0, 1)``.
      SEC: ``SEC > 0``.
      T: iterations, integer ``≥ 1``.
      constant: ``c_J.2`` (default 1).

    Returns:
      ``ε_disc``.

    Example:
      >>> round(xpo_discretization(0.1, 0.1, 4.0, 100), 6)
      0.0005
    """
    epsilon = _unit_open(epsilon, "epsilon")
    delta = _unit_open(delta, "delta")
    SEC = _positive(SEC, "SEC")
    T = check_int(T, "T", minimum=1)
    constant = _constant(constant)
    epsilon_disc = constant * epsilon / math.sqrt(SEC * T) * delta
    if epsilon_disc == 0.0:
        raise ValueError(
            "epsilon * delta / sqrt(SEC * T) underflows to 0; epsilon_disc would leave (0, 1)"
        )
    return min(epsilon_disc, EPSILON_DISC_CAP)


def _smallest_satisfying(condition: Callable[[int], bool]) -> int:
    """Smallest ``T ≥ 1`` with ``condition(T)``, by doubling then bisection.

    Exact when the set ``{T : condition(T)}`` is an up-set (``[T0, ∞)``)
    or contains 1; in any case the result satisfies the condition and,
    unless it is 1, ``T - 1`` does not.
    """
    if condition(1):
        return 1
    low, high = 1, 2
    while not condition(high):
        low, high = high, 2 * high
        if high.bit_length() > 2000:
            raise OverflowError("no iteration count below 2**2000 satisfies the condition")
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if condition(mid) else (mid, high)
    return high


def _xpo_iteration_scale(epsilon, delta, beta, R_max, constant) -> float:
    """``C_J.2 R_max² / (ε² δ² β²)``: the factor in front of ``SEC·log(2NT/ρ)``."""
    per_unit = epsilon * delta * beta
    return _finite(constant * R_max * R_max / per_unit / per_unit, "the iteration scale")


def xpo_iterations(
    epsilon, delta, rho, beta, R_max, SEC, log_covering_number, *, constant=1.0
) -> int:
    """Smallest ``T`` meeting Theorem J.2's condition for XPO to (ε, δ)-sharpen.

    Theorem J.2 (formal Theorem 4.3) asks for::

        T ≥ C_J.2 · R_max² SEC log(2 N(Π, ε_disc) T / ρ) / (ε² δ² β²)

    which is implicit in ``T``. With ``SEC`` and ``log N`` held fixed the gap
    ``T - RHS(T)`` is convex in ``log T``, so the satisfying ``T`` form an
    up-set and the smallest one is found exactly (doubling, then bisection).
    ``constant`` is ``C_J.2``; no log factor is dropped. Each iteration of
    Algorithm 1 costs two base-model queries (one sample ``ỹ``, one
    evaluation of ``π_base(y|x)``), so ``m = 2T``.

    Args:
      epsilon: ``ε ∈ (0, 1)``.
      delta: ``δ ∈ (0, 1)``.
      rho: ``ρ ∈ (0, 1)``.
      beta: ``β ∈ (0, 1)``; at most :func:`xpo_beta` for the theorem to apply.
      R_max: ``R_max ≥ 1`` (``≥ 1 + max log(1/π_base)`` in Theorem J.2).
      SEC: ``SEC(Π, r, T, β, R_max²) > 0``, treated as fixed.
      log_covering_number: ``log N(Π, ε_disc) ≥ 0``, treated as fixed.
      constant: ``C_J.2`` (default 1).

    Returns:
      ``T`` as a Python int.

    Example:
      >>> xpo_iterations(0.5, 0.5, 0.1, 0.5, 2.0, 1.0, 3.0)
      3634
    """
    epsilon = _unit_open(epsilon, "epsilon")
    delta = _unit_open(delta, "delta")
    rho = _unit_open(rho, "rho")
    beta = _unit_open(beta, "beta")
    R_max = _at_least_one(R_max, "R_max")
    SEC = _positive(SEC, "SEC")
    log_covering_number = _non_negative(log_covering_number, "log_covering_number")
    constant = _constant(constant)
    scale = _finite(
        _xpo_iteration_scale(epsilon, delta, beta, R_max, constant) * SEC, "the iteration scale"
    )
    return _smallest_satisfying(lambda T: T >= scale * _xpo_log_term(log_covering_number, T, rho))


def xpo_sample_complexity(
    epsilon,
    delta,
    rho,
    gamma_margin,
    R_max,
    SEC,
    log_covering_number,
    log_n_responses,
    *,
    constant=1.0,
) -> float:
    """XPO's sample complexity for (ε, δ)-sharpening (Theorem 4.3 / J.2), closed form.

    ``m = Õ(R_max² SEC log(N(Π,ε_disc)/ρ) log²(|Y|/δ) / (γ_margin² ε² δ²))`` —
    no dependence on ``C_cov``. ``constant`` is the constant hidden by
    ``Õ``, which also drops the ``log T`` inside ``log(2NT/ρ)`` and the 2 in
    ``log(2|Y|/δ)``; :func:`xpo_iterations` keeps them. (The main-text
    Theorem 4.3 writes ``SEC·log(|Π|/ρ)`` and hides ``R_max``, ``log|Y|``.)

    Args:
      epsilon: ``ε ∈ (0, 1)``.
      delta: ``δ ∈ (0, 1)``.
      rho: ``ρ ∈ (0, 1)``.
      gamma_margin: ``γ_margin > 0``.
      R_max: ``R_max > 0``.
      SEC: ``SEC > 0``.
      log_covering_number: ``log N(Π, ε_disc) ≥ 0``.
      log_n_responses: ``log|Y| ≥ 0``.
      constant: the constant hidden by ``Õ`` (default 1).

    Returns:
      ``m`` as a float.

    Example:
      >>> round(xpo_sample_complexity(0.1, 0.1, 0.05, 0.5, 4.0, 5.0, 20.0, math.log(100)))
      3511325649
    """
    epsilon = _unit_open(epsilon, "epsilon")
    delta = _unit_open(delta, "delta")
    rho = _unit_open(rho, "rho")
    gamma_margin = _positive(gamma_margin, "gamma_margin")
    R_max = _positive(R_max, "R_max")
    SEC = _positive(SEC, "SEC")
    log_covering_number = _non_negative(log_covering_number, "log_covering_number")
    log_n_responses = _non_negative(log_n_responses, "log_n_responses")
    constant = _constant(constant)
    log_net = _log_over_rho(log_covering_number, rho)
    log_y = log_n_responses - math.log(delta)
    per_unit = gamma_margin * epsilon * delta
    value = constant * R_max * R_max * SEC * log_net * log_y * log_y / per_unit / per_unit
    return _finite(value, "the XPO sample complexity")
