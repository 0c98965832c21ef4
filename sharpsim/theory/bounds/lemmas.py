"""Best-of-N facts and supporting lemmas of Huang et al. (ICLR 2025).

Proposition C.1 (best-of-N failure probability and sample count), Lemma I.1
(adaptive best-of-N with the stopping rule Eq. (10)), Lemma F.1 (MLE
Hellinger bound), Lemma J.4 (covering number of a linear softmax class) and
Lemma J.5 (its SEC bound). The best-of-N helpers accept arrays of per-prompt
mode masses.
"""

from __future__ import annotations

import math

import numpy as np

from ..._validation import check_int
from ._checks import _constant, _finite, _log_over_rho, _non_negative, _positive, _unit_open
from .sft import adaptive_mu_stop  # noqa: F401  (used by the doctest of adaptive_bon_miss_probability_bound)

__all__ = [
    "bon_failure_probability",
    "bon_samples_needed",
    "adaptive_bon_expected_samples_bound",
    "adaptive_bon_miss_probability_bound",
    "mle_hellinger_bound",
    "linear_softmax_sec_bound",
    "linear_softmax_log_covering_number",
]


def _as_float_array(values, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
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
