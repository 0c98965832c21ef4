"""χ²-regularised alignment and InferenceTimePessimism, exactly (SPEC §11).

* :func:`chi2_regularized`: ``π_β = argmax_π E_π[r] − (β/2)·χ²(π‖π_ref)``
  in closed form, ``π_ref·max(0, (r − λ)/β)``, ``λ`` by a sort.
* :func:`itp_law`: the exact output law of InferenceTimePessimism (ITP) with
  ``N`` draws, for the two phase-1 variants below.
* :func:`inference_time_pessimism`: the faithful sampler, through
  :class:`~sharpsim.SampleEvaluateOracle` (every draw counted).

**The constant.** With ``χ²(π‖π_ref) = Σ_y π(y)²/π_ref(y) − 1`` the
Lagrangian of ``max Σ π r − (β/2)χ² s.t. Σ π = 1, π ≥ 0`` is stationary
where ``r(y) − β·π(y)/π_ref(y) − ν + κ_y = 0`` with ``κ_y ≥ 0``, ``κ_y π(y) = 0``
(KKT; the objective is strictly concave on the support of ``π_ref``, so
the KKT point is the unique maximiser). Hence ``π(y)/π_ref(y) = max(0, (r(y) − ν)/β)``:
the weight is ``(r − λ)/β`` exactly when the penalty is ``(β/2)·χ²`` (a penalty
``β·χ²`` would give ``(r − λ)/(2β)``). ``λ = ν`` is the unique root of
``g(λ) = Σ π_ref (r − λ)_+ − β`` (continuous, strictly decreasing where it is
positive): sort ``r`` decreasingly; with ``P_k``, ``S_k`` the mass and
``π_ref``-weighted reward of the top ``k`` tie groups, ``λ_k = (S_k − β)/P_k``
and ``λ`` is ``λ_k`` for the first ``k`` with ``λ_k ≥ r_{k+1}``. The weights are
computed from non-negative partial sums only (:func:`_chi2_rows`), so ``β``
from ``1e-12`` to ``1e12`` loses no digits: ``β → 0`` gives ``π_ref`` on the arg-max group of
``r`` (ties by the package rule), ``β → ∞`` gives ``π_ref``.

**InferenceTimePessimism, the variant implemented** (r̂ ≤ ``r_max``, default 1):

1. phase 1: draw ``N`` responses ``y_1..y_N ∼ π_ref`` and let ``λ̂`` be the
   root of ``(1/N) Σ_i (r̂(y_i) − λ)_+ = β`` (the same sort on the empirical law);
2. phase 2: draw fresh ``y'_1, y'_2, … ∼ π_ref``, accepting ``y'_t`` with
   probability ``a(y'_t) = (r̂(y'_t) − λ̂)_+/(r_max − λ̂) = w(y'_t)/M``
   (``w = (r̂ − λ̂)_+/β``, ``M = (r_max − λ̂)/β ≥ max w``); return the first accepted;
3. fallback: if none of the ``N`` proposals is accepted, return one more
   fresh draw ``y'_{N+1} ∼ π_ref``.

Given ``λ̂`` the output law is exact: with ``A = Σ_y π_ref(y)a(y)``,
``P(out = y | λ̂) = π_ref(y)·a(y)·(1 − (1 − A)^N)/A + (1 − A)^N·π_ref(y)``
(the first acceptance is at proposal ``t`` w.p. ``(1−A)^{t−1}A`` and is then
distributed ``∝ π_ref·a``). ``phase1="estimated"`` averages this over the
multinomial law of the phase-1 counts of the distinct reward levels (exact;
``C(N+L−1, L−1)`` compositions for ``L`` levels, so small worlds only);
``phase1="population"`` replaces ``λ̂`` by the exact ``λ`` (the limit of an
infinite phase 1), where ``A = 1/M`` and the law is the mixture
``(1 − q_N)·π_β + q_N·π_ref``, ``q_N = (1 − β/(r_max − λ))^N`` — exact and
cheap for every ``N`` up to ``10^6`` and beyond.

References:
  Huang, Block, Liu, Jiang, Krishnamurthy, Foster, "Is Best-of-N the Best of
  Them? Coverage, Scaling, and Optimality in Inference-Time Alignment", ICML
  2025 (arXiv 2503.21878): InferenceTimePessimism (the rejection-sampling
  algorithm with ``R_max``, as described in secondary sources; the theorem
  numbers could not be read, see :mod:`sharpsim.theory.bounds.imperfect`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy.special import gammaln

from .._validation import as_real_array, check_int, check_real
from ..policies.base import canonical_ties
from ..policies.tabular import TabularPolicy, as_tabular
from ..rewards import resolve_reward, reward_table
from ._bon_common import _as_oracle, _check_choice, _check_prompts, _checked_score

__all__ = [
    "chi2_regularized",
    "chi2_threshold",
    "itp_law",
    "inference_time_pessimism",
    "ITPResult",
    "MAX_COMPOSITIONS",
]

#: Largest number of phase-1 count vectors ``itp_law(..., phase1="estimated")`` enumerates.
MAX_COMPOSITIONS = 2_000_000
_PHASES = ("population", "estimated")


# --------------------------------------------------------------------------- the closed form


def _chi2_rows(p: np.ndarray, r: np.ndarray, beta: float):
    """Weights ``w = (r − λ)_+/β`` ``[R, Y]`` and ``λ`` ``[R]`` for probability rows ``p`` and tie-canonical ``r``.

    Sorted decreasingly, with ``P_k`` the mass of the top ``k`` entries and
    ``g_k = r_k − r_{k+1} ≥ 0``, the slack ``s_k = Σ_{i≤k} p_i (r_i − r_k) =
    Σ_{j<k} P_j g_j`` is a sum of non-negative terms (no cancellation). The
    last active entry ``k`` is the first with ``β ≤ s_{k+1}`` (i.e.
    ``λ_k ≥ r_{k+1}``); then ``λ = r_k − (β − s_k)/P_k`` and for ``i ≤ k``
    ``w_i = (β − s_k)/(β P_k) + (r_i − r_k)/β``, both terms ``≥ 0``: exact for
    ``β`` from ``1e-12`` to ``1e12`` whatever the masses.
    """
    order = np.argsort(-r, axis=1, kind="stable")
    rs = np.take_along_axis(r, order, axis=1)
    ps = np.take_along_axis(p, order, axis=1)
    mass = np.cumsum(ps, axis=1)
    gap = np.empty_like(rs)
    gap[:, :-1] = rs[:, :-1] - rs[:, 1:]
    gap[:, -1] = np.inf
    with np.errstate(invalid="ignore"):
        step = np.where(mass > 0, mass * gap, 0.0)  # P_k g_k (a zero mass adds no slack)
    step[:, -1] = np.inf
    slack_next = np.cumsum(step, axis=1)  # s_{k+1}
    k = np.argmax(beta <= slack_next, axis=1)
    rows = np.arange(rs.shape[0])
    slack = np.where(
        k > 0, slack_next[rows, np.maximum(k - 1, 0)], 0.0
    )  # s_k, exactly the partial sum
    head = (beta - slack) / mass[rows, k]
    active = np.arange(rs.shape[1])[None, :] <= k[:, None]
    w_sorted = np.where(active, head[:, None] / beta + (rs - rs[rows, k][:, None]) / beta, 0.0)
    w = np.empty_like(w_sorted)
    np.put_along_axis(w, order, w_sorted, axis=1)
    return w, rs[rows, k] - head


def _checked_rewards(pi, reward, name: str = "reward"):
    tab = as_tabular(pi, "pi")
    if isinstance(reward, (np.ndarray, list, tuple)):
        arr = as_real_array(reward, name)
        if arr.shape != tab.probs.shape:
            raise ValueError(
                f"{name} must have shape {tab.probs.shape} to match pi; got {arr.shape}"
            )
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite for the χ²-regularised target")
    table = reward_table(resolve_reward(reward, name), pi, tab.n_contexts, tab.n_responses, name)
    if not np.all(np.isfinite(table)):
        raise ValueError(f"{name} must be finite for the χ²-regularised target")
    return tab, canonical_ties(table)


def chi2_threshold(pi, reward, beta) -> np.ndarray:
    """The normaliser ``λ(x)`` of :func:`chi2_regularized`: the root of ``Σ_y π_ref(y)(r(y) − λ)_+ = β``.

    Args:
      pi: reference ``π_ref`` ``[n_contexts, n_responses]``.
      reward: array ``[n_contexts, n_responses]`` or a reward object (a
        :class:`~sharpsim.RewardModel` gives its proxy ``r̂``).
      beta: ``β > 0``.

    Returns:
      float array ``[n_contexts]``.

    Example:
      >>> import sharpsim as ss
      >>> chi2_threshold(ss.TabularPolicy([[0.5, 0.5]]), [[1.0, 0.0]], 0.25).tolist()
      [0.5]
    """
    tab, r = _checked_rewards(pi, reward)
    beta = check_real(beta, "beta", low=0.0, low_open=True)
    return _chi2_rows(tab.probs, r, beta)[1]


def chi2_regularized(pi, reward, beta) -> TabularPolicy:
    """Exact ``argmax_π E_π[r] − (β/2)·χ²(π‖π_ref)`` per prompt: ``π_ref·max(0, (r − λ)/β)`` (SPEC §11).

    The module docstring derives the KKT conditions (hence the ``β/2``) and the
    sort that finds ``λ`` (:func:`chi2_threshold`). Stable for ``β`` from
    ``1e-12`` to ``1e12`` and masses of ``1e-300``; rewards are grouped by the
    package's tie rule, so ``β → 0`` splits the arg-max group ``∝ π_ref``.

    Args:
      pi: reference ``π_ref`` ``[n_contexts, n_responses]`` (tabular or with ``to_tabular()``).
      reward: array ``[n_contexts, n_responses]`` (finite reals) or a reward
        object with ``table`` (a :class:`~sharpsim.RewardModel` gives ``r̂``).
      beta: ``β > 0``.

    Returns:
      :class:`~sharpsim.TabularPolicy` ``[n_contexts, n_responses]``.

    Example:
      >>> import sharpsim as ss
      >>> ref = ss.TabularPolicy([[0.5, 0.25, 0.25]])
      >>> ss.chi2_regularized(ref, [[1.0, 0.5, 0.0]], 0.5).probs.round(4).tolist()
      [[0.8333, 0.1667, 0.0]]
      >>> ss.chi2_regularized(ref, [[1.0, 0.5, 0.0]], 1e12).probs.round(6).tolist()
      [[0.5, 0.25, 0.25]]
    """
    tab, r = _checked_rewards(pi, reward)
    beta = check_real(beta, "beta", low=0.0, low_open=True)
    w = _chi2_rows(tab.probs, r, beta)[0]
    with np.errstate(divide="ignore"):
        log_law = np.where(w > 0, tab.log_probs + np.log(w), -np.inf)
    return TabularPolicy.from_log_probs(log_law)


# --------------------------------------------------------------------------- ITP's exact law


def _check_r_max(r: np.ndarray, r_max) -> float:
    r_max = check_real(r_max, "r_max")
    if r.size and r.max() > r_max:
        raise ValueError(f"r_max must bound the reward; got r_max={r_max} < max reward {r.max()}")
    return r_max


def _output_given_accept(p_accept_mass, accept_prob, base_mass, n):
    """``mass·a·(1 − (1−A)^N)/A + (1−A)^N·mass`` with ``A`` per row; arrays broadcast over rows."""
    with np.errstate(divide="ignore"):
        log_miss = n * np.log1p(-np.minimum(accept_prob, 1.0))
    miss = np.exp(log_miss)
    hit_over_a = -np.expm1(log_miss) / accept_prob
    return p_accept_mass * hit_over_a[..., None] + miss[..., None] * base_mass


def itp_law(
    pi, reward, beta, n, phase1: str = "population", r_max=1.0, max_compositions=MAX_COMPOSITIONS
):
    """Exact output law of InferenceTimePessimism with ``n`` draws (the variant of the module docstring).

    Args:
      pi: reference ``π_ref`` ``[n_contexts, n_responses]``.
      reward: the proxy ``r̂`` (array or reward object, e.g. a :class:`~sharpsim.RewardModel`), ``≤ r_max``.
      beta: ``β > 0``.
      n: ``N >= 1``: phase-1 draws and the cap on phase-2 proposals.
      phase1: ``"population"`` (exact ``λ``; cheap for any ``N``) or
        ``"estimated"`` (``λ̂`` from ``N`` draws, exact over the phase-1
        counts; at most ``max_compositions`` count vectors per prompt).
      r_max: the known upper bound ``R_max`` of ``r̂``.

    Returns:
      :class:`~sharpsim.TabularPolicy` ``[n_contexts, n_responses]``.

    Example:
      >>> import sharpsim as ss
      >>> ref = ss.TabularPolicy([[0.5, 0.5]])
      >>> itp_law(ref, [[1.0, 0.0]], 0.5, 1).probs.tolist()   # M = 2: accept w.p. 1/2, else π_ref
      [[0.75, 0.25]]
      >>> itp_law(ref, [[1.0, 0.0]], 0.5, 1, phase1="estimated").probs.round(4).tolist()
      [[0.7083, 0.2917]]
    """
    tab, r = _checked_rewards(pi, reward)
    beta = check_real(beta, "beta", low=0.0, low_open=True)
    n = check_int(n, "n", minimum=1)
    phase1 = _check_choice(phase1, "phase1", _PHASES)
    r_max = _check_r_max(r, r_max)
    if phase1 == "population":
        w, lam = _chi2_rows(tab.probs, r, beta)
        accept = beta / (r_max - lam)  # A = Σ π_ref·w/M = 1/M
        law = _output_given_accept(
            tab.probs * w * beta / (r_max - lam)[:, None], accept, tab.probs, n
        )
        return TabularPolicy(law)
    max_compositions = check_int(max_compositions, "max_compositions", minimum=1)
    law = np.vstack(
        [
            _estimated_row(p, row_r, beta, n, r_max, max_compositions)
            for p, row_r in zip(tab.probs, r)
        ]
    )
    return TabularPolicy(law)


def _compositions(n: int, levels: int) -> np.ndarray:
    """All count vectors ``[K, levels]`` of non-negative integers summing to ``n`` (stars and bars)."""
    if levels == 1:
        return np.array([[n]])
    bars = np.array(list(combinations(range(n + levels - 1), levels - 1)), dtype=np.int64)
    edges = np.hstack(
        [np.full((bars.shape[0], 1), -1), bars, np.full((bars.shape[0], 1), n + levels - 1)]
    )
    return np.diff(edges, axis=1) - 1


def _estimated_row(p, r, beta, n, r_max, max_compositions) -> np.ndarray:
    """Law of one prompt: ``E_λ̂[P(out | λ̂)]`` over the multinomial counts of the distinct reward levels."""
    support = p > 0
    values, level_of = np.unique(r[support], return_inverse=True)
    values = values[::-1]  # decreasing
    level_of = values.size - 1 - level_of
    level_mass = np.bincount(level_of, weights=p[support], minlength=values.size)
    count = math.comb(n + values.size - 1, values.size - 1)
    if count > max_compositions:
        raise ValueError(
            f"n={n} with {values.size} reward levels needs {count} phase-1 count vectors "
            f"(> max_compositions={max_compositions}); use phase1='population'"
        )
    counts = _compositions(n, values.size)
    _, lam = _chi2_rows(counts / n, np.broadcast_to(values, counts.shape), beta)
    log_pmf = gammaln(n + 1) - gammaln(counts + 1).sum(axis=1) + counts @ np.log(level_mass)
    a = np.maximum(values[None, :] - lam[:, None], 0.0) / (r_max - lam)[:, None]
    accept = a @ level_mass
    level_law = _output_given_accept(level_mass * a, accept, level_mass, n)
    out_levels = np.exp(log_pmf) @ level_law
    law = np.zeros_like(p)
    law[support] = out_levels[level_of] * p[support] / level_mass[level_of]
    return law


# --------------------------------------------------------------------------- the sampler


@dataclass
class ITPResult:
    """Output of :func:`inference_time_pessimism`.

    Attributes:
      responses: the outputs ``[k]`` (``[k, H]`` for sequences).
      lambdas: the phase-1 estimates ``λ̂`` ``[k]``.
      accepted: bool ``[k]``, False where the fallback draw was returned.
      proposals: phase-2 proposals drawn per prompt, int ``[k]``.
      queries: oracle queries of this call (``k·N`` + proposals + fallbacks).
    """

    responses: np.ndarray
    lambdas: np.ndarray
    accepted: np.ndarray
    proposals: np.ndarray
    queries: int


def inference_time_pessimism(source, x, N, beta, reward, r_max=1.0, rng=None) -> ITPResult:
    """Run InferenceTimePessimism (the module docstring's variant) once per prompt of ``x``.

    Every response is drawn through the oracle (phase 1: ``N`` per prompt;
    phase 2: one proposal per round for the prompts still waiting, at most
    ``N`` rounds; then one fallback draw), so ``queries`` is the true count.
    Its output frequencies follow :func:`itp_law` with ``phase1="estimated"``.

    Args:
      source: a policy ``π_ref`` or a :class:`~sharpsim.SampleEvaluateOracle`.
      x: prompts, int ``[k]``.
      N: ``>= 1``.
      beta: ``β > 0``.
      reward: the proxy (reward object whose ``score`` sees only what the
        oracle reveals, e.g. a :class:`~sharpsim.RewardModel`, or an array).
      r_max: upper bound of the proxy.
      rng: ``None``, seed or Generator (``None`` when ``source`` is an oracle).

    Example:
      >>> import sharpsim as ss
      >>> out = inference_time_pessimism(ss.TabularPolicy([[0.5, 0.5]]), [0, 0, 0], 4, 0.5, [[1.0, 0.0]], rng=0)
      >>> out.responses.shape, out.queries >= 3 * 4 + 3
      ((3,), True)
    """
    oracle = _as_oracle(source, rng)
    x = _check_prompts(x, oracle)
    N = check_int(N, "N", minimum=1)
    beta = check_real(beta, "beta", low=0.0, low_open=True)
    r_max = check_real(r_max, "r_max")
    reward = resolve_reward(reward)
    if getattr(reward, "depends_on_group", False):
        raise ValueError(
            "reward must be a fixed function of (x, y); its score may not depend on the other draws"
        )
    start = oracle.queries
    y1, lp1 = oracle.sample(x, N)
    s1 = _checked_score(reward, x, y1, lp1)
    if s1.size and s1.max() > r_max:
        raise ValueError(f"r_max must bound the reward; a draw scored {s1.max()} > r_max={r_max}")
    _, lam = _chi2_rows(np.full(s1.shape, 1.0 / N), canonical_ties(s1), beta)
    k = x.shape[0]
    out = np.zeros((k,) + y1.shape[2:], dtype=y1.dtype)
    waiting = np.ones(k, dtype=bool)
    proposals = np.zeros(k, dtype=np.int64)
    for _ in range(N):
        idx = np.flatnonzero(waiting)
        if idx.size == 0:
            break
        y, lp = oracle.sample(x[idx], 1)
        s = _checked_score(reward, x[idx], y, lp)[:, 0]
        if s.max() > r_max:
            raise ValueError(
                f"r_max must bound the reward; a draw scored {s.max()} > r_max={r_max}"
            )
        prob = np.maximum(s - lam[idx], 0.0) / (r_max - lam[idx])
        hit = oracle.rng.random(idx.size) < prob
        proposals[idx] += 1
        out[idx[hit]] = y[hit, 0]
        waiting[idx[hit]] = False
    accepted = ~waiting
    idx = np.flatnonzero(waiting)
    if idx.size:
        y, _ = oracle.sample(x[idx], 1)
        out[idx] = y[:, 0]
    return ITPResult(out, lam, accepted, proposals, oracle.queries - start)
