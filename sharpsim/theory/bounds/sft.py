"""SFT-Sharpening guarantees and parameter choices.

Theorem 4.1 / 4.1' (SFT-Sharpening: error bound, sample sizes, integer
``(n, N*, N)``) and Theorem D.1 (adaptive SFT-Sharpening with the stopping
rule Eq. (10): ``μ = ln(2/δ)``, error bound, expected queries) of Huang et al.
(ICLR 2025).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from ..._validation import check_int
from ...algorithms.parameters import adaptive_mu_stop
from ._checks import _at_least_one, _constant, _finite, _log_over_rho, _non_negative, _unit_open

__all__ = [
    "SFTParameters",
    "SFTSampleSize",
    "AdaptiveSFTSampleSize",
    "sft_error_bound",
    "sft_sample_complexity",
    "sft_parameters",
    "adaptive_mu_stop",
    "adaptive_sft_error_bound",
    "adaptive_sft_expected_samples",
    "adaptive_sft_sample_complexity",
]


class SFTSampleSize(NamedTuple):
    """Real-valued sizes of Theorem 4.1: prompts, ``N*``, responses per prompt, total."""

    n: float
    N_star: float
    N: float
    m: float


class SFTParameters(NamedTuple):
    """Integer settings for SFT-Sharpening per Theorem 4.1 (``N = ⌈N*·ln(2/δ)⌉``)."""

    n: int
    N_star: int
    N: int


def sft_error_bound(n, N, delta, C_cov, log_class_size, rho, *, constant=1.0) -> float:
    """Sharpening error bound of SFT-Sharpening at ``n`` prompts, ``N`` responses (Theorem 4.1').

    With ``N = N*·ln(2/δ)`` responses per prompt and the class realizing the
    best-of-N law (Assumption 4.1), with probability ``≥ 1 - ρ``, for any ``γ``::

        P_x[π̂(y*_γ(x)|x) ≤ 1 - 2δ] ≲ (1/δ)·log(|Π|/ρ)/n + C_cov,γ / N*

    Hidden constant: one absolute constant on the whole right side
    (``constant``). In the proof the second term has constant exactly 1
    (Markov) and the first is ``2/c_H`` with ``c_H`` from the Hellinger step
    Eq. (19); use ``constant`` to explore either.

    Args:
      n: number of prompts, integer ``≥ 1``.
      N: responses per prompt, integer ``≥ 1``; ``N* = N / ln(2/δ)``.
      delta: ``δ ∈ (0, 1)``.
      C_cov: ``C_cov,γ ≥ 1`` (Eq. 6 / App. F.1).
      log_class_size: ``log|Π| ≥ 0``.
      rho: failure probability ``ρ ∈ (0, 1)``.
      constant: the constant hidden by ``≲`` (default 1).

    Returns:
      The bound on the fraction of prompts left unsharpened.

    Example:
      >>> round(sft_error_bound(1000, 30, 0.1, 5.0, 10.0, 0.05), 4)
      0.6292
    """
    n = check_int(n, "n", minimum=1)
    N = check_int(N, "N", minimum=1)
    delta = _unit_open(delta, "delta")
    C_cov = _at_least_one(C_cov, "C_cov")
    log_class_size = _non_negative(log_class_size, "log_class_size")
    rho = _unit_open(rho, "rho")
    constant = _constant(constant)
    N_star = N / math.log(2.0 / delta)
    statistical = _log_over_rho(log_class_size, rho) / delta / n
    return _finite(constant * (statistical + C_cov / N_star), "the SFT error bound")


def sft_sample_complexity(
    epsilon, delta, C_cov, log_class_size, rho, *, constant=1.0
) -> SFTSampleSize:
    """Sizes that make SFT-Sharpening (ε, δ)-sharpen (Theorem 4.1 / 4.1', Eq. (7)).

    ``n = c·log(|Π|/ρ)/(δε)``, ``N* = c·C_cov,γ/ε``, ``N = N*·ln(2/δ)`` and
    ``m = n·N = c²·C_cov log(|Π|/ρ) ln(2/δ) / (δ ε²)``, where ``c`` is the
    "sufficiently large absolute constant" ``C_4.1`` (``constant``), the same
    for ``n`` and ``N*``; so ``n, N*, N`` scale linearly and ``m`` quadratically
    in ``constant``. Eq. (7) writes ``log(1/δ)``; the construction gives
    ``ln(2/δ)``, which agrees up to a constant for ``δ ≤ 1/2``. (The main
    text's statement folds ``ln(2/δ)`` into its ``N*``; we follow Theorem 4.1'.)

    Args:
      epsilon: ``ε ∈ (0, 1)``.
      delta: ``δ ∈ (0, 1)``.
      C_cov: ``C_cov,γ ≥ 1``.
      log_class_size: ``log|Π| ≥ 0``.
      rho: ``ρ ∈ (0, 1)``.
      constant: ``C_4.1`` (default 1).

    Returns:
      :class:`SFTSampleSize` ``(n, N_star, N, m)`` as floats (not rounded).

    Example:
      >>> s = sft_sample_complexity(0.1, 0.1, 5.0, 10.0, 0.05)
      >>> round(s.n, 1), round(s.N_star, 1), round(s.N, 2), round(s.m)
      (1299.6, 50.0, 149.79, 194659)
    """
    epsilon = _unit_open(epsilon, "epsilon")
    delta = _unit_open(delta, "delta")
    C_cov = _at_least_one(C_cov, "C_cov")
    log_class_size = _non_negative(log_class_size, "log_class_size")
    rho = _unit_open(rho, "rho")
    constant = _constant(constant)
    n = constant * _log_over_rho(log_class_size, rho) / delta / epsilon
    N_star = constant * C_cov / epsilon
    N = N_star * math.log(2.0 / delta)
    return SFTSampleSize(
        *(_finite(v, name) for v, name in ((n, "n"), (N_star, "N_star"), (N, "N"), (n * N, "m")))
    )


def sft_parameters(epsilon, delta, C_cov, log_class_size, rho, *, constant=1.0) -> SFTParameters:
    """Integer ``(n, N*, N)`` for running SFT-Sharpening at target ``(ε, δ)`` (Theorem 4.1).

    Rounds :func:`sft_sample_complexity` up: ``n = ⌈c log(|Π|/ρ)/(δε)⌉``,
    ``N* = ⌈c C_cov/ε⌉``, ``N = ⌈N*·ln(2/δ)⌉``. ``constant`` is ``C_4.1``.
    Rounding up only lowers :func:`sft_error_bound`.

    Args:
      epsilon, delta, C_cov, log_class_size, rho, constant: as in
        :func:`sft_sample_complexity`.

    Returns:
      :class:`SFTParameters` ``(n, N_star, N)`` of Python ints.

    Example:
      >>> sft_parameters(0.1, 0.1, 5.0, 10.0, 0.05)
      SFTParameters(n=1300, N_star=50, N=150)
    """
    sizes = sft_sample_complexity(epsilon, delta, C_cov, log_class_size, rho, constant=constant)
    N_star = math.ceil(sizes.N_star)
    return SFTParameters(math.ceil(sizes.n), N_star, math.ceil(N_star * math.log(2.0 / delta)))


# ------------------------------------------------- adaptive SFT-Sharpening


class AdaptiveSFTSampleSize(NamedTuple):
    """Prompts and expected total queries of adaptive SFT-Sharpening (Theorem D.1)."""

    n: float
    expected_m: float


def adaptive_sft_error_bound(n, delta, log_class_size, rho, *, constant=1.0) -> float:
    """Error bound of adaptive SFT-Sharpening: ``≲ log(|Π|/ρ)/(δ n)`` (Theorem D.1).

    With ``μ = ln(2/δ)`` and the class realizing the adaptive best-of-N law
    (Assumption D.1), with probability ``≥ 1 - ρ``
    ``P_x[π̂(y*(x)|x) ≤ 1 - δ] ≲ log(|Π|/ρ)/(δ n)``; no coverage term.
    Hidden constant: ``constant`` (the proof's is ``2/c_H``, Eq. (19)).

    Args:
      n: number of prompts, integer ``≥ 1``.
      delta: ``δ ∈ (0, 1)``.
      log_class_size: ``log|Π| ≥ 0``.
      rho: ``ρ ∈ (0, 1)``.
      constant: the constant hidden by ``≲`` (default 1).

    Returns:
      The bound on the fraction of prompts left unsharpened.

    Example:
      >>> round(adaptive_sft_error_bound(1000, 0.1, 10.0, 0.05), 4)
      0.13
    """
    n = check_int(n, "n", minimum=1)
    delta = _unit_open(delta, "delta")
    log_class_size = _non_negative(log_class_size, "log_class_size")
    rho = _unit_open(rho, "rho")
    constant = _constant(constant)
    return _finite(constant * _log_over_rho(log_class_size, rho) / delta / n, "the error bound")


def adaptive_sft_expected_samples(n, delta, C_bar_cov) -> float:
    """Expected queries of adaptive SFT-Sharpening: ``E[m] ≤ n (1 + ln(2/δ)) C̄_cov`` (Theorem D.1).

    From the proof of Theorem D.1 with Lemma I.1 (``E[N_μ] ≤ (μ + 1)/P*``):
    an explicit inequality, no hidden constant. ``C̄_cov = E_x[1/max_y π_base(y|x)]``.

    Args:
      n: number of prompts, integer ``≥ 0``.
      delta: ``δ ∈ (0, 1)``; ``μ = ln(2/δ)``.
      C_bar_cov: adaptive coverage ``C̄_cov ≥ 1``.

    Returns:
      The upper bound on ``E[m]``.

    Example:
      >>> round(adaptive_sft_expected_samples(100, 0.1, 3.0), 2)
      1198.72
    """
    n = check_int(n, "n", minimum=0)
    mu_stop = adaptive_mu_stop(delta)
    C_bar_cov = _at_least_one(C_bar_cov, "C_bar_cov")
    return _finite(n * (1.0 + mu_stop) * C_bar_cov, "E[m]")


def adaptive_sft_sample_complexity(
    epsilon, delta, C_bar_cov, log_class_size, rho, *, constant=1.0
) -> AdaptiveSFTSampleSize:
    """Prompts and expected queries for (ε, δ)-sharpening by adaptive SFT (Theorem D.1).

    ``n = c·log(|Π|/ρ)/(δε)`` (``constant`` is the ``c`` of ``n ≳ …``) and
    ``E[m] ≤ n (1 + ln(2/δ)) C̄_cov = O(C̄_cov log(|Π|/ρ) log(1/δ)/(δε))`` —
    ``1/ε`` instead of SFT's ``1/ε²``.

    Args:
      epsilon: ``ε ∈ (0, 1)``.
      delta: ``δ ∈ (0, 1)``.
      C_bar_cov: ``C̄_cov ≥ 1``.
      log_class_size: ``log|Π| ≥ 0``.
      rho: ``ρ ∈ (0, 1)``.
      constant: the constant in ``n`` (default 1).

    Returns:
      :class:`AdaptiveSFTSampleSize` ``(n, expected_m)`` as floats.

    Example:
      >>> s = adaptive_sft_sample_complexity(0.1, 0.1, 3.0, 10.0, 0.05)
      >>> round(s.n, 1), round(s.expected_m)
      (1299.6, 15578)
    """
    epsilon = _unit_open(epsilon, "epsilon")
    delta = _unit_open(delta, "delta")
    C_bar_cov = _at_least_one(C_bar_cov, "C_bar_cov")
    log_class_size = _non_negative(log_class_size, "log_class_size")
    rho = _unit_open(rho, "rho")
    constant = _constant(constant)
    n = _finite(constant * _log_over_rho(log_class_size, rho) / delta / epsilon, "n")
    expected_m = n * (1.0 + adaptive_mu_stop(delta)) * C_bar_cov
    return AdaptiveSFTSampleSize(n, _finite(expected_m, "E[m]"))
