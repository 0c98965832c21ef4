"""The paper's guarantees as functions: lower bounds, error bounds, sample sizes.

One function per result of Huang et al. (ICLR 2025). Where the paper writes
``≲``, ``≳``, ``≍``, ``O(·)`` or ``Õ(·)``, the hidden absolute constant is an
explicit keyword argument (``constant=1.0`` unless said otherwise) and the
docstring names the logarithmic factors a ``Õ`` drops. A bound evaluated with
``constant=1`` is therefore a *rate*, not a number the paper proves; lay it
beside measurements with a fitted or swept constant.

Conventions:
  * ``log_class_size`` is ``log|Π|`` (natural log), never ``|Π|``; likewise
    ``log_covering_number`` is ``log N(Π, ε_disc)`` and ``log_n_responses`` is
    ``log|Y|``, so class sizes like ``exp(10⁴)`` are fine.
  * Quantities combine in log space (``log(|Π|/ρ) = log|Π| - log ρ``).
  * Results are Python floats, ints, or small NamedTuples of them; a result
    too large for a float raises ``OverflowError`` rather than returning inf.
    The best-of-N helpers also accept arrays of per-prompt mode masses.
  * Bad input raises ``ValueError``/``TypeError`` naming the argument.

References:
  Huang, Block, Foster, Rohatgi, Zhang, Simchowitz, Ash, Krishnamurthy,
  "Self-Improvement in Language Models: The Sharpening Mechanism",
  ICLR 2025, arXiv 2412.01951 (Theorems 3.1, 3.1', 4.1, 4.1', 4.2, 4.2', 4.3,
  D.1, D.2, J.1, J.2, J.3; Proposition C.1; Lemmas F.1, I.1, J.4, J.5).
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np

from .._validation import check_int, check_real

__all__ = [
    "SFTParameters",
    "SFTSampleSize",
    "AdaptiveSFTSampleSize",
    "DPOSampleSize",
    "LinearSoftmaxXPOPlan",
    "lower_bound_samples",
    "lower_bound_samples_p",
    "adaptive_lower_bound_samples",
    "sft_error_bound",
    "sft_sample_complexity",
    "sft_parameters",
    "adaptive_mu_stop",
    "adaptive_sft_error_bound",
    "adaptive_sft_expected_samples",
    "adaptive_sft_sample_complexity",
    "dpo_beta",
    "dpo_error_bound",
    "dpo_sample_complexity",
    "xpo_beta",
    "xpo_alpha",
    "xpo_regret_bound",
    "xpo_discretization",
    "xpo_iterations",
    "xpo_sample_complexity",
    "xpo_linear_softmax_norm_limit",
    "xpo_linear_softmax_plan",
    "bon_failure_probability",
    "bon_samples_needed",
    "adaptive_bon_expected_samples_bound",
    "adaptive_bon_miss_probability_bound",
    "mle_hellinger_bound",
    "linear_softmax_sec_bound",
    "linear_softmax_log_covering_number",
]


# ---------------------------------------------------------------- validation


def _unit_open(value, name: str) -> float:
    return check_real(value, name, low=0.0, high=1.0, low_open=True, high_open=True)


def _positive(value, name: str) -> float:
    return check_real(value, name, low=0.0, low_open=True)


def _non_negative(value, name: str) -> float:
    return check_real(value, name, low=0.0)


def _at_least_one(value, name: str) -> float:
    return check_real(value, name, low=1.0)


def _constant(value, name: str = "constant") -> float:
    return _positive(value, name)


def _finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise OverflowError(f"{what} does not fit in a float (got {value}); the inputs are too extreme")
    return float(value)


def _exp_finite(log_value: float, what: str) -> float:
    """``exp(log_value)``, raising the same ``OverflowError`` as :func:`_finite` past float range."""
    if log_value > math.log(np.finfo(float).max):
        raise OverflowError(f"{what} does not fit in a float (its log is {log_value:.6g}); the inputs are too extreme")
    return math.exp(log_value)


def _log_over_rho(log_size: float, rho: float) -> float:
    """``log(size/ρ)`` from ``log size`` (stays finite however large the size)."""
    return log_size - math.log(rho)


# -------------------------------------------------------------- lower bounds


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
    log_bound = math.log(constant * C_cov * log_class_size) - exponent * math.log(epsilon) - math.log(log_term)
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
    return lower_bound_samples_p(epsilon, C_cov, log_class_size, p=1, adaptive=True, constant=constant)


# ---------------------------------------------------------- SFT-Sharpening


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


def sft_sample_complexity(epsilon, delta, C_cov, log_class_size, rho, *, constant=1.0) -> SFTSampleSize:
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
    return SFTSampleSize(*(_finite(v, name) for v, name in ((n, "n"), (N_star, "N_star"), (N, "N"), (n * N, "m"))))


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


def adaptive_mu_stop(delta) -> float:
    """Stopping parameter ``μ = ln(2/δ)`` of adaptive SFT-Sharpening (Theorem D.1, Eq. (10)).

    With it, Lemma I.1 gives ``π^AdaBoN_μ(y*(x)|x) ≥ 1 - e^{-μ} = 1 - δ/2``
    for every prompt. Exact; no hidden constant.

    Args:
      delta: ``δ ∈ (0, 1)``.

    Returns:
      ``ln(2/δ)``.

    Example:
      >>> round(adaptive_mu_stop(0.1), 4)
      2.9957
    """
    delta = _unit_open(delta, "delta")
    return math.log(2.0) - math.log(delta)


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


# ------------------------------------------------- RLHF-Sharpening via DPO


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
    delta = _unit_open(delta, "delta")
    C_conc = _at_least_one(C_conc, "C_conc")
    C_loss = _at_least_one(C_loss, "C_loss")
    log_class_size = _non_negative(log_class_size, "log_class_size")
    rho = _unit_open(rho, "rho")
    gamma_margin = _positive(gamma_margin, "gamma_margin")
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
    delta = _unit_open(delta, "delta")
    C_conc = _at_least_one(C_conc, "C_conc")
    C_loss = _at_least_one(C_loss, "C_loss")
    log_class_size = _non_negative(log_class_size, "log_class_size")
    rho = _unit_open(rho, "rho")
    gamma_margin = _positive(gamma_margin, "gamma_margin")
    constant = _constant(constant)
    log_term = _log_loss_class_rho(C_loss, log_class_size, rho)
    per_unit = gamma_margin * delta * epsilon  # divided by twice, so that its square cannot underflow
    n = _finite(constant * C_conc * log_term * log_term * log_term / per_unit / per_unit, "n")
    return DPOSampleSize(n, _finite(2.0 * n, "m"))


# ------------------------------------------------- RLHF-Sharpening via XPO


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
        raise ValueError("epsilon * delta / sqrt(SEC * T) underflows to 0; epsilon_disc would leave (0, 1)")
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
    scale = _finite(_xpo_iteration_scale(epsilon, delta, beta, R_max, constant) * SEC, "the iteration scale")
    return _smallest_satisfying(lambda T: T >= scale * _xpo_log_term(log_covering_number, T, rho))


def xpo_sample_complexity(
    epsilon, delta, rho, gamma_margin, R_max, SEC, log_covering_number, log_n_responses, *, constant=1.0
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


# ------------------------------------------------ best-of-N (inference time)


def _as_float_array(values, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{name} must be a real number or array; got dtype {arr.dtype}")
    arr = arr.astype(float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def _mass_array(values, name: str, *, allow_zero: bool) -> np.ndarray:
    arr = _as_float_array(values, name)
    bad = (arr < 0) | (arr > 1) | ((arr == 0) & (not allow_zero))
    if np.any(bad):
        interval = "[0, 1]" if allow_zero else "(0, 1]"
        raise ValueError(f"{name} must lie in {interval}; got {arr[bad].ravel()[0]}")
    return arr


def _scalar_or_array(arr: np.ndarray):
    return float(arr) if arr.ndim == 0 else arr


def bon_failure_probability(mode_mass, N):
    """Exact probability that best-of-N misses ``y*_γ(x)``: ``(1 - π_base(y*_γ(x)|x))^N`` (Prop. C.1).

    Computed as ``exp(N·log1p(-p))`` so that tiny masses and huge ``N`` keep
    full precision. Exact; no hidden constant.

    Args:
      mode_mass: ``p = π_base(y*_γ(x)|x) ∈ [0, 1]``; a float or an array
        (e.g. ``[n_contexts]``, one entry per prompt).
      N: number of samples, integer ``≥ 0``.

    Returns:
      The failure probability, a float or an array shaped like ``mode_mass``.

    Example:
      >>> round(bon_failure_probability(0.25, 4), 6)
      0.316406
    """
    p = _mass_array(mode_mass, "mode_mass", allow_zero=True)
    N = check_int(N, "N", minimum=0)
    if N == 0:
        return _scalar_or_array(np.ones_like(p))
    with np.errstate(divide="ignore"):
        log_miss = np.log1p(-p)  # -inf where p == 1, giving probability 0
    return _scalar_or_array(np.exp(N * log_miss))


def bon_samples_needed(mode_mass, rho, *, exact: bool = False):
    """Best-of-N sample count for failure ``≤ ρ`` (Proposition C.1).

    Proposition C.1: ``N ≥ log(1/ρ)/π_base(y*_γ(x)|x)`` suffices; this returns
    ``⌈log(1/ρ)/p⌉``. With ``exact=True`` it returns instead the smallest
    ``N ≥ 1`` with ``(1 - p)^N ≤ ρ`` (:func:`bon_failure_probability`), which
    is never larger. No hidden constant.

    Args:
      mode_mass: ``p = π_base(y*_γ(x)|x) ∈ (0, 1]``; a float or an array.
      rho: ``ρ ∈ (0, 1)``.
      exact: return the exact minimum instead of Proposition C.1's count.

    Returns:
      The count as a float (integer-valued), or a float array.

    Example:
      >>> bon_samples_needed(0.25, 0.05), bon_samples_needed(0.25, 0.05, exact=True)
      (12.0, 11.0)
    """
    p = _mass_array(mode_mass, "mode_mass", allow_zero=False)
    rho = _unit_open(rho, "rho")
    if not isinstance(exact, bool):
        raise TypeError(f"exact must be a bool; got {type(exact).__name__}")
    log_rho = math.log(rho)
    with np.errstate(over="ignore"):
        count = np.ceil(-log_rho / p)
    if exact:
        count = _exact_bon_count(p, log_rho)
    if not np.all(np.isfinite(count)):
        raise OverflowError("mode_mass is so small that the sample count does not fit in a float")
    return _scalar_or_array(count)


def _exact_bon_count(p: np.ndarray, log_rho: float) -> np.ndarray:
    """Smallest ``N ≥ 1`` with ``N·log1p(-p) ≤ log ρ``, robust to rounding of the ratio."""
    with np.errstate(divide="ignore", over="ignore"):
        log_miss = np.log1p(-p)  # -inf where p == 1
        guess = np.maximum(np.ceil(log_rho / log_miss), 1.0)
        guess = np.where(guess * log_miss <= log_rho, guess, guess + 1.0)
        below = np.maximum(guess - 1.0, 1.0)  # N = 0 never works, and 0 * -inf is NaN
        return np.where((guess > 1.0) & (below * log_miss <= log_rho), below, guess)


def _n_modes_array(n_modes) -> np.ndarray:
    arr = np.asarray(n_modes)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"n_modes must be an integer or integer array; got dtype {arr.dtype}")
    if np.any(arr < 1):
        raise ValueError(f"n_modes must be >= 1; got {arr[arr < 1].ravel()[0]}")
    return arr.astype(float)


def adaptive_bon_expected_samples_bound(max_mass, mu_stop, n_modes=1):
    """Lemma I.1: ``E[N_μ] ≤ (μ + 1/|y*|) / P*`` for the adaptive stopping rule Eq. (10).

    ``N_μ = inf{k : 1/max_{j≤k} P(y_j) ≤ k/μ}`` and ``P* = max_y P(y)``.
    Explicit inequality; no hidden constant.

    Args:
      max_mass: ``P* ∈ (0, 1]``; a float or an array (one entry per prompt).
      mu_stop: stopping parameter ``μ > 0``.
      n_modes: ``|y*| ≥ 1``, the number of maximisers (int or int array,
        broadcast against ``max_mass``; needs ``|y*|·P* ≤ 1``).

    Returns:
      The bound on ``E[N_μ]``, a float or an array.

    Example:
      >>> round(adaptive_bon_expected_samples_bound(0.2, 3.0), 6)
      20.0
    """
    P_star = _mass_array(max_mass, "max_mass", allow_zero=False)
    mu_stop = _positive(mu_stop, "mu_stop")
    modes = _n_modes_array(n_modes)
    P_star, modes = np.broadcast_arrays(P_star, modes)
    if np.any(modes * P_star > 1.0 + 1e-12):
        raise ValueError("n_modes * max_mass must be <= 1 (the maximisers' total mass)")
    with np.errstate(over="ignore"):
        bound = (mu_stop + 1.0 / modes) / P_star
    if not np.all(np.isfinite(bound)):
        raise OverflowError("max_mass is so small that the bound does not fit in a float")
    return _scalar_or_array(bound)


def adaptive_bon_miss_probability_bound(mu_stop, n_modes=1):
    """Lemma I.1: adaptive best-of-N misses ``y*`` with probability ``≤ exp(-|y*|·μ)``.

    Holds for ``N_μ`` itself and any later stopping time. With
    ``μ = ln(2/δ)`` (:func:`adaptive_mu_stop`) and ``|y*| ≥ 1`` it is ``≤ δ/2``.
    Explicit inequality; no hidden constant.

    Args:
      mu_stop: stopping parameter ``μ > 0``.
      n_modes: ``|y*| ≥ 1`` (int or int array).

    Returns:
      The bound, a float or an array.

    Example:
      >>> round(adaptive_bon_miss_probability_bound(adaptive_mu_stop(0.1)), 6)
      0.05
    """
    mu_stop = _positive(mu_stop, "mu_stop")
    modes = _n_modes_array(n_modes)
    return _scalar_or_array(np.exp(-modes * mu_stop))


# --------------------------------------------------------- supporting lemmas


def mle_hellinger_bound(n, log_class_size, rho) -> float:
    """Lemma F.1: MLE over a finite realizable class has ``E_x[D_H²] ≤ 2 log(|Π|/ρ)/n``.

    Squared Hellinger distance without the 1/2 factor, with probability
    ``≥ 1 - ρ`` over ``n`` i.i.d. pairs. Explicit constant 2; nothing hidden.

    Args:
      n: sample size, integer ``≥ 1``.
      log_class_size: ``log|Π| ≥ 0``.
      rho: ``ρ ∈ (0, 1)``.

    Returns:
      The bound on ``E_{x~μ}[D_H²(π̂(·|x), π*(·|x))]``.

    Example:
      >>> round(mle_hellinger_bound(1000, 10.0, 0.05), 6)
      0.025991
    """
    n = check_int(n, "n", minimum=1)
    log_class_size = _non_negative(log_class_size, "log_class_size")
    rho = _unit_open(rho, "rho")
    return _finite(2.0 * _log_over_rho(log_class_size, rho) / n, "the Hellinger bound")


def linear_softmax_sec_bound(d, T, *, constant=1.0) -> float:
    """Lemma J.5: ``SEC(Π_{φ,B}, r, T, β, λ) ≲ d log(T + 1)`` for linear softmax classes.

    Valid when ``λ ≥ 4β²B² + R_max²``. ``constant`` is the constant hidden
    by ``≲`` (the elliptic-potential argument, Lemma F.2).

    Args:
      d: feature dimension, integer ``≥ 1``.
      T: horizon, integer ``≥ 1``.
      constant: the constant hidden by ``≲`` (default 1).

    Returns:
      ``constant · d · log(T + 1)``.

    Example:
      >>> round(linear_softmax_sec_bound(3, 99), 4)
      13.8155
    """
    d = check_int(d, "d", minimum=1)
    T = check_int(T, "T", minimum=1)
    constant = _constant(constant)
    return _finite(constant * d * math.log1p(T), "the SEC bound")


def linear_softmax_log_covering_number(d, B, epsilon_disc) -> float:
    """Lemma J.4: a linear softmax class has an ``ε_disc``-net of size ``(6B/ε_disc)^d``.

    Returns ``log N = d·log(6B/ε_disc)``, or ``0`` when ``6B ≤ ε_disc`` (then
    the single model ``θ = 0`` is already an ``ε_disc``-net, since every
    ``θ`` is within ``B ≤ ε_disc/2`` of it). Explicit; no hidden constant.

    Args:
      d: feature dimension, integer ``≥ 1``.
      B: norm bound ``B > 0``.
      epsilon_disc: net scale ``ε_disc > 0`` (Definition J.2).

    Returns:
      ``log N(Π_{φ,B}, ε_disc)``.

    Example:
      >>> round(linear_softmax_log_covering_number(4, 2.0, 0.1), 4)
      19.15
    """
    d = check_int(d, "d", minimum=1)
    B = _positive(B, "B")
    epsilon_disc = _positive(epsilon_disc, "epsilon_disc")
    return max(d * (math.log(6.0 * B) - math.log(epsilon_disc)), 0.0)
