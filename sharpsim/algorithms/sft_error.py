"""The exact expected sharpening error of SFT with the tabular class (Thm 4.1, Prop. C.1, Thm D.1).

The tabular MLE at a visited prompt is the empirical law of its picks, so the
error is a finite binomial sum over visit counts: :func:`expected_sft_error`
(plain SFT), :func:`expected_adaptive_sft_error` (adaptive SFT),
:func:`sft_error_plateau` (the ``n → ∞`` limit) and :func:`bon_mode_mass`
(the pick's mass on the mode set, ``q_x``).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy import stats
from scipy.special import logsumexp, xlogy

from .._validation import check_int, check_mu, check_real
from ..inference.adaptive_bon import (
    adaptive_best_of_n_expected_samples,
    adaptive_best_of_n_law,
)
from ..inference.bon_law import best_of_n_law
from ..measures import mode_mask
from ..policies import as_tabular
from ..policies.base import reach_threshold, tied
from ..rewards import LogLikelihoodReward
from .parameters import adaptive_mu_stop

#: Largest number of visit counts evaluated at once by expected_sft_error (bounded memory).
_CELLS_PER_CHUNK = 1 << 20

#: Most (prompt, visit-count) binomial terms one expected_sft_error call evaluates (about 40 s);
#: beyond it the call raises ValueError before any work (see ``_seen_error``).
MAX_VISIT_CELLS = 10**8

_EXACT_FLOAT_INT = 2**53

#: Binomial tail mass below which visit counts are skipped (below double-precision resolution).
_TAIL = 1e-300


def expected_sft_error(
    base,
    n: int,
    N: int,
    delta: float,
    mu=None,
    gamma: float = 0.0,
    unseen: str = "uniform",
    reward=None,
    tie_break: str = "first",
) -> float:
    """Exact expected sharpening error of SFT-Sharpening with the tabular class.

    The tabular MLE at a visited prompt is the empirical law of its BoN picks,
    so with ``V_x ~ Binomial(n, μ(x))`` visits and ``K | V_x = v ~ Binomial(v, q_x)``
    picks inside ``y*_γ(x)``, where ``q_x = π^BoN_N(y*_γ(x)|x)``
    (``= 1 − (1 − π_base(y*_γ(x)|x))^N`` for the log-likelihood reward,
    Proposition C.1), the error at ``x`` is the event ``K/v < 1 − δ``:

        E[err] = Σ_x μ(x) [ P(V_x=0)·e0(x) + Σ_{v≥1} P(V_x=v)·P(K ≤ ⌈(1−δ)v⌉ − 1) ].

    Thresholds follow the package's rule (CONTRIBUTING.md, "Ties"): ``δ`` is the
    rational it prints as (``0.3`` is ``3/10``), so ``⌈(1−δ)v⌉`` and
    ``|y*_γ(x)|/|Y| < 1−δ`` are exact integer comparisons; a computed ``q_x``
    within :data:`~sharpsim.policies.base.TIE_RTOL` of ``1 − δ`` is taken to be
    ``1 − δ``. Unvisited prompts follow the class's rule:
    ``unseen="base"`` keeps ``π_base`` (``e0 = 1[π_base(y*_γ|x) < 1−δ]``, the
    threshold rule of ``sharpening_error``), ``"uniform"`` the uniform law
    (``e0 = 1[|y*_γ(x)|/|Y| < 1−δ]``, exact).
    Cost at most ``O(|X|·√n)`` binomial terms, in memory-bounded chunks; counts
    past the one where the error settles (Chernoff) are summed in closed form.

    Args:
      base: tabular (or enumerable) base policy ``[n_contexts, n_responses]``.
      n, N: prompts and responses per prompt (``>= 1``).
      delta: sharpening level ``δ ∈ (0, 1)`` (Definition 3.1).
      mu: prompt distribution; ``None`` is uniform.
      gamma: approximate-mode level ``γ ∈ [0, 1)`` (Definition F.1).
      unseen: ``"uniform"`` (default, as ``TabularClass``) or ``"base"``.
      reward: self-reward (``None``: log-likelihood); other rewards use the
        exact ``best_of_n_law``.
      tie_break: tie rule passed to ``best_of_n_law`` for non-default rewards.

    Returns:
      ``E[P_{x~μ}[π̂(y*_γ(x)|x) < 1 − δ]]`` over the SFT data, a float in ``[0, 1]``.

    Raises:
      ValueError: more than ``MAX_VISIT_CELLS`` binomial terms would be needed
        (``q_x`` on or very near ``1 − δ`` with a huge ``n``), or ``n > 2**53``
        with any needed; raised before any work. Away from the boundary a huge
        ``n`` costs nothing: the error settles and the rest is a closed form.

    Example:
      >>> import sharpsim as ss
      >>> base = ss.TabularPolicy([[0.5, 0.5], [0.9, 0.1]])
      >>> round(ss.expected_sft_error(base, 1, 1, 0.5, unseen="uniform"), 6)   # ½·½·0.1
      0.025
    """
    pi = as_tabular(base, "base")
    n = check_int(n, "n", minimum=1)
    mu, delta, mask, q = _prepare(pi, N, delta, mu, gamma, reward, tie_break)
    return _expected_error(pi, n, mu, delta, mask, q, unseen)


def expected_adaptive_sft_error(
    base,
    n: int,
    delta: float,
    mu=None,
    gamma: float = 0.0,
    unseen: str = "uniform",
    mu_stop: float | None = None,
) -> tuple[float, float]:
    """Exact expected error and expected queries of adaptive SFT with the tabular class (Theorem D.1).

    The same binomial sum as :func:`expected_sft_error`, with
    ``q_x = π^AdaBoN_μ(y*_γ(x)|x)`` from the exact adaptive law
    (``adaptive_best_of_n_law``, log-likelihood reward) and
    ``E[m] = n·Σ_x μ(x)·E[N_μ(x)]`` from ``adaptive_best_of_n_expected_samples``.

    Args:
      base, n, delta, mu, gamma, unseen: as in :func:`expected_sft_error`.
      mu_stop: stopping parameter (``None``: ``ln(2/δ)`` as in Theorem D.1).

    Returns:
      ``(expected_error, expected_queries)``.

    Example:
      >>> import sharpsim as ss
      >>> err, m = ss.expected_adaptive_sft_error(ss.TabularPolicy([[0.9, 0.1]]), 10, 0.5)
      >>> round(err, 6), round(m, 4)   # E[N_μ] = 2 + Σ_{k=2}^{13} 0.1^k per prompt
      (0.0, 20.1111)
    """
    pi = as_tabular(base, "base")
    n = check_int(n, "n", minimum=1)
    delta = check_real(delta, "delta", low=0.0, high=1.0, low_open=True, high_open=True)
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0, high_open=True)
    mu = check_mu(mu, pi.n_contexts)
    mu_stop = (
        adaptive_mu_stop(delta)
        if mu_stop is None
        else check_real(mu_stop, "mu_stop", low=0.0, low_open=True)
    )
    mask = mode_mask(pi, gamma)
    law = adaptive_best_of_n_law(pi, mu_stop)
    q = np.exp(logsumexp(np.where(mask, law.log_probs, -np.inf), axis=1))
    queries = n * float(mu @ adaptive_best_of_n_expected_samples(pi, mu_stop))
    return _expected_error(pi, n, mu, delta, mask, q, unseen), queries


def _decimal(value: float) -> Fraction:
    """The rational a float parameter stands for: the decimal it prints as (``0.3`` is ``3/10``)."""
    return Fraction(repr(float(value)))


def _snap_to_level(q: np.ndarray, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """``q`` with entries tied with ``1 − δ`` (TIE_RTOL, in log space) set to ``1 − δ``, and the tie mask."""
    level = float(1 - _decimal(delta))
    with np.errstate(divide="ignore"):
        at_level = tied(np.log(q), np.log(level))
    return np.where(at_level, level, q), at_level


def _expected_error(pi, n, mu, delta, mask, q, unseen) -> float:
    """``Σ_x μ(x)[P(V_x=0)·e0(x) + Σ_{v≥1} P(V_x=v)·P(Bin(v, q_x) < ⌈(1−δ)v⌉)]``."""
    _check_choice(unseen, "unseen", ("base", "uniform"))
    q, _ = _snap_to_level(q, delta)
    seen = _seen_error(n, mu, q, 1 - _decimal(delta))
    unseen_err = _unseen_error(pi, mask, delta, unseen)
    with np.errstate(divide="ignore"):
        p_unseen = np.exp(n * np.log1p(-mu))  # (1 - μ(x))^n, exactly 0 when μ(x) = 1
    return float(np.sum(mu * (seen + p_unseen * unseen_err)))


def sft_error_plateau(
    base, N: int, delta: float, mu=None, gamma: float = 0.0, reward=None, tie_break: str = "first"
) -> float:
    """The ``n → ∞`` limit of :func:`expected_sft_error` at fixed ``N``.

    Every prompt with ``μ(x) > 0`` is visited infinitely often and ``K/v → q_x``
    almost surely, so the error at ``x`` tends to ``1`` when ``q_x < 1 − δ`` and
    to ``0`` when ``q_x > 1 − δ``. On the boundary ``q_x = 1 − δ`` the central
    limit theorem gives ``P(K < v·q_x) → 1/2``. The boundary is decided by the
    package's threshold rule (CONTRIBUTING.md, "Ties"): ``δ`` is the decimal it
    prints as and a computed ``q_x`` within :data:`~sharpsim.policies.base.TIE_RTOL`
    of ``1 − δ`` (in log space) is on it, exactly as in :func:`expected_sft_error`:

        plateau = Σ_x μ(x)·(1[q_x < 1−δ] + ½·1[q_x = 1−δ]),

    the BoN law's own ``δ``-error, an irreducible floor of SFT at this ``N``.

    Example:
      >>> import sharpsim as ss
      >>> base = ss.TabularPolicy([[0.5, 0.5], [0.9, 0.1]])
      >>> ss.sft_error_plateau(base, 1, 0.05)   # q = 0.9 < 0.95 at the second prompt
      0.5
    """
    pi = as_tabular(base, "base")
    mu, delta, _, q = _prepare(pi, N, delta, mu, gamma, reward, tie_break)
    q, at_level = _snap_to_level(q, delta)
    below = (q < float(1 - _decimal(delta))) & ~at_level
    return float(np.sum(mu * (below + 0.5 * at_level)))


def bon_mode_mass(
    base, N: int, gamma: float = 0.0, reward=None, tie_break: str = "first"
) -> np.ndarray:
    """``q_x = π^BoN_N(y*_γ(x)|x)`` for every prompt, float array ``[n_contexts]``.

    For the log-likelihood reward a pick lands in ``y*_γ(x)`` iff some draw
    does, so ``q_x = 1 − π_base(Y∖y*_γ(x)|x)^N`` (Proposition C.1), computed as
    ``−expm1(N·log π_base(Y∖y*_γ|x))`` from the log-mass outside the mode set,
    which stays accurate when ``q_x`` is close to 1. Other rewards sum the
    exact ``best_of_n_law`` over ``y*_γ(x)``.

    Example:
      >>> import sharpsim as ss
      >>> bon_mode_mass(ss.TabularPolicy([[0.5, 0.25, 0.25]]), 2).tolist()
      [0.75]
    """
    pi = as_tabular(base, "base")
    N = check_int(N, "N", minimum=1)
    mask = mode_mask(pi, gamma)
    return _bon_mode_mass(pi, N, mask, reward, tie_break)


def _bon_mode_mass(pi, N: int, mask: np.ndarray, reward, tie_break: str) -> np.ndarray:
    with np.errstate(divide="ignore"):
        if reward is None or isinstance(reward, LogLikelihoodReward):
            log_out = logsumexp(np.where(mask, -np.inf, pi.log_probs), axis=1)
            return -np.expm1(N * log_out)
        law = best_of_n_law(pi, N, reward=reward, tie_break=tie_break)
        return np.exp(logsumexp(np.where(mask, law.log_probs, -np.inf), axis=1))


def _prepare(pi, N, delta, mu, gamma, reward, tie_break):
    N = check_int(N, "N", minimum=1)
    delta = check_real(delta, "delta", low=0.0, high=1.0, low_open=True, high_open=True)
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0, high_open=True)
    mu = check_mu(mu, pi.n_contexts)
    mask = mode_mask(pi, gamma)
    return mu, delta, mask, _bon_mode_mass(pi, N, mask, reward, tie_break)


def _ceil_ratio(v: np.ndarray, frac: Fraction) -> np.ndarray:
    """``⌈frac·v⌉`` exactly, for a non-negative int array ``v`` (int64 when it cannot overflow)."""
    num, den = frac.numerator, frac.denominator
    if v.size == 0 or num * int(v.max()) < 2**62:
        return -((-num * v.astype(np.int64)) // den)
    out = -((-num * v.astype(object)) // den)
    return out.astype(np.int64)


def _seen_error(n: int, mu: np.ndarray, q: np.ndarray, level: Fraction) -> np.ndarray:
    """``Σ_{v≥1} P(V_x = v)·P(Binomial(v, q_x) < k_min(v))`` per prompt, ``[X]``, ``k_min(v) = ⌈level·v⌉``.

    ``K < k_min(v)  <=>  K/v < level = 1 − δ``; the thresholds are exact and
    computed only for the visit counts evaluated.

    Only visit counts inside :func:`_visit_window` are evaluated: what is
    skipped weighs less than ``2·_TAIL = 2e-300`` per prompt, below
    double-precision resolution, and the cost drops from ``O(|X|·n)`` to
    about ``O(|X|·√n)``. Past the count ``v₀(x)`` from which the failure
    probability is within ``_TAIL`` of its limit (Chernoff, :func:`_settled_from`),
    the remaining visits are summed in closed form (a binomial tail), so a
    huge ``n`` costs nothing when ``q_x`` is away from ``1 − δ``. The cells
    ``(x, v)`` left are evaluated as one flat, vectorised array (only the
    counts inside each prompt's own window), in chunks of ``_CELLS_PER_CHUNK``
    (bounded memory); more than :data:`MAX_VISIT_CELLS` in all is a
    ``ValueError``, raised before any work.
    """
    lo, hi = _visit_window(n, mu)
    settled, limit = _settled_from(q, level)
    top = np.minimum(hi, settled - 1)  # the counts still to evaluate one by one: [lo, top]
    cells = np.maximum(top - lo + 1, 0)
    total = int(cells.sum())
    if total > MAX_VISIT_CELLS or (total and n > _EXACT_FLOAT_INT):
        raise ValueError(
            f"n = {n} needs {total} binomial terms (visit counts at which the error has not reached its "
            f"limit); at most MAX_VISIT_CELLS = {MAX_VISIT_CELLS}, and n <= 2**53 when any are needed. "
            f"sft_error_plateau gives the n → ∞ limit"
        )
    with np.errstate(divide="ignore"):
        # P(V ≥ v₀)·limit: exact for the settled counts (their failure probability is the limit ± _TAIL)
        out = limit * stats.binom.sf(np.maximum(settled, lo) - 1, n, mu)
    out = np.where(mu > 0, out, 0.0)
    # Every (prompt, visit count) cell still to evaluate, laid out flat (prompt-major) and summed
    # per prompt by bincount, in chunks of _CELLS_PER_CHUNK cells: no loop over prompts or windows.
    todo = np.flatnonzero(cells)
    starts = np.cumsum(cells[todo]) - cells[todo]  # first flat cell of each prompt in `todo`
    for first in range(0, total, _CELLS_PER_CHUNK):
        flat = np.arange(first, min(first + _CELLS_PER_CHUNK, total))
        row = np.searchsorted(starts, flat, side="right") - 1
        x = todo[row]
        v = lo[x] + (flat - starts[row])
        p_visits = stats.binom.pmf(v, n, mu[x])
        p_fail = stats.binom.cdf(_ceil_ratio(v, level) - 1, v, q[x])
        out += np.bincount(x, weights=p_visits * p_fail, minlength=out.size)
    return out


def _settled_from(q: np.ndarray, level: Fraction) -> tuple[np.ndarray, np.ndarray]:
    """``v₀ [X]`` from which ``P(Bin(v, q) < level·v)`` is within ``_TAIL`` of its limit, and the limit ``[X]``.

    Chernoff: for ``q ≠ level`` the probability of the side away from the mean
    is at most ``exp(−v·KL(level ‖ q))``, below ``_TAIL`` once
    ``v ≥ log(1/_TAIL)/KL``; the limit is 1 for ``q < level`` and 0 above.
    On the boundary (``q = level``) nothing settles (``v₀ = ∞`` as a huge int).
    """
    lev = float(level)
    limit = (q < lev).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = xlogy(lev, lev) - xlogy(lev, q) + xlogy(1 - lev, 1 - lev) - xlogy(1 - lev, 1 - q)
        # rounding in the KL is far below the 1.01 safety factor on the count
        v0 = np.ceil(1.01 * -np.log(_TAIL) / np.where(q == lev, np.nan, kl)) + 1
    never = ~np.isfinite(v0) | (v0 > 2.0**62)
    out = np.full(q.shape, np.iinfo(np.int64).max, dtype=np.int64)
    out[~never] = v0[~never].astype(np.int64)
    return out, limit


def _visit_window(n: int, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[lo_x, hi_x]`` such that ``P(V_x < lo_x)`` and ``P(V_x > hi_x)`` are each ``≤ _TAIL``.

    Chernoff: ``P(V ≤ k) ≤ exp(−n·KL(k/n ‖ μ))`` for ``k ≤ nμ`` (and symmetrically
    above), so every ``k/n`` beyond the points where ``n·KL(t ‖ μ) = log(1/_TAIL)``
    carries a tail below ``_TAIL``. Those points are found by bisection, kept
    on their conservative side. ``μ = 0`` gives an empty window (``lo > hi``).
    """
    budget = -np.log(_TAIL) / n
    inner = np.clip(mu, 1e-300, 1 - 1e-16)

    def kl(t):
        return xlogy(t, t) - xlogy(t, inner) + xlogy(1 - t, 1 - t) - xlogy(1 - t, 1 - inner)

    # lower end: KL is decreasing on [0, μ]; keep `low` on the side where KL ≥ budget
    low, high = np.zeros_like(mu), inner.copy()
    # upper end: KL is increasing on [μ, 1]; keep `top` on the side where KL ≥ budget
    bottom, top = inner.copy(), np.ones_like(mu)
    for _ in range(80):
        mid = 0.5 * (low + high)
        far = kl(mid) >= budget
        low, high = np.where(far, mid, low), np.where(far, high, mid)
        mid = 0.5 * (bottom + top)
        far = kl(mid) >= budget
        bottom, top = np.where(far, bottom, mid), np.where(far, mid, top)
    lo = np.where(kl(np.zeros_like(mu)) >= budget, np.floor(n * low), 0).astype(np.int64)
    hi = np.where(kl(np.ones_like(mu)) >= budget, np.ceil(n * top), n).astype(np.int64)
    lo = np.where(mu == 1.0, n, np.maximum(lo, 1))
    hi = np.where(mu == 0.0, 0, np.minimum(hi, n))
    return lo, hi


def _unseen_error(pi, mask: np.ndarray, delta: float, unseen: str) -> np.ndarray:
    """Error indicator ``[X]`` of the class's fallback at prompts with no data."""
    if unseen == "uniform":
        one_minus = 1 - _decimal(delta)
        sizes = mask.sum(axis=1).astype(object)
        # |y*|/|Y| < a/b  <=>  |y*|·b < a·|Y|, in exact (Python) integers
        return (sizes * one_minus.denominator < one_minus.numerator * pi.n_responses).astype(float)
    # The threshold rule of sharpening_error: a mass within TIE_RTOL of 1 - δ reaches it.
    log_mass = logsumexp(np.where(mask, pi.log_probs, -np.inf), axis=1)
    return (log_mass < reach_threshold(float(1 - _decimal(delta)))).astype(float)


def _check_choice(value, name: str, choices: tuple) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}; got {value!r}")
