"""RLHF-Sharpening with DPO: Theorem 4.2 / 4.2' (Eq. (8)) of Huang et al. (ICLR 2025).

The KL-regularisation ``β ≲ γ_margin δ ε``, the sharpening error bound under
realizability, concentrability (Assumption 4.4 / J.1) and margin
(Assumption 4.2 / J.2), and the resulting prompt and query counts.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from ..._validation import check_int, check_real
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
    "DPOSampleSize",
    "dpo_beta",
    "dpo_error_bound",
    "dpo_sample_complexity",
]


class DPOSampleSize(NamedTuple):
    """Prompts ``n`` and queries ``m = 2n`` (two responses per prompt) for DPO (Theorem 4.2)."""

    n: float
    m: float


def dpo_beta(epsilon, delta, gamma_margin, *, constant=1.0) -> float:
    """KL-regularisation ``β = c·γ_margin δ ε`` required by Theorem 4.2 (``β ≲ γ_margin δ ε``).

    ``constant`` is the constant hidden by ``≲``; any smaller ``β`` also
    satisfies the condition.

    Args:
      epsilon: ``ε ∈ (0, 1)``.
      delta: ``δ ∈ (0, 1)``.
      gamma_margin: margin ``γ_margin > 0`` (Assumption 4.2).
      constant: the constant hidden by ``≲`` (default 1).

    Returns:
      ``β``.

    Example:
      >>> round(dpo_beta(0.1, 0.2, 0.5), 6)
      0.01
    """
    epsilon = _unit_open(epsilon, "epsilon")
    delta = _unit_open(delta, "delta")
    gamma_margin = _positive(gamma_margin, "gamma_margin")
    constant = _constant(constant)
    return _finite(constant * gamma_margin * delta * epsilon, "beta")


def _log_loss_class_rho(C_loss: float, log_class_size: float, rho: float) -> float:
    return math.log(C_loss) + _log_over_rho(log_class_size, rho)


def _check_dpo_problem(delta, C_conc, C_loss, log_class_size, rho, gamma_margin):
    """Validate the problem constants Theorem 4.2's bound and sample size share."""
    return (
        _unit_open(delta, "delta"),
        _at_least_one(C_conc, "C_conc"),
        _at_least_one(C_loss, "C_loss"),
        _non_negative(log_class_size, "log_class_size"),
        _unit_open(rho, "rho"),
        _positive(gamma_margin, "gamma_margin"),
    )


def dpo_error_bound(
    n, delta, C_conc, C_loss, log_class_size, rho, gamma_margin, beta, *, gamma=0.0, constant=1.0
) -> float:
    """Sharpening error bound of RLHF-Sharpening with DPO (Theorem 4.2', Eq. (8)).

    Under realizability (``π*_β ∈ Π``), concentrability (Assumption 4.4 /
    J.1) and margin (Assumption 4.2 / J.2), with probability ``≥ 1 - ρ``::

        P_x[π̂(y*_γ|x) ≤ 1-δ] ≲ (1/(γ_margin δ))·( sqrt(C_conc log³(C_loss|Π|/ρ)/n)
                                                  + β log C_conc + γ )

    ``constant`` is the constant hidden by ``≲``. The ``Õ`` of the theorem
    also drops factors logarithmic in ``n`` and ``C_conc`` and doubly
    logarithmic in ``|Π|``, ``C_loss``, ``1/ρ`` (the proof's statistical error
    is ``B² log(|Π|/ρ)/n`` with ``B = log(2n C_loss|Π|/ρ)``); these are left out.

    Args:
      n: number of prompts (pairs ``(y, y')``), integer ``≥ 1``.
      delta: ``δ ∈ (0, 1)``.
      C_conc: concentrability bound ``C_conc ≥ 1`` (Eq. (9)).
      C_loss: bound ``C_loss ≥ 1`` on ``C_{π_base/π;β}`` (``≥ |Y|`` in the paper).
      log_class_size: ``log|Π| ≥ 0``.
      rho: ``ρ ∈ (0, 1)``.
      gamma_margin: margin ``γ_margin > 0``.
      beta: KL-regularisation ``β > 0``.
      gamma: approximation level ``γ ∈ [0, 1)`` of ``y*_γ`` (0 for Theorem 4.2).
      constant: the constant hidden by ``≲`` (default 1).

    Returns:
      The bound on the fraction of prompts left unsharpened.

    Example:
      >>> round(dpo_error_bound(10**6, 0.2, 4.0, 8.0, 5.0, 0.05, 0.5, 0.001), 4)
      0.6535
    """
    n = check_int(n, "n", minimum=1)
    delta, C_conc, C_loss, log_class_size, rho, gamma_margin = _check_dpo_problem(
        delta, C_conc, C_loss, log_class_size, rho, gamma_margin
    )
    beta = _positive(beta, "beta")
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0, high_open=True)
    constant = _constant(constant)
    log_term = _log_loss_class_rho(C_loss, log_class_size, rho)
    statistical = math.sqrt(C_conc * log_term * log_term * log_term / n)
    inner = statistical + beta * math.log(C_conc) + gamma
    return _finite(constant * inner / gamma_margin / delta, "the DPO error bound")


def dpo_sample_complexity(
    epsilon, delta, C_conc, C_loss, log_class_size, rho, gamma_margin, *, constant=1.0
) -> DPOSampleSize:
    """Prompts and queries for (ε, δ)-sharpening with DPO (Theorem 4.2).

    ``m = Õ(C_conc log³(C_loss|Π|/ρ) / (γ_margin² δ² ε²))`` with ``β ≲ γ_margin δ ε``
    (:func:`dpo_beta`). We return ``n = c·C_conc log³(C_loss|Π|/ρ)/(γ_margin² δ² ε²)``
    — the ``n`` at which the statistical term of :func:`dpo_error_bound`
    equals ``ε`` when ``c = constant_error²`` — and ``m = 2n`` (two responses
    per prompt). ``Õ`` drops the factors listed in :func:`dpo_error_bound`.

    Args:
      epsilon: ``ε ∈ (0, 1)``.
      delta: ``δ ∈ (0, 1)``.
      C_conc: ``C_conc ≥ 1``.
      C_loss: ``C_loss ≥ 1``.
      log_class_size: ``log|Π| ≥ 0``.
      rho: ``ρ ∈ (0, 1)``.
      gamma_margin: ``γ_margin > 0``.
      constant: the constant hidden by ``Õ`` (default 1).

    Returns:
      :class:`DPOSampleSize` ``(n, m)`` as floats.

    Example:
      >>> s = dpo_sample_complexity(0.1, 0.2, 4.0, 8.0, 5.0, 0.05, 0.5)
      >>> round(s.n), round(s.m)
      (40908884, 81817768)
    """
    epsilon = _unit_open(epsilon, "epsilon")
    delta, C_conc, C_loss, log_class_size, rho, gamma_margin = _check_dpo_problem(
        delta, C_conc, C_loss, log_class_size, rho, gamma_margin
    )
    constant = _constant(constant)
    log_term = _log_loss_class_rho(C_loss, log_class_size, rho)
    per_unit = (
        gamma_margin * delta * epsilon
    )  # divided by twice, so that its square cannot underflow
    n = _finite(constant * C_conc * log_term * log_term * log_term / per_unit / per_unit, "n")
    return DPOSampleSize(n, _finite(2.0 * n, "m"))
