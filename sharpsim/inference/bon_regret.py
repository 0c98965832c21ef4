"""Best-of-N under a proxy reward: its exact true value and regret for many N at once (SPEC §11).

Best-of-N that ranks by ``r̂`` has the exact law of :func:`~sharpsim.best_of_n_law`
with ``reward=r̂`` (tie groups of ``r̂`` split ``∝ π_ref``). Its true value is
``J_N(x) = Σ_y π^BoN_N(y|x)·r*(y|x)``. :func:`bon_true_values` sorts each row
once and evaluates every ``N`` from the same cumulative masses, so a curve of
30 values of ``N`` over ``|Y| = 10^5`` costs little more than one law
(benchmarks/bench_imperfect.py).

References:
  Huang, Block, Liu, Jiang, Krishnamurthy, Foster, ICML 2025 (arXiv 2503.21878).
"""

from __future__ import annotations

import numpy as np

from .._validation import as_real_array, check_int, check_mu
from ..policies.tabular import as_tabular
from ..reward_models import RewardModel, optimal_comparator
from .bon_law import (
    _by_row_blocks,
    _log_cdf,
    _log_power_difference,
    _runs_log_mass,
    _sorted_by_reward,
    _tied_runs,
)

__all__ = ["bon_true_values", "bon_regret_curve", "pool_bon_true_values"]


def _check_ns(ns) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(ns))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"ns must be a non-empty 1-d sequence of integers; got shape {arr.shape}")
    return np.array([float(check_int(v.item(), "ns entries", minimum=1)) for v in arr])


def _values_rows(log_probs, proxy, true, ns) -> np.ndarray:
    """True values ``[R, len(ns)]`` of best-of-N by ``proxy`` for rows ``[R, Y]``."""
    order, lp, new_group = _sorted_by_reward(log_probs, proxy, "first")
    log_upper = _log_cdf(lp)
    log_mass = lp.copy()
    if not new_group.all():
        members, run_start, run_end = _tied_runs(new_group)
        log_upper.ravel()[members] = log_upper.ravel()[run_end]
        log_mass.ravel()[members] = _runs_log_mass(lp.ravel()[members], run_start)
    r_sorted = np.take_along_axis(true, order, axis=1)
    with np.errstate(invalid="ignore"):
        # r* averaged ∝ π_ref inside each entry's tie group, weighted by the group's law below.
        share = np.where(lp > -np.inf, np.exp(lp - log_mass), 0.0) * r_sorted
    out = np.empty((lp.shape[0], ns.size))
    for j, n in enumerate(ns):
        out[:, j] = np.sum(np.exp(_log_power_difference(log_upper, log_mass, n)) * share, axis=1)
    return out


def bon_true_values(pi, reward_model: RewardModel, ns) -> np.ndarray:
    """Exact ``J(π^BoN_N)(x) = E[r*(pick)]`` of best-of-``N`` by the proxy ``r̂``, for every ``N`` in ``ns``.

    Args:
      pi: reference ``π_ref`` ``[n_contexts, n_responses]``.
      reward_model: a :class:`~sharpsim.RewardModel` (ranks by ``proxy``, scores by ``true``).
      ns: integers ``N >= 1`` (any order; up to ``10^6`` and beyond).

    Returns:
      float ``[n_contexts, len(ns)]``; equals ``reward_model.value(best_of_n_law(pi, N, reward=reward_model))``.

    Example:
      >>> import sharpsim as ss
      >>> rm = ss.RewardModel([[1.0, 0.0, 0.0]], [[0.5, 0.0, 1.0]])
      >>> bon_true_values(ss.TabularPolicy([[0.5, 0.3, 0.2]]), rm, [1, 2]).round(4).tolist()
      [[0.5, 0.55]]
    """
    tab = as_tabular(pi, "pi")
    if not isinstance(reward_model, RewardModel):
        raise TypeError(f"reward_model must be a RewardModel; got {type(reward_model).__name__}")
    reward_model._ref(tab)
    ns = _check_ns(ns)
    return _by_row_blocks(
        lambda lp, r, t: _values_rows(lp, r, t, ns),
        tab.log_probs,
        reward_model.proxy,
        reward_model.true,
    )


def bon_regret_curve(pi, reward_model: RewardModel, ns, comparator=None, mu=None) -> np.ndarray:
    """Exact regret ``E_{x∼μ}[J(π*) − J(π^BoN_N)]`` under ``r*`` for every ``N`` in ``ns``, float ``[len(ns)]``.

    Args:
      pi: reference ``π_ref``.
      reward_model: the :class:`~sharpsim.RewardModel`.
      ns: integers ``N >= 1``.
      comparator: ``π*`` (default :func:`~sharpsim.reward_models.optimal_comparator`).
      mu: prompt distribution (``None``: uniform).

    Example:
      >>> import sharpsim as ss
      >>> rm = ss.RewardModel([[1.0, 0.0, 0.0]], [[0.5, 0.0, 1.0]])
      >>> bon_regret_curve(ss.TabularPolicy([[0.5, 0.3, 0.2]]), rm, [1, 2, 1000]).round(4).tolist()
      [0.5, 0.45, 1.0]
    """
    tab = as_tabular(pi, "pi")
    values = bon_true_values(tab, reward_model, ns)
    comp = optimal_comparator(tab, reward_model) if comparator is None else comparator
    best = reward_model.value(comp)
    return check_mu(mu, tab.n_contexts) @ (best[:, None] - values)


def pool_bon_true_values(proxy_scores, true_scores, ns) -> np.ndarray:
    """Exact value of best-of-``N`` over a pool of sampled candidates: ``E[r*(pick)]`` when the ``N``
    draws are taken with replacement from the pool's empirical law and ranked by the proxy.

    For a real language model the response set cannot be enumerated; a pool of
    ``M`` i.i.d. candidates per prompt stands in for ``π_ref`` (its empirical law
    gives each candidate mass ``1/M``), and best-of-``N`` over that law has the
    exact law of :func:`~sharpsim.best_of_n_law` (ties of the proxy, e.g.
    repeated candidates, split ∝ mass). ``N`` may exceed ``M`` (the law then
    concentrates on the pool's best proxy score).

    Args:
      proxy_scores: ``r̂`` of the candidates, float ``[k, M]`` (``-inf`` allowed: ranks last).
      true_scores: ``r*`` of the candidates, finite float ``[k, M]`` (any scale, e.g. log-likelihoods).
      ns: integers ``N >= 1``.

    Returns:
      float ``[k, len(ns)]``.

    Example:
      >>> pool_bon_true_values([[0.0, 1.0]], [[5.0, -1.0]], [1, 2]).tolist()   # the proxy prefers the worse one
      [[2.0, 0.5]]
    """
    proxy = as_real_array(proxy_scores, "proxy_scores")
    true = as_real_array(true_scores, "true_scores")
    if proxy.ndim != 2 or proxy.shape[1] == 0:
        raise ValueError(
            f"proxy_scores must be a [k, M] array with M >= 1; got shape {proxy.shape}"
        )
    if true.shape != proxy.shape:
        raise ValueError(
            f"true_scores must have the shape of proxy_scores {proxy.shape}; got {true.shape}"
        )
    if np.any(np.isnan(proxy)) or np.any(proxy == np.inf):
        raise ValueError("proxy_scores must not contain NaN or +inf")
    if not np.all(np.isfinite(true)):
        raise ValueError("true_scores must be finite")
    ns = _check_ns(ns)
    log_mass = np.full(proxy.shape, -np.log(proxy.shape[1]))
    return _by_row_blocks(lambda lp, r, t: _values_rows(lp, r, t, ns), log_mass, proxy, true)
