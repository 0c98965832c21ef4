"""Theorem J.3: the full XPO plan for a linear softmax class (Lemmas J.4, J.5; Definition J.3).

Given the margin, the norm bound ``B`` and ``|Y|``: whether ``π*_β`` is
realizable (:func:`xpo_linear_softmax_norm_limit`) and the ``β``, ``α``,
``ε_disc``, ``T`` and queries of :func:`xpo_linear_softmax_plan`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from ..._validation import check_int
from ._checks import (
    _at_least_one,
    _constant,
    _finite,
    _non_negative,
    _unit_open,
)
from .lemmas import linear_softmax_log_covering_number, linear_softmax_sec_bound
from .xpo import (
    _log_two_y_over_delta,
    _smallest_satisfying,
    _xpo_iteration_scale,
    _xpo_log_term,
    xpo_alpha,
    xpo_beta,
    xpo_discretization,
)

__all__ = ["LinearSoftmaxXPOPlan", "xpo_linear_softmax_norm_limit", "xpo_linear_softmax_plan"]


def xpo_linear_softmax_norm_limit(delta, gamma_margin, B, log_n_responses) -> float:
    """Largest ``‖θ*‖₂`` allowed by Theorem J.3: ``γ_margin B / (3 log(2|Y|/δ))``.

    It guarantees that the tilted model ``π*_β = π_{(1+1/β)θ*}`` with
    ``β = γ_margin/(2 log(2|Y|/δ))`` stays in the class (``‖(1+1/β)θ*‖ ≤ B``).
    Exact; no hidden constant.

    Args:
      delta: ``δ ∈ (0, 1)``.
      gamma_margin: ``γ_margin ∈ (0, 1)``.
      B: norm bound of the class, ``B ≥ 1`` (Definition J.3).
      log_n_responses: ``log|Y| ≥ 0``.

    Returns:
      The bound on ``‖θ*‖₂``.

    Example:
      >>> round(xpo_linear_softmax_norm_limit(0.1, 0.5, 10.0, math.log(100)), 4)
      0.2193
    """
    delta = _unit_open(delta, "delta")
    gamma_margin = _unit_open(gamma_margin, "gamma_margin")
    B = _at_least_one(B, "B")
    log_n_responses = _non_negative(log_n_responses, "log_n_responses")
    return gamma_margin * B / (3.0 * _log_two_y_over_delta(log_n_responses, delta))


class LinearSoftmaxXPOPlan(NamedTuple):
    """XPO settings for a linear softmax class, from the proof of Theorem J.3."""

    T: int
    m: int
    beta: float
    alpha: float
    R_max: float
    SEC: float
    epsilon_disc: float
    log_covering_number: float


def xpo_linear_softmax_plan(
    epsilon,
    delta,
    rho,
    gamma_margin,
    d,
    B,
    log_n_responses,
    *,
    constant=1.0,
    disc_constant=1.0,
    sec_constant=1.0,
) -> LinearSoftmaxXPOPlan:
    """Iterations and parameters for XPO on a linear softmax class (Theorem J.3).

    Theorem J.3 states only ``m = poly(1/ε, 1/δ, 1/γ_margin, d, B, log(|Y|/ρ))``;
    it gives no explicit polynomial. Its proof substitutes into Theorem J.2:

    * ``β = γ_margin/(2 log(2|Y|/δ))`` (:func:`xpo_beta`);
    * ``R_max = sqrt(4β²B² + (2B + log|Y|)²)`` (``|log π_base| ≤ 2B + log|Y|``,
      and ``λ = R_max²`` meets Lemma J.5's ``λ ≥ 4β²B² + (2B + log|Y|)²``);
    * ``SEC(T) = c_sec·d·log(T+1)`` (Lemma J.5, ``sec_constant``);
    * ``ε_disc(T)`` from :func:`xpo_discretization` (``disc_constant`` is ``c_J.2``);
    * ``log N(T) = d log(6B/ε_disc)`` (Lemma J.4);

    and here ``T`` is the smallest iteration count with
    ``T ≥ C_J.2 R_max² SEC(T) log(2N(T)T/ρ)/(ε²δ²β²)`` (``constant`` is
    ``C_J.2``), found by doubling then bisection; the returned ``T`` meets
    the condition and ``T - 1`` does not. Up to log factors this is
    ``T = Õ(d² (B + log|Y|)² log²(|Y|/δ) / (γ_margin² ε² δ²))``. The theorem
    assumes ``‖θ*‖₂ ≤`` :func:`xpo_linear_softmax_norm_limit`; this function
    does not see ``θ*``, so the caller checks that. ``m = 2T`` queries.
    ``alpha`` is Theorem J.1's (:func:`xpo_alpha`) with ``V_max = β R_max``
    as in the proof of Theorem J.2.

    Args:
      epsilon: ``ε ∈ (0, 1)``.
      delta: ``δ ∈ (0, 1)``.
      rho: ``ρ ∈ (0, 1)``.
      gamma_margin: ``γ_margin ∈ (0, 1)``.
      d: feature dimension, integer ``≥ 1``.
      B: norm bound ``B ≥ 1``.
      log_n_responses: ``log|Y| ≥ 0``.
      constant: ``C_J.2`` (default 1).
      disc_constant: ``c_J.2`` (default 1).
      sec_constant: the constant of Lemma J.5's ``≲`` (default 1).

    Returns:
      :class:`LinearSoftmaxXPOPlan` ``(T, m, beta, alpha, R_max, SEC, epsilon_disc, log_covering_number)``.

    Example:
      >>> plan = xpo_linear_softmax_plan(0.5, 0.5, 0.1, 0.5, 2, 1.0, math.log(4))
      >>> plan.T, plan.m, round(plan.beta, 4)
      (37741615, 75483230, 0.0902)
    """
    epsilon = _unit_open(epsilon, "epsilon")
    delta = _unit_open(delta, "delta")
    rho = _unit_open(rho, "rho")
    gamma_margin = _unit_open(gamma_margin, "gamma_margin")
    d = check_int(d, "d", minimum=1)
    B = _at_least_one(B, "B")
    log_n_responses = _non_negative(log_n_responses, "log_n_responses")
    constant, disc_constant = _constant(constant), _constant(disc_constant, "disc_constant")
    sec_constant = _constant(sec_constant, "sec_constant")

    beta = xpo_beta(delta, gamma_margin, log_n_responses)
    R_max = _finite(math.hypot(2.0 * beta * B, 2.0 * B + log_n_responses), "R_max")
    scale = _xpo_iteration_scale(epsilon, delta, beta, R_max, constant)

    def pieces(T: int):
        SEC = linear_softmax_sec_bound(d, T, constant=sec_constant)
        epsilon_disc = xpo_discretization(epsilon, delta, SEC, T, constant=disc_constant)
        return SEC, epsilon_disc, linear_softmax_log_covering_number(d, B, epsilon_disc)

    def condition(T: int) -> bool:
        SEC, _, log_net = pieces(T)
        return T >= scale * SEC * _xpo_log_term(log_net, T, rho)

    T = _smallest_satisfying(condition)
    SEC, epsilon_disc, log_net = pieces(T)
    alpha = xpo_alpha(T, SEC, log_net, rho, R_max, beta * R_max, beta)
    return LinearSoftmaxXPOPlan(T, 2 * T, beta, alpha, R_max, SEC, epsilon_disc, log_net)
