"""The lower-bound family of Theorem 3.1′ (proof in Appendix H) and its Bayes-optimal learner.

The construction (SPEC §9): prompts ``X = {x_0..x_d}``, responses
``Y = {y_0..y_M}``, ``μ = (1-Δ)·δ_{x_0} + (Δ/d)·Σ_i δ_{x_i}``. Prompt ``x_0``
always answers ``y_0``; prompt ``x_i`` answers with ``P_{j_i}``, which puts
``1/((1-γ)M)`` on its mode ``y_{j_i}`` and ``(1/M)(1 - γ/((M-1)(1-γ)))`` on
each other ``y_j``, ``j ∈ [M]``. The hidden index ``I = (j_1..j_d) ∈ [M]^d``
picks the model ``π^I``; the class is ``Π = {π^I}``, ``log|Π| = d log M``.

Why it is hard: the likelihood of a sampled response only says whether *that*
response is the mode. Until the mode itself is drawn, the posterior over
``j_i`` is uniform on the responses not yet seen, so about ``M`` draws per hard
prompt, i.e. ``m ≍ dM/Δ`` in total, are needed (Lemma H.3). The functions
below compute that posterior, the Bayes-optimal learner and its exact
expected error as a function of ``(n, N)``, and simulate it through the
sample-and-evaluate oracle.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy import stats

from ..._validation import check_index_array, check_int, check_real, check_rng
from ...classes import FiniteClass
from ...oracle import SampleEvaluateOracle
from ...policies.tabular import TabularPolicy
from ._instance import Instance

#: The lower-bound family world of the ``sft_error`` experiment and its figure: d = 2 hard
#: prompts, M = 8 responses (a realizable finite class of 64 best-of-N laws), mass Δ = 0.4 on
#: the hard prompts, sharpness level δ = 0.1.
SFT_WORLD = {"d": 2, "M": 8, "Delta": 0.4, "delta": 0.1}

#: Largest ``M**d`` for which the class ``Π = {π^I}`` is built as an explicit list.
MAX_CLASS_SIZE = 4096
#: Tolerance when matching observed log-likelihoods to the two values the class allows.
LOG_PROB_MATCH_ATOL = 1e-9


def _check_delta(Delta) -> float:
    return check_real(Delta, "Delta", low=0.0, high=1.0, low_open=True, high_open=True)


def _check_shape(d, M, gamma) -> tuple[int, int, float]:
    """Validate ``(d, M, γ)``: ``d >= 1``, ``M >= 3``, ``γ ∈ (0, 1)`` leaving the non-modes positive mass."""
    d = check_int(d, "d", minimum=1)
    M = check_int(M, "M", minimum=3)
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0, low_open=True, high_open=True)
    if (M - 1) * (1.0 - gamma) <= gamma:
        raise ValueError(
            f"gamma={gamma} is too large for M={M}: the non-mode responses need positive mass, "
            f"i.e. (M-1)(1-gamma) > gamma"
        )
    return d, M, gamma


def _log_masses(M: int, gamma: float) -> tuple[float, float]:
    """``(log P_i(y_i), log P_i(y_j))`` for ``j ≠ i``: the mode and every other response."""
    log_mode = -math.log1p(-gamma) - math.log(M)
    log_other = -math.log(M) + math.log1p(-gamma / ((M - 1) * (1.0 - gamma)))
    return log_mode, log_other


def _family_log_probs(M: int, gamma: float, index: np.ndarray) -> np.ndarray:
    """``log π^I(y|x)``, shape ``[d+1, M+1]``, for a validated index ``I`` (entries in ``1..M``)."""
    d = index.shape[0]
    log_mode, log_other = _log_masses(M, gamma)
    table = np.full((d + 1, M + 1), log_other)
    table[:, 0] = -np.inf
    table[0, :] = -np.inf
    table[0, 0] = 0.0
    table[np.arange(1, d + 1), index] = log_mode
    return table


def _check_index(index, d: int, M: int) -> np.ndarray:
    index = check_index_array(index, "index", M + 1)
    if index.shape != (d,):
        raise ValueError(
            f"index must have shape ({d},) (one mode per hard prompt); got {index.shape}"
        )
    if np.any(index < 1):
        raise ValueError(
            f"index entries must be in [1, {M}] (y_0 is never a hard prompt's mode); got 0"
        )
    return index


def lower_bound_coverage(M: int, Delta: float, p: float = 1, gamma: float = 0.5) -> float:
    """``C_cov,γ,p(π) = ((1-Δ) + (M(1-γ))^p Δ)^(1/p)`` for every ``π ∈ Π`` (proof of Theorem 3.1′).

    Example:
      >>> lower_bound_coverage(10, 0.1)
      1.4
    """
    M = check_int(M, "M", minimum=3)
    p = check_real(p, "p", low=1.0)
    Delta = _check_delta(Delta)
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0, low_open=True, high_open=True)
    try:
        return float(((1.0 - Delta) + (M * (1.0 - gamma)) ** p * Delta) ** (1.0 / p))
    except OverflowError:  # (M(1-γ))^p alone overflows for large p; its p-th root is moderate
        log_sum = np.logaddexp(
            math.log1p(-Delta), p * math.log(M * (1.0 - gamma)) + math.log(Delta)
        )
        return float(np.exp(log_sum / p))


def lower_bound_family_parameters(
    epsilon: float, C: float, p: float = 1, *, M_scale: float = 1.0
) -> dict:
    """``(M, Δ)`` as the proof of Theorem 3.1′ chooses them from ``(ε, C, p)``.

    ``Δ = 16ε`` (so ``ε < 1/16``) and ``M ≍ 1 + C ε^(-1/p)``; the hidden constant
    is ``M_scale`` (default 1), and ``M ≥ 8`` as Lemma H.3 requires.

    Returns:
      ``{"M": int, "Delta": float}``.

    Example:
      >>> lower_bound_family_parameters(0.01, 1.0)
      {'M': 101, 'Delta': 0.16}
    """
    epsilon = check_real(epsilon, "epsilon", low=0.0, high=1.0 / 16, low_open=True, high_open=True)
    C = check_real(C, "C", low=1.0)
    p = check_real(p, "p", low=1.0)
    M_scale = check_real(M_scale, "M_scale", low=0.0, low_open=True)
    M = max(8, math.ceil(M_scale * (1.0 + C * epsilon ** (-1.0 / p)) - 1e-12))
    return {"M": int(M), "Delta": 16.0 * epsilon}


def lower_bound_family(
    d, M, Delta, p=1, gamma=0.5, index=None, rng=None, *, build_class=None
) -> Instance:
    """The hard family of the proof of Theorem 3.1′ (Appendix H; Theorem 3.1 is ``p = 1``).

    Args:
      d: number of hard prompts ``x_1..x_d`` (``>= 1``).
      M: number of candidate modes ``y_1..y_M`` (``>= 3``; Lemma H.3 uses ``M >= 8``).
      Delta: mass ``Δ ∈ (0, 1)`` that ``μ`` puts on the hard prompts together.
      p: order of the coverage coefficient ``C_cov,γ,p`` (``>= 1``).
      gamma: ``γ ∈ (0, 1)`` (the paper's ``1/2``); ``y*_γ(x)`` is a singleton.
      index: the hidden ``I = (j_1..j_d)`` with entries in ``1..M``; drawn
        uniformly from ``rng`` when ``None``.
      rng: ``None``, an int seed or a ``numpy.random.Generator``.
      build_class: build ``Π = {π^I : I ∈ [M]^d}`` as a ``FiniteClass``?
        ``None`` (default) builds it when ``M**d <= MAX_CLASS_SIZE`` and
        leaves ``model_class=None`` otherwise; ``True`` raises ``ValueError``
        past that size; ``False`` never builds it.

    Returns:
      :class:`Instance` with ``base = π^I`` (tabular, ``[d+1, M+1]``), ``mu``
      ``[d+1]``, and claims ``coverage`` (``C_cov,γ,p``), ``log_class_size``
      (``d log M``), ``class_size``, ``mode_mass`` (``1/((1-γ)M)``),
      ``other_mass``, ``modes`` (``[d+1]`` response index of each prompt's
      unique ``y*_γ``) and ``sample_scale`` (``dM/Δ``, where Lemma H.3 puts
      the transition).

    Example:
      >>> inst = lower_bound_family(2, 4, 0.2, index=[3, 1])
      >>> inst.base.probs.round(3).tolist()
      [[1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.167, 0.167, 0.5, 0.167], [0.0, 0.5, 0.167, 0.167, 0.167]]
      >>> round(inst.claims["coverage"], 12), inst.model_class is not None
      (1.2, True)
    """
    d, M, gamma = _check_shape(d, M, gamma)
    Delta = _check_delta(Delta)
    p = check_real(p, "p", low=1.0)
    if index is None:
        index = check_rng(rng).integers(1, M + 1, size=d)
    index = _check_index(index, d, M)
    base = TabularPolicy.from_log_probs(_family_log_probs(M, gamma, index))
    mu = np.r_[1.0 - Delta, np.full(d, Delta / d)]
    log_mode, log_other = _log_masses(M, gamma)
    claims = {
        "coverage": lower_bound_coverage(M, Delta, p, gamma),
        "log_class_size": d * math.log(M),
        "class_size": M**d,
        "mode_mass": math.exp(log_mode),
        "other_mass": math.exp(log_other),
        "modes": np.r_[0, index],
        "sample_scale": d * M / Delta,
    }
    details = {"index": index, "d": d, "M": M, "Delta": Delta, "p": p, "gamma": gamma}
    model_class = _build_class(d, M, gamma, build_class)
    return Instance(
        "lower_bound_family",
        base,
        mu,
        model_class,
        claims,
        "Theorem 3.1′ (proof, Appendix H)",
        details,
    )


def _build_class(d: int, M: int, gamma: float, build_class):
    size = M**d
    if build_class is False or (build_class is None and size > MAX_CLASS_SIZE):
        return None
    if size > MAX_CLASS_SIZE:
        raise ValueError(
            f"the class has M**d = {size} models, more than MAX_CLASS_SIZE = {MAX_CLASS_SIZE}; "
            "pass build_class=None or False"
        )
    members = [
        TabularPolicy.from_log_probs(_family_log_probs(M, gamma, np.array(I)))
        for I in itertools.product(range(1, M + 1), repeat=d)
    ]
    return FiniteClass(members)


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
