"""Exact law of best-of-N and Proposition C.1 (Section 3.1, SPEC §6).

* :func:`best_of_n_law`: the exact law ``π^BoN_N`` as a ``TabularPolicy``
  (any reward that is a fixed function of ``(x, y)``), in log space, so that
  ``N = 10^6`` and masses of ``1e-300`` are handled without cancellation;
  its log-space kernels are reused by the exact adaptive best-of-N law;
* :func:`bon_failure_probability` / :func:`bon_sufficient_n`: Proposition C.1.

References:
  Huang et al., "Self-Improvement in Language Models: The Sharpening
  Mechanism", ICLR 2025 (arXiv 2412.01951): Section 3.1, Proposition C.1.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

from .._validation import check_int, check_real
from ..measures import mode_mask
from ..policies.base import tie_group_starts
from ..policies.tabular import TabularPolicy, as_tabular
from ..rewards import LogLikelihoodReward, resolve_reward, reward_table
from ._bon_common import TIE_BREAKS, _check_choice

__all__ = ["best_of_n_law", "bon_failure_probability", "bon_sufficient_n"]


#: Exact laws process rows in blocks of about this many table entries.
_BLOCK_ELEMENTS = 1 << 16
_LOG_HALF = math.log(0.5)


# --------------------------------------------------------------------------- validation


def _check_n(n, name: str) -> float:
    """A positive integer number of draws, returned as a float for the power laws."""
    n = check_int(n, name, minimum=1)
    try:
        return float(n)
    except OverflowError:
        raise ValueError(
            f"{name} must be at most {np.finfo(float).max:.3g}; got a {n.bit_length()}-bit integer"
        ) from None


# --------------------------------------------------------------------------- log-space kernels


def _log1mexp(z: np.ndarray) -> np.ndarray:
    """``log(1 - e^z)`` for ``z <= 0``, accurate at both ends (``-inf`` at 0, ``0`` at ``-inf``)."""
    z = np.minimum(np.asarray(z, dtype=float), 0.0)
    out = np.empty_like(z)
    near = z > _LOG_HALF
    far = ~near
    with np.errstate(divide="ignore"):
        # expm1 near 0, log1p(-exp) far from 0: each branch is exact where it is used,
        # and each is evaluated only there.
        np.expm1(z, out=out, where=near)
        np.negative(out, out=out, where=near)
        np.log(out, out=out, where=near)
        np.exp(z, out=out, where=far)
        np.negative(out, out=out, where=far)
        np.log1p(out, out=out, where=far)
    return out


def _log_power_difference(log_upper: np.ndarray, log_gap: np.ndarray, power) -> np.ndarray:
    """``log(F^n - (F - m)^n)`` from ``log F`` and ``log m`` (``0 <= m <= F``), without cancellation.

    ``F^n - (F-m)^n = F^n · (1 - (1 - m/F)^n)``; the last factor is
    ``-expm1(n·log1p(-m/F))``, exact even when ``m/F`` is ``1e-300`` or ``n = 10^6``.
    ``m = 0`` gives ``-inf``.
    """
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        z = log_gap - log_upper  # NaN where both are -inf: fixed at the end
        np.exp(z, out=z)
        # m/F ≤ 1 mathematically; the min only absorbs the last-ulp rounding of the two sums.
        np.minimum(z, 1.0, out=z)
        np.negative(z, out=z)
        np.log1p(z, out=z)
        z *= power
        out = _log1mexp(z)
        out += power * log_upper  # log F^n (0 when F = 1)
    out[~(log_gap > -np.inf)] = -np.inf
    return out


def _group_log_mass(log_probs: np.ndarray, new_group: np.ndarray) -> np.ndarray:
    """Log-mass of the run of equal keys each entry belongs to (rows sorted; runs never span rows)."""
    if new_group.all():
        return log_probs
    flat = log_probs.ravel()
    starts = np.flatnonzero(new_group.ravel())
    group_id = np.cumsum(new_group.ravel()) - 1
    peak = np.maximum.reduceat(flat, starts)
    shift = np.where(peak > -np.inf, peak, 0.0)
    with np.errstate(divide="ignore"):
        mass = np.log(np.add.reduceat(np.exp(flat - shift[group_id]), starts)) + shift
    return mass[group_id].reshape(log_probs.shape)


def _run_bounds(new_group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last column of the run each entry belongs to, int ``[R, Y]`` each."""
    n_cols = new_group.shape[1]
    cols = np.arange(n_cols)
    if new_group.all():  # no ties: every entry is its own run
        bounds = np.broadcast_to(cols, new_group.shape)
        return bounds, bounds
    start = np.maximum.accumulate(np.where(new_group, cols, 0), axis=1)
    is_end = np.ones_like(new_group)
    is_end[:, :-1] = new_group[:, 1:]
    end = np.minimum.accumulate(np.where(is_end, cols, n_cols)[:, ::-1], axis=1)[:, ::-1]
    return start, end


def _log_running_sums(lp: np.ndarray, ascending: bool = False) -> np.ndarray:
    """``log Σ_{j≤i} exp(lp_j)`` along rows.

    Summed in linear space after scaling by the row maximum (fast); rows whose
    positive entries span more than 700 nats would underflow there and are
    redone exactly with ``logaddexp.accumulate``. ``ascending=True`` promises
    sorted rows, so the smallest positive entry is the first finite one.
    """
    if lp.shape[1] == 0:
        return lp.copy()
    top = np.max(lp, axis=1, keepdims=True)
    top = np.where(top > -np.inf, top, 0.0)  # a row of zero masses sums to -inf either way
    with np.errstate(divide="ignore"):
        out = lp - top
        np.exp(out, out=out)
        np.cumsum(out, axis=1, out=out)
        np.log(out, out=out)
        out += top
    if ascending:
        first = lp[
            np.arange(lp.shape[0]), np.minimum(np.sum(lp == -np.inf, axis=1), lp.shape[1] - 1)
        ]
        wide = (first - top[:, 0] < -700.0) & (first > -np.inf)
    else:
        wide = np.any((lp - top < -700.0) & (lp > -np.inf), axis=1)
    if wide.any():
        out[wide] = np.logaddexp.accumulate(lp[wide], axis=1)
    return out


def _log_cdf_parts(sorted_lp: np.ndarray):
    """Inclusive prefix log-mass ``log S_i`` and exclusive suffix log-mass ``log(1 - S_i)`` of sorted rows.

    ``log S_i`` switches to ``log1p(-suffix)`` above 1/2, so the top of the CDF
    is exactly 1 and ``F^N`` for huge ``N`` is not thrown off by the last ulp of
    the row sum.
    """
    prefix = _log_running_sums(sorted_lp)
    suffix = np.empty_like(sorted_lp)
    suffix[:, -1] = -np.inf
    # Summed from the top down, the running sum never drops below its first term: no underflow check.
    suffix[:, :-1] = _log_running_sums(sorted_lp[:, :0:-1])[:, ::-1]
    with np.errstate(divide="ignore"):
        upper = np.log1p(-np.exp(np.minimum(suffix, 0.0)))
    return np.where(prefix > _LOG_HALF, upper, prefix), suffix


def _log_cdf(sorted_lp: np.ndarray, ascending: bool = False) -> np.ndarray:
    """The first output of :func:`_log_cdf_parts`, computing the suffix sums only above 1/2.

    The prefix is non-decreasing, so the entries above 1/2 form a tail of each
    row; the suffix is summed over the union of those tails only.
    """
    out = _log_running_sums(sorted_lp, ascending)
    above = out > _LOG_HALF
    if not above.any():
        return out
    j0 = int(np.min(np.where(above.any(axis=1), above.argmax(axis=1), sorted_lp.shape[1])))
    tail = sorted_lp[:, j0:]
    suffix = np.empty_like(tail)
    suffix[:, -1] = -np.inf
    suffix[:, :-1] = _log_running_sums(tail[:, :0:-1])[:, ::-1]
    with np.errstate(divide="ignore"):
        np.minimum(suffix, 0.0, out=suffix)
        np.exp(suffix, out=suffix)
        np.negative(suffix, out=suffix)
        np.log1p(suffix, out=suffix)
    out[:, j0:] = np.where(above[:, j0:], suffix, out[:, j0:])
    return out


def _sorted_by_reward(log_probs, rewards, tie_break):
    """Sort rows by reward; flag the start of each tie group (see :data:`~sharpsim.policies.base.TIE_RTOL`).

    ``rewards=None`` means the log-likelihood reward: the sorted rewards are then
    the sorted log-probabilities (one gather saved). Groups are formed from the
    top (:func:`~sharpsim.policies.base.tie_group_starts`), so log-probabilities
    or rewards equal up to rounding tie. For ``'index'`` the smallest index of a
    group wins, so within a group entries are reordered by descending index and
    every entry becomes its own group.
    """
    order = np.argsort(log_probs if rewards is None else rewards, axis=1)
    sorted_lp = np.take_along_axis(log_probs, order, axis=1)
    sorted_r = sorted_lp if rewards is None else np.take_along_axis(rewards, order, axis=1)
    new_group = tie_group_starts(sorted_r)
    if tie_break == "index":
        if not new_group.all():
            group = np.cumsum(new_group, axis=1)
            within = np.lexsort((-order, group), axis=1)  # by group, then descending index
            order = np.take_along_axis(order, within, axis=1)
            sorted_lp = np.take_along_axis(sorted_lp, within, axis=1)
        new_group = np.ones(log_probs.shape, dtype=bool)
    return order, sorted_lp, new_group


def _unsort(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    out = np.empty_like(values)
    np.put_along_axis(out, order, values, axis=1)
    return out


def _spread_in_group(log_group_law, sorted_lp, log_group_mass):
    """Split each group's law over its members ∝ π (zero-mass members get ``-inf``)."""
    with np.errstate(invalid="ignore"):
        return np.where(sorted_lp > -np.inf, log_group_law + sorted_lp - log_group_mass, -np.inf)


def _bon_log_law(log_probs: np.ndarray, rewards, n: float, tie_break: str) -> np.ndarray:
    """Exact log-law of best-of-n for rows ``[R, Y]`` (see :func:`best_of_n_law`); ``rewards=None``: log-likelihood."""
    order, lp, new_group = _sorted_by_reward(log_probs, rewards, tie_break)
    log_cdf = _log_cdf(lp, ascending=rewards is None)
    if new_group.all():  # no ties: each response is its own group, F_G = S_i and m_G = π_i
        return _unsort(_log_power_difference(log_cdf, lp, n), order)
    members, run_start, run_end = _tied_runs(new_group)
    flat_cdf, flat_lp = log_cdf.ravel(), lp.ravel()
    log_upper, log_mass = log_cdf, lp.copy()
    log_upper.ravel()[members] = flat_cdf[run_end]
    group_mass = _runs_log_mass(flat_lp[members], run_start)
    log_mass.ravel()[members] = group_mass
    law = _log_power_difference(log_upper, log_mass, n)
    # Split each group's law over its members ∝ π (zero-mass members get -inf).
    flat_law = law.ravel()
    with np.errstate(invalid="ignore"):
        flat_law[members] = np.where(
            flat_lp[members] > -np.inf, flat_law[members] + flat_lp[members] - group_mass, -np.inf
        )
    return _unsort(law, order)


def _tied_runs(new_group: np.ndarray):
    """Flat indices of the entries in groups of two or more, and for each its group's first and last flat index.

    Rows are sorted, so a group is a run of consecutive columns (never spanning rows).
    """
    flat = new_group.ravel()
    cont = np.flatnonzero(~flat)  # entries that continue the run before them
    members = np.union1d(cont - 1, cont)
    is_first = flat[members]
    run_id = np.cumsum(is_first) - 1
    is_last = np.ones(members.shape, dtype=bool)
    is_last[:-1] = is_first[1:]
    lasts = members[is_last]
    return members, np.flatnonzero(is_first), lasts[run_id]


def _runs_log_mass(lp: np.ndarray, run_start: np.ndarray) -> np.ndarray:
    """Log of the summed mass of each run of ``lp`` (runs begin at ``run_start``), repeated for every member."""
    peak = np.maximum.reduceat(lp, run_start)
    shift = np.where(peak > -np.inf, peak, 0.0)
    run_id = np.cumsum(np.isin(np.arange(lp.shape[0]), run_start)) - 1
    with np.errstate(divide="ignore"):
        mass = np.log(np.add.reduceat(np.exp(lp - shift[run_id]), run_start)) + shift
    return mass[run_id]


def _by_row_blocks(kernel, *tables) -> np.ndarray:
    """Apply a row-wise kernel block by block so temporaries stay bounded; results fill one array."""
    n_rows, n_cols = tables[0].shape
    step = max(1, _BLOCK_ELEMENTS // n_cols)
    first = kernel(*(t[:step] for t in tables))  # an empty table still goes through the kernel once
    out = np.empty((n_rows,) + first.shape[1:], dtype=first.dtype)
    out[: first.shape[0]] = first
    for i in range(step, n_rows, step):
        out[i : i + step] = kernel(*(t[i : i + step] for t in tables))
    return out


# --------------------------------------------------------------------------- exact law


def best_of_n_law(pi, n, reward=None, tie_break="first") -> TabularPolicy:
    """Exact law ``π^BoN_n(·|x)`` of best-of-``n`` (Section 3.1, SPEC §6).

    Responses are ordered by reward. For a tie group ``G`` (responses whose
    rewards are equal up to the package's tie rule, :data:`~sharpsim.policies.base.TIE_RTOL`,
    groups formed from the top; CONTRIBUTING.md, "Ties" — so sequences whose
    masses are equal products of different conditionals tie), with ``F_G`` the base mass of rewards ``≤ r(G)`` and ``F_<G``
    the mass strictly below, ``P(pick ∈ G) = F_G^n - F_<G^n`` (every draw has
    reward ``≤ r(G)``, not all strictly below). Within ``G`` the pick is split
    ``∝ π``: this is exact for ``tie_break="first"`` (the first draw among the
    maximal ones is returned). Proof: condition on the maximal group being
    ``G`` and on the position ``j`` of the first draw landing in ``G``; the
    event constrains draw ``j`` only through ``y_j ∈ G`` (draws before ``j``
    lie strictly below, draws after are ``≤``, all independent of ``y_j``), so
    ``y_j`` has law ``π(·|x)`` restricted to ``G``, i.e. ``∝ π`` within ``G``.
    (Any rule that is symmetric in the draw order, such as a uniform choice
    among the tied draws, has the same law.) ``tie_break="index"`` returns the
    tied draw of smallest response index, which refines the order by index:
    every response is its own group.

    Only rewards that are fixed functions of ``(x, y)`` have this law; for
    :class:`~sharpsim.rewards.MajorityVoteReward` it is the law under the
    *population* majority reward (its ``table``).

    Computed in log space, ``log F^n + log(1 - (1 - m_G/F_G)^n)`` with
    ``log1p``/``expm1``, so ``n = 10^6`` and masses of ``1e-300`` are exact.

    Args:
      pi: base policy ``[n_contexts, n_responses]`` (tabular or with ``to_tabular()``).
      n: number of draws ``N >= 1``.
      reward: ``None`` (log-likelihood, Eq. 2), a reward object with ``table``,
        or an array ``[n_contexts, n_responses]``.
      tie_break: ``"first"`` or ``"index"``.

    Returns:
      :class:`~sharpsim.TabularPolicy` ``[n_contexts, n_responses]``. ``n = 1``
      gives ``π``; as ``n → ∞`` it tends to ``π`` restricted to the reward's
      argmax set.

    Example:
      >>> import sharpsim as ss
      >>> pi = ss.TabularPolicy([[0.5, 0.3, 0.2]])
      >>> ss.best_of_n_law(pi, 2).probs.round(4).tolist()
      [[0.75, 0.21, 0.04]]
    """
    tab = as_tabular(pi, "pi")
    n = _check_n(n, "n")
    tie_break = _check_choice(tie_break, "tie_break", TIE_BREAKS)
    law = _law_rows(tab, pi, resolve_reward(reward), n, tie_break)
    return TabularPolicy.from_log_probs(law)


def _law_rows(tab, base, reward, n: float, tie_break: str, rows=None) -> np.ndarray:
    """Log-law ``[R, Y]`` of best-of-n for the prompts ``rows`` (default: all) of ``tab``."""
    log_probs = tab.log_probs if rows is None else tab.log_probs[rows]
    if type(reward) is LogLikelihoodReward:  # the sorted rewards are the sorted log-probs
        return _by_row_blocks(lambda lp: _bon_log_law(lp, None, n, tie_break), log_probs)
    rewards = reward_table(reward, base, tab.n_contexts, tab.n_responses)
    rewards = rewards if rows is None else rewards[rows]
    return _by_row_blocks(lambda lp, r: _bon_log_law(lp, r, n, tie_break), log_probs, rewards)


# --------------------------------------------------------------------------- Proposition C.1


def bon_failure_probability(pi, N, gamma=0.0) -> np.ndarray:
    """Probability that best-of-``N`` misses ``y*_γ(x)``: ``(1 - π(y*_γ(x)|x))^N`` (Proposition C.1).

    Exact for the log-likelihood reward (the BoN pick is in ``y*_γ(x)`` iff
    some draw is). Computed as ``exp(N·log π(not y*_γ(x)|x))`` with the off-mode
    mass summed directly, so it stays accurate when the mode mass is near 1.

    Args:
      pi: base policy ``[n_contexts, n_responses]``.
      N: number of draws ``>= 1``.
      gamma: approximation level ``γ ∈ [0, 1)`` of ``y*_γ`` (App. F.1).

    Returns:
      float array ``[n_contexts]``.

    Example:
      >>> import sharpsim as ss
      >>> bon_failure_probability(ss.TabularPolicy([[0.5, 0.3, 0.2]]), 3).round(6).tolist()
      [0.125]
    """
    tab = as_tabular(pi, "pi")
    N = _check_n(N, "N")
    off_mode = np.where(mode_mask(tab, gamma), -np.inf, tab.log_probs)
    log_off = logsumexp(off_mode, axis=1)
    with np.errstate(invalid="ignore"):
        return np.exp(np.where(log_off > -np.inf, N * log_off, -np.inf))


def bon_sufficient_n(pi, rho, gamma=0.0) -> np.ndarray:
    """Draws that Proposition C.1 says suffice: ``N(x) = ⌈log(1/ρ) / π(y*_γ(x)|x)⌉``.

    With this ``N``, best-of-``N`` returns an element of ``y*_γ(x)`` with
    probability ``≥ 1 - ρ`` (the bound ``(1-m)^N ≤ e^{-Nm}``).

    Args:
      pi: base policy ``[n_contexts, n_responses]``.
      rho: failure probability ``ρ ∈ (0, 1)``.
      gamma: approximation level ``γ ∈ [0, 1)``.

    Returns:
      int64 array ``[n_contexts]`` (at most ``log(1/ρ)·n_responses``).

    Example:
      >>> import sharpsim as ss
      >>> bon_sufficient_n(ss.TabularPolicy([[0.5, 0.3, 0.2]]), 0.01).tolist()
      [10]
    """
    tab = as_tabular(pi, "pi")
    rho = check_real(rho, "rho", low=0.0, high=1.0, low_open=True, high_open=True)
    log_mode = logsumexp(np.where(mode_mask(tab, gamma), tab.log_probs, -np.inf), axis=1)
    return np.ceil(np.exp(math.log(-math.log(rho)) - log_mode)).astype(np.int64)
