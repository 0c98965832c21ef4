"""The Bayes-optimal learner on the lower-bound family and its exact error (Lemma H.3, proof of Thm 3.1′).

Until the mode of a hard prompt is drawn, the posterior over its index is
uniform on the responses not yet seen: :func:`lower_bound_posterior`,
:func:`bayes_optimal_learner`, its exact expected error as a function of
``(n, N)`` (:func:`lower_bound_prompt_error`, :func:`lower_bound_bayes_error`)
and a simulation through the sample-and-evaluate oracle
(:func:`simulate_lower_bound_error`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from ..._validation import check_index_array, check_int, check_real, check_rng
from ...oracle import SampleEvaluateOracle
from ...policies.tabular import TabularPolicy
from .lower_bound import _check_delta, _check_shape, _log_masses, lower_bound_family

#: Tolerance when matching observed log-likelihoods to the two values the class allows.
LOG_PROB_MATCH_ATOL = 1e-9


def _check_data(d, M, x, y, log_prob, gamma):
    x = check_index_array(x, "x", d + 1)
    y = check_index_array(y, "y", M + 1)
    log_prob = np.asarray(log_prob, dtype=float)
    if not (x.shape == y.shape == log_prob.shape):
        x, y, log_prob = np.broadcast_arrays(x, y, log_prob)
    x, y, log_prob = x.ravel(), y.ravel(), log_prob.ravel()
    log_mode, log_other = _log_masses(M, gamma)
    easy = x == 0
    gap_mode, gap_other = np.abs(log_prob - log_mode), np.abs(log_prob - log_other)
    is_mode = gap_mode < gap_other
    matches = np.minimum(gap_mode, gap_other) <= LOG_PROB_MATCH_ATOL
    valid = np.where(easy, (y == 0) & (log_prob == 0.0), (y >= 1) & matches)
    if not np.all(valid):
        k = int(np.argmin(valid))
        raise ValueError(
            f"observation {k} (x={x[k]}, y={y[k]}, log_prob={log_prob[k]:.12g}) cannot come from a model "
            f"of the lower-bound family with M={M}, gamma={gamma}"
        )
    return x, y, is_mode & ~easy


def lower_bound_posterior(d, M, x, y, log_prob, gamma=0.5) -> np.ndarray:
    """Exact posterior over the hidden modes ``j_1..j_d`` given sample-and-evaluate data, ``I`` uniform.

    The likelihood of a dataset under ``π^I`` is a product over prompts; for
    prompt ``x_i`` it is ``0`` if a response ``y_j`` was seen with the non-mode
    likelihood and ``j = j_i`` (or with the mode likelihood and ``j ≠ j_i``),
    and otherwise the same number for every ``j_i`` consistent with the data.
    So the posterior is a point mass once the mode has been drawn, and is
    uniform over the responses never drawn otherwise (proof of Lemma H.3).

    Args:
      d, M, gamma: the family's parameters (the learner knows the class).
      x, y: int arrays of prompts and responses (same shape, any shape).
      log_prob: observed ``log π_base(y|x)`` (same shape).

    Returns:
      float array ``[d, M]``: row ``i-1`` is the posterior of ``j_i`` over ``1..M``.

    Example:
      >>> import numpy as np
      >>> lo, hi = np.log(1 / 6), np.log(1 / 2)
      >>> lower_bound_posterior(2, 4, [1, 1, 2], [2, 4, 1], [lo, lo, hi]).round(3).tolist()
      [[0.5, 0.0, 0.5, 0.0], [1.0, 0.0, 0.0, 0.0]]
    """
    d, M, gamma = _check_shape(d, M, gamma)
    x, y, revealed_obs = _check_data(d, M, x, y, log_prob, gamma)
    seen = np.zeros((d + 1, M + 1), dtype=bool)
    seen[x, y] = True
    revealed = np.zeros((d + 1, M + 1), dtype=bool)
    revealed[x[revealed_obs], y[revealed_obs]] = True
    as_other = np.zeros((d + 1, M + 1), dtype=bool)
    as_other[x[~revealed_obs], y[~revealed_obs]] = True
    clash = revealed & as_other
    if np.any(clash):
        i, j = np.argwhere(clash)[0]
        raise ValueError(
            f"prompt x_{i}: response y_{j} was seen with both the mode and the non-mode likelihood"
        )
    seen, revealed = seen[1:, 1:], revealed[1:, 1:]
    n_revealed = revealed.sum(axis=1)
    if np.any(n_revealed > 1):
        raise ValueError(
            f"prompt x_{int(np.argmax(n_revealed > 1)) + 1} shows two different modes in the data"
        )
    support = np.where(n_revealed[:, None] == 1, revealed, ~seen)
    sizes = support.sum(axis=1)
    if np.any(sizes == 0):
        raise ValueError(
            f"prompt x_{int(np.argmin(sizes)) + 1}: every response was seen as a non-mode"
        )
    return support / sizes[:, None]


def bayes_optimal_learner(d, M, x, y, log_prob, gamma=0.5, rng=None) -> TabularPolicy:
    """The Bayes-optimal sharpened model for the lower-bound family (``I`` uniform).

    For each hard prompt it puts all its mass on a maximiser of
    :func:`lower_bound_posterior` (ties broken uniformly at random with
    ``rng``), and on ``y_0`` for ``x_0``. A model can put more than ``1/2`` on
    only one response, so no learner has a larger chance of
    ``π̂(y*_γ(x)|x) > 1/2`` on any prompt (Lemma H.2's reduction to classification).

    Returns:
      :class:`TabularPolicy` ``[d+1, M+1]`` of point masses.

    Example:
      >>> import numpy as np
      >>> pi = bayes_optimal_learner(1, 4, [1], [2], [np.log(1 / 2)])
      >>> pi.probs.tolist()
      [[1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0]]
    """
    posterior = lower_bound_posterior(d, M, x, y, log_prob, gamma)
    rng = check_rng(rng)
    # Random keys among the maximisers only: a uniform tie-break in one argmax.
    keys = np.where(
        posterior == posterior.max(axis=1, keepdims=True), rng.random(posterior.shape), -1.0
    )
    guess = 1 + np.argmax(keys, axis=1)
    table = np.zeros((d + 1, M + 1))
    table[0, 0] = 1.0
    table[np.arange(1, d + 1), guess] = 1.0
    return TabularPolicy(table)


def _prompt_error_table(M: int, gamma: float, k_max: int, atol: float) -> np.ndarray:
    """``f(k)`` for ``k = 0..k_cut`` with ``k_cut <= k_max``; see :func:`lower_bound_prompt_error`."""
    log_miss = math.log1p(-math.exp(_log_masses(M, gamma)[0]))
    k_cut = min(k_max, math.ceil(math.log(atol) / log_miss))
    r = np.arange(M)  # distinct non-modes seen so far, 0..M-1
    loss = 1.0 - 1.0 / (M - r)
    occupancy = np.zeros(M)
    occupancy[0] = 1.0
    expected_loss = np.empty(k_cut + 1)
    for k in range(k_cut + 1):
        expected_loss[k] = occupancy @ loss
        # One more draw, uniform over the M-1 non-modes: it is new with probability (M-1-r)/(M-1).
        moved = occupancy * (M - 1 - r) / (M - 1)
        occupancy = occupancy - moved
        occupancy[1:] += moved[:-1]
    return np.exp(np.arange(k_cut + 1) * log_miss) * expected_loss


def lower_bound_prompt_error(M, counts, gamma=0.5, *, atol=1e-15) -> np.ndarray:
    """Bayes-optimal probability of missing a hard prompt's mode after ``k`` responses to it.

    ``f(k) = (1-a)^k · E[1 - 1/(M - D_k)]`` with ``a = 1/((1-γ)M)`` the mode's
    mass: the mode is missed in all ``k`` draws with probability ``(1-a)^k``;
    then the draws are uniform over the other ``M-1`` responses, ``D_k`` of them
    distinct, and the posterior is uniform over the ``M - D_k`` left. The law
    of ``D_k`` comes from the exact occupancy recursion.

    Args:
      M, gamma: the family's parameters.
      counts: int array of per-prompt response counts ``k >= 0`` (any shape).
      atol: for ``k`` past ``log(atol)/log(1-a)`` the value is extrapolated
        from there; the absolute error is at most ``(1-a)^k <= atol``.

    Returns:
      float array, the shape of ``counts``.

    Example:
      >>> lower_bound_prompt_error(4, [0, 1, 50]).round(4).tolist()
      [0.75, 0.3333, 0.0]
    """
    _, M, gamma = _check_shape(1, M, gamma)
    atol = check_real(atol, "atol", low=0.0, high=1.0, low_open=True, high_open=True)
    counts = np.asarray(counts)
    if counts.dtype == bool or not np.issubdtype(counts.dtype, np.integer):
        raise TypeError(f"counts must be an integer array; got dtype {counts.dtype}")
    if counts.size and counts.min() < 0:
        raise ValueError(f"counts must be >= 0; got {counts.min()}")
    k_max = int(counts.max()) if counts.size else 0
    return _extend_table(_prompt_error_table(M, gamma, k_max, atol), M, gamma, counts)


def _extend_table(table: np.ndarray, M: int, gamma: float, counts: np.ndarray) -> np.ndarray:
    """Evaluate ``f`` at ``counts``, extrapolating past the table's end with the ``(1-a)^k`` decay."""
    k_cut = table.shape[0] - 1
    log_miss = math.log1p(-math.exp(_log_masses(M, gamma)[0]))
    inside = np.minimum(
        counts, k_cut
    )  # counts may be float (exact below 2**53; beyond, f is 0 anyway)
    return table[inside.astype(np.int64)] * np.exp((counts - inside) * log_miss)


def lower_bound_bayes_error(d, M, Delta, n, N, gamma=0.5, *, atol=1e-15) -> np.ndarray:
    """Exact Bayes-optimal sharpening error on the lower-bound family, as a function of ``(n, N)``.

    With ``I`` uniform, ``n`` prompts ``x ~ μ`` and ``N`` responses each
    (Definition 3.2, ``m = nN``), the smallest achievable
    ``E_I E[P_{x~μ}[π̂(y*_γ(x)|x) <= 1/2]]`` is
    ``Δ · E_{K ~ Bin(n, Δ/d)}[ f(N·K) ]`` with ``f`` from
    :func:`lower_bound_prompt_error`: ``x_0`` is always solved, and a hard
    prompt drawn ``K`` times is missed with probability ``f(NK)``. It stays
    ``≍ Δ`` while ``m ≲ dM/Δ`` (Lemma H.3) and vanishes beyond.

    Args:
      d, M, Delta, gamma: the family's parameters.
      n, N: int scalars or broadcasting int arrays (prompts, responses per prompt).
      atol: absolute accuracy: half for the table of ``f`` (see
        :func:`lower_bound_prompt_error`), half for the binomial tails left out.
        Memory and time grow with the window of ``K`` that carries the mass
        (a few standard deviations of ``Bin(n, Δ/d)``, at most ``2·k_cut/N``
        terms), not with ``n``: ``n = 10^12`` is fine.

    Returns:
      float array of the broadcast shape of ``n`` and ``N``.

    Example:
      >>> lower_bound_bayes_error(1, 4, 0.5, [0, 1], 1).round(4).tolist()
      [0.375, 0.2708]
    """
    d, M, gamma = _check_shape(d, M, gamma)
    Delta = _check_delta(Delta)
    atol = check_real(atol, "atol", low=0.0, high=1.0, low_open=True, high_open=True)
    n, N = (_check_count_array(v, name) for v, name in ((n, "n"), (N, "N")))
    n, N = np.broadcast_arrays(n, N)
    # Python ints: n·N may pass the int64 range (huge N); the table stops at its own cut anyway.
    table = _prompt_error_table(M, gamma, int(n.max()) * int(N.max()) if n.size else 0, atol / 2)
    out = np.empty(n.shape)
    for pos in np.ndindex(n.shape):  # a loop over grid points, not over prompts or responses
        out[pos] = Delta * _binomial_mean(
            table, M, gamma, int(n[pos]), int(N[pos]), Delta / d, atol / 4
        )
    return out


#: Binomial counts ``K`` summed per block in :func:`_binomial_mean` (bounds its memory, about 40 bytes each).
_K_BLOCK = 1 << 16


def _binomial_mean(
    table: np.ndarray, M: int, gamma: float, n: int, N: int, p: float, tail: float
) -> float:
    """``E[f(N·K)]`` for ``K ~ Bin(n, p)``, summed over the window of ``K`` that carries the mass, in blocks.

    ``K`` outside ``[ppf(tail), isf(tail)]`` has mass ``<= 2·tail`` and ``f <= 1``; past the ``K`` with
    ``N·K >= 2·k_cut`` the table's extrapolation is below ``atol²``. So ``n = 10^12`` costs a window of
    a few standard deviations, not ``n + 1`` terms.
    """
    if N == 0:
        return float(table[0])  # f(0) whatever K is
    law = stats.binom(n, p)
    low = max(0, int(law.ppf(tail)) - 1)
    high = min(n, int(law.isf(tail)) + 1)
    k_cut = table.shape[0] - 1
    high = min(high, max(low, -(-2 * k_cut // N)))
    total = 0.0
    for start in range(low, high + 1, _K_BLOCK):
        K = np.arange(start, min(start + _K_BLOCK, high + 1))
        total += law.pmf(K) @ _extend_table(table, M, gamma, np.multiply(N, K, dtype=float))
    return total


def _check_count_array(value, name: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must be an integer or integer array; got dtype {arr.dtype}")
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} must be >= 0; got {arr.min()}")
    return arr.astype(np.int64)


def simulate_lower_bound_error(d, M, Delta, n, N, trials, gamma=0.5, rng=None) -> dict:
    """Monte Carlo of the Bayes-optimal learner through the sample-and-evaluate oracle.

    Each trial draws ``I`` uniformly, builds ``π^I``, asks a
    :class:`~sharpsim.oracle.SampleEvaluateOracle` for ``n`` prompts and ``N``
    responses each, and fits :func:`bayes_optimal_learner`. The mean of
    ``errors`` estimates :func:`lower_bound_bayes_error`; each column of
    ``missed`` is ``trials`` independent Bernoulli draws whose success
    probability is the per-prompt Bayes error.

    Returns:
      dict with ``errors`` ``[trials]`` (``P_{x~μ}[π̂(y*_γ(x)|x) <= 1/2]`` per
      trial), ``missed`` bool ``[trials, d]`` and ``queries`` (``n·N``).

    Example:
      >>> out = simulate_lower_bound_error(2, 4, 0.5, 4, 2, trials=3, rng=0)
      >>> out["errors"].shape, out["missed"].shape, out["queries"]
      ((3,), (3, 2), 8)
    """
    d, M, gamma = _check_shape(d, M, gamma)
    Delta = _check_delta(Delta)
    n = check_int(n, "n", minimum=0)
    N = check_int(N, "N", minimum=0)
    trials = check_int(trials, "trials", minimum=1)
    rng = check_rng(rng)
    missed = np.empty((trials, d), dtype=bool)
    for t in range(trials):  # independent replications; each one is vectorised
        inst = lower_bound_family(d, M, Delta, gamma=gamma, rng=rng, build_class=False)
        oracle = SampleEvaluateOracle(inst.base, inst.mu, rng=rng)
        x = oracle.draw_prompts(n)
        y, log_prob = oracle.sample(x, N)
        model = bayes_optimal_learner(
            d, M, np.repeat(x, N), y.ravel(), log_prob.ravel(), gamma, rng
        )
        modes = inst.claims["modes"][1:]
        missed[t] = model.probs[np.arange(1, d + 1), modes] <= 0.5
    return {"errors": missed.mean(axis=1) * Delta, "missed": missed, "queries": n * N}
