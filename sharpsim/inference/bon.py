"""Best-of-N sharpening at inference time: exact law, faithful sampler, adaptive stopping (SPEC §6).

Best-of-N (BoN) draws ``N`` responses ``y_1..y_N ~ π_base(·|x)`` and returns
the one with the largest self-reward. This module gives

* :func:`best_of_n_law`: the exact law ``π^BoN_N`` as a ``TabularPolicy``
  (any reward that is a fixed function of ``(x, y)``), in log space, so that
  ``N = 10^6`` and masses of ``1e-300`` are handled without cancellation;
* :func:`best_of_n`: the sampler, either faithful (draws the ``N`` responses
  through the oracle, streaming in chunks) or by the exact law (same
  distribution, same query count, far faster);
* :func:`adaptive_best_of_n`: the stopping rule of Eq. (10) (Appendix D), with
  its exact stopping-time mean :func:`adaptive_best_of_n_expected_samples`
  and exact law :func:`adaptive_best_of_n_law` (log-likelihood reward);
* :func:`bon_failure_probability` / :func:`bon_sufficient_n`: Proposition C.1.

References:
  Huang et al., "Self-Improvement in Language Models: The Sharpening
  Mechanism", ICLR 2025 (arXiv 2412.01951): Section 3.1, Proposition C.1,
  Eq. (10), Theorem D.1, Lemma I.1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from .._validation import check_index_array, check_int, check_real
from ..measures import mode_mask
from ..oracle import SampleEvaluateOracle
from ..policies.base import Policy, decode_responses, encode_sequences
from ..policies.tabular import TabularPolicy, as_tabular
from ..rewards import resolve_reward, reward_table

__all__ = [
    "BestOfNResult",
    "AdaptiveBestOfNResult",
    "best_of_n_law",
    "best_of_n",
    "adaptive_best_of_n",
    "adaptive_best_of_n_expected_samples",
    "adaptive_best_of_n_law",
    "bon_failure_probability",
    "bon_sufficient_n",
]

TIE_BREAKS = ("first", "index")
METHODS = ("faithful", "law")
#: Default bound on the (prompt, response) pairs a sampler holds in memory at once.
DEFAULT_CHUNK_SIZE = 1 << 20
#: Exact laws process rows in blocks of about this many table entries.
_BLOCK_ELEMENTS = 1 << 16
_NO_INDEX = np.iinfo(np.int64).max
_LOG_HALF = math.log(0.5)


@dataclass(frozen=True)
class BestOfNResult:
    """Picks of best-of-N for ``k`` prompts.

    Attributes:
      responses: the picks, int ``[k]`` (tabular) or ``[k, H]`` (sequences).
      log_probs: ``log π_base`` of the picks, float ``[k]``.
      queries: sample-and-evaluate queries this call charged (``k·N``).
    """

    responses: np.ndarray
    log_probs: np.ndarray
    queries: int


@dataclass(frozen=True)
class AdaptiveBestOfNResult:
    """Picks of adaptive best-of-N (Eq. 10) for ``k`` prompts.

    Attributes:
      responses: the picks, ``[k]`` or ``[k, H]``.
      log_probs: ``log π_base`` of the picks, ``[k]``.
      samples_per_prompt: the stopping times ``N_μ(x)`` (or the cap), int ``[k]``.
      queries: queries this call charged, ``samples_per_prompt.sum()`` (Def. D.1).
      stopped: bool ``[k]``; ``False`` where ``max_samples`` was reached first.
    """

    responses: np.ndarray
    log_probs: np.ndarray
    samples_per_prompt: np.ndarray
    queries: int
    stopped: np.ndarray


# --------------------------------------------------------------------------- validation


def _check_choice(value, name: str, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}; got {value!r}")
    return value


def _check_n(n, name: str) -> float:
    """A positive integer number of draws, returned as a float for the power laws."""
    n = check_int(n, name, minimum=1)
    try:
        return float(n)
    except OverflowError:
        raise ValueError(f"{name} must be at most {np.finfo(float).max:.3g}; got a {n.bit_length()}-bit integer") from None


def _check_mu_stop(mu_stop) -> float:
    return check_real(mu_stop, "mu_stop", low=0.0, low_open=True)


def _as_oracle(source, rng) -> SampleEvaluateOracle:
    if isinstance(source, SampleEvaluateOracle):
        if rng is not None:
            raise ValueError("rng must be None when source is a SampleEvaluateOracle (its generator is used)")
        return source
    if isinstance(source, Policy):
        return SampleEvaluateOracle(source, rng=rng)
    raise TypeError(f"source must be a SampleEvaluateOracle or a policy; got {type(source).__name__}")


def _check_prompts(x, oracle: SampleEvaluateOracle) -> np.ndarray:
    x = check_index_array(x, "x", oracle.base.n_contexts)
    if x.ndim != 1:
        raise ValueError(f"x must be 1-d; got shape {x.shape}")
    return x


def _is_sequence(base) -> bool:
    return hasattr(base, "horizon") and hasattr(base, "vocab_size")


def _response_index(base, y: np.ndarray) -> np.ndarray:
    """Index of each response in the tabular order (mixed radix for sequences)."""
    if not _is_sequence(base):
        return y
    if base.vocab_size**base.horizon > _NO_INDEX:
        raise ValueError("tie_break='index' needs vocab_size**horizon to fit in int64")
    return encode_sequences(y, base.vocab_size)


# --------------------------------------------------------------------------- log-space kernels


def _log1mexp(z: np.ndarray) -> np.ndarray:
    """``log(1 - e^z)`` for ``z <= 0``, accurate at both ends (``-inf`` at 0, ``0`` at ``-inf``)."""
    z = np.asarray(z, dtype=float)
    with np.errstate(divide="ignore"):
        # expm1 near 0, log1p(-exp) far from 0: each branch is exact where it is used.
        near = np.log(-np.expm1(np.minimum(z, 0.0)))
        far = np.log1p(-np.exp(z))
    return np.where(z > _LOG_HALF, near, far)


def _log_power_difference(log_upper: np.ndarray, log_gap: np.ndarray, power) -> np.ndarray:
    """``log(F^n - (F - m)^n)`` from ``log F`` and ``log m`` (``0 <= m <= F``), without cancellation.

    ``F^n - (F-m)^n = F^n · (1 - (1 - m/F)^n)``; the last factor is
    ``-expm1(n·log1p(-m/F))``, exact even when ``m/F`` is ``1e-300`` or ``n = 10^6``.
    """
    power = np.broadcast_to(np.asarray(power, dtype=float), np.shape(log_upper))
    positive = log_gap > -np.inf
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        # m/F ≤ 1 mathematically; the min only absorbs the last-ulp rounding of the two sums.
        ratio = np.where(positive, np.minimum(np.exp(log_gap - log_upper), 1.0), 0.0)
        z = np.where(positive, power * np.log1p(-ratio), 0.0)
        head = np.where(log_upper == 0.0, 0.0, power * log_upper)
    return head + _log1mexp(z)


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


def _log_running_sums(lp: np.ndarray) -> np.ndarray:
    """``log Σ_{j≤i} exp(lp_j)`` along rows.

    Summed in linear space after scaling by the row maximum (fast); rows whose
    positive entries span more than 700 nats would underflow there and are
    redone exactly with ``logaddexp.accumulate``.
    """
    if lp.shape[1] == 0:
        return lp.copy()
    top = np.max(lp, axis=1, keepdims=True)
    top = np.where(top > -np.inf, top, 0.0)  # a row of zero masses sums to -inf either way
    with np.errstate(divide="ignore"):
        out = np.log(np.cumsum(np.exp(lp - top), axis=1)) + top
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
    suffix[:, :-1] = _log_running_sums(sorted_lp[:, :0:-1])[:, ::-1]
    with np.errstate(divide="ignore"):
        upper = np.log1p(-np.exp(np.minimum(suffix, 0.0)))
    return np.where(prefix > _LOG_HALF, upper, prefix), suffix


def _sorted_by_reward(log_probs, rewards, tie_break):
    """Sort rows by reward (ties by descending index for ``'index'``); flag the start of each tie group."""
    n_cols = log_probs.shape[1]
    if tie_break == "first":
        order = np.argsort(rewards, axis=1)  # order within a tie group is irrelevant
    else:
        # Smallest index wins a tie, so among equal rewards it must come last.
        order = n_cols - 1 - np.argsort(rewards[:, ::-1], axis=1, kind="stable")
    sorted_lp = np.take_along_axis(log_probs, order, axis=1)
    new_group = np.ones(log_probs.shape, dtype=bool)
    if tie_break == "first":
        sorted_r = np.take_along_axis(rewards, order, axis=1)
        new_group[:, 1:] = sorted_r[:, 1:] != sorted_r[:, :-1]
    return order, sorted_lp, new_group


def _unsort(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    out = np.empty_like(values)
    np.put_along_axis(out, order, values, axis=1)
    return out


def _spread_in_group(log_group_law, sorted_lp, log_group_mass):
    """Split each group's law over its members ∝ π (zero-mass members get ``-inf``)."""
    with np.errstate(invalid="ignore"):
        return np.where(sorted_lp > -np.inf, log_group_law + sorted_lp - log_group_mass, -np.inf)


def _bon_log_law(log_probs: np.ndarray, rewards: np.ndarray, n: float, tie_break: str) -> np.ndarray:
    """Exact log-law of best-of-n for rows ``[R, Y]`` (see :func:`best_of_n_law`)."""
    order, lp, new_group = _sorted_by_reward(log_probs, rewards, tie_break)
    start, end = _run_bounds(new_group)
    log_cdf, _ = _log_cdf_parts(lp)
    log_upper = np.take_along_axis(log_cdf, end, axis=1)
    log_mass = _group_log_mass(lp, new_group)
    log_group_law = _log_power_difference(log_upper, log_mass, n)
    return _unsort(_spread_in_group(log_group_law, lp, log_mass), order)


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

    Responses are ordered by reward. For a tie group ``G`` (responses with the
    same reward), with ``F_G`` the base mass of rewards ``≤ r(G)`` and ``F_<G``
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
    rewards = reward_table(resolve_reward(reward), pi, tab.n_contexts, tab.n_responses)
    law = _by_row_blocks(lambda lp, r: _bon_log_law(lp, r, n, tie_break), tab.log_probs, rewards)
    return TabularPolicy.from_log_probs(law)


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


# --------------------------------------------------------------------------- samplers


def _checked_score(reward, x, y, log_prob) -> np.ndarray:
    scores = np.asarray(reward.score(x, y, log_prob), dtype=float)
    if scores.shape != log_prob.shape:
        raise ValueError(f"reward.score must return shape {log_prob.shape}; got {scores.shape}")
    if np.any(np.isnan(scores)):
        raise ValueError("reward.score returned NaN")
    return scores


def _best_position(scores, index, tie_break, valid=None) -> np.ndarray:
    """Column of the best draw per row under the tie rule; ``valid`` masks a prefix of columns."""
    if valid is not None:
        scores = np.where(valid, scores, -np.inf)
    if tie_break == "first":
        return np.argmax(scores, axis=1)  # first occurrence of the maximum
    tied = scores == scores.max(axis=1, keepdims=True)
    if valid is not None:
        tied &= valid
    return np.argmin(np.where(tied, index, _NO_INDEX), axis=1)


@dataclass
class _Best:
    """Running best draw per prompt: reward, response, base log-prob, response index."""

    score: np.ndarray
    response: np.ndarray
    log_prob: np.ndarray
    index: np.ndarray

    @classmethod
    def at(cls, pos, scores, y, lp, index) -> "_Best":
        rows = np.arange(scores.shape[0])
        return cls(scores[rows, pos], y[rows, pos], lp[rows, pos], index[rows, pos])

    def update(self, other: "_Best", tie_break: str, rows=None) -> None:
        """Take ``other`` where it wins: strictly higher reward, or (``'index'``) an equal one of smaller index.

        Under ``'first'`` the incumbent, drawn earlier, keeps ties. ``rows``
        selects the entries ``other`` competes for (default: all).
        """
        rows = slice(None) if rows is None else rows
        better = other.score > self.score[rows]
        if tie_break == "index":
            better |= (other.score == self.score[rows]) & (other.index < self.index[rows])
        for name in ("score", "response", "log_prob", "index"):
            mine, theirs = getattr(self, name), getattr(other, name)
            keep = better.reshape(better.shape + (1,) * (theirs.ndim - 1))
            mine[rows] = np.where(keep, theirs, mine[rows])


def _bon_stream(oracle, x, N: int, reward, tie_break: str, chunk_size: int):
    """Faithful BoN: draw ``N`` responses per prompt in chunks, keep the running best."""
    per_chunk = max(1, chunk_size // max(x.shape[0], 1))
    best = None
    for done in range(0, N, per_chunk):
        y, lp = oracle.sample(x, min(per_chunk, N - done))
        scores = _checked_score(reward, x, y, lp)
        index = _response_index(oracle.base, y) if tie_break == "index" else np.zeros(lp.shape, np.int64)
        chunk_best = _Best.at(_best_position(scores, index, tie_break), scores, y, lp, index)
        if best is None:
            best = chunk_best
        else:
            best.update(chunk_best, tie_break)
    return best.response, best.log_prob


def _bon_group_stream(oracle, x, N: int, reward, tie_break: str, chunk_size: int):
    """Faithful BoN under the empirical majority vote, streaming answer counts.

    The empirical reward of a draw is the share of the ``N`` draws with its
    answer, so the maximal draws are those whose answer is a plurality answer.
    For each (prompt, answer) we keep the count and one representative: the
    first draw with that answer (``'first'``) or the drawn response of smallest
    index (``'index'``); the pick is the best representative among plurality
    answers (earliest draw, or smallest index).
    """
    if not hasattr(reward, "answer_ids"):
        raise TypeError("a reward whose score depends on the group of draws must provide answer_ids(x, y)")
    k = x.shape[0]
    rows = np.arange(k)
    per_chunk = max(1, chunk_size // max(k, 1))
    store = None
    for done in range(0, N, per_chunk):
        y, lp = oracle.sample(x, min(per_chunk, N - done))
        ids = reward.answer_ids(x, y)
        if ids.shape != lp.shape:
            raise ValueError(f"reward.answer_ids must return shape {lp.shape}; got {ids.shape}")
        if tie_break == "index":
            key = _response_index(oracle.base, y)
        else:
            key = done + np.broadcast_to(np.arange(lp.shape[1]), lp.shape)
        store = _AnswerStore.grow(store, k, int(ids.max()) + 1 if ids.size else 1, y, lp)
        store.add(rows, ids, key, y, lp)
    return store.pick(rows)


@dataclass
class _AnswerStore:
    """Per (prompt, answer): count, best key (draw number or response index) and its response."""

    count: np.ndarray
    key: np.ndarray
    response: np.ndarray
    log_prob: np.ndarray

    @classmethod
    def grow(cls, store, k: int, n_answers: int, y, lp) -> "_AnswerStore":
        if store is not None and store.count.shape[1] >= n_answers:
            return store
        old = 0 if store is None else store.count.shape[1]
        extra = n_answers - old
        new = cls(
            np.zeros((k, extra), np.int64),
            np.full((k, extra), _NO_INDEX, np.int64),
            np.zeros((k, extra) + y.shape[2:], y.dtype),
            np.full((k, extra), -np.inf),
        )
        if store is None:
            return new
        return cls(*(np.concatenate([getattr(store, f), getattr(new, f)], axis=1) for f in cls.__dataclass_fields__))

    def add(self, rows, ids, key, y, lp) -> None:
        n_answers = self.count.shape[1]
        flat = (rows[:, None] * n_answers + ids).ravel()
        self.count += np.bincount(flat, minlength=self.count.size).reshape(self.count.shape)
        # Smallest key per (prompt, answer) in this chunk: sort by (cell, key), keep each cell's first entry.
        order = np.lexsort((key.ravel(), flat))
        cells, first = np.unique(flat[order], return_index=True)
        src = order[first]
        r, a = np.divmod(cells, n_answers)
        c = src % ids.shape[1]
        wins = key[r, c] < self.key[r, a]
        r, a, c = r[wins], a[wins], c[wins]
        self.key[r, a] = key[r, c]
        self.response[r, a] = y[r, c]
        self.log_prob[r, a] = lp[r, c]

    def pick(self, rows):
        plurality = self.count == self.count.max(axis=1, keepdims=True)
        best = np.argmin(np.where(plurality, self.key, _NO_INDEX), axis=1)
        return self.response[rows, best], self.log_prob[rows, best]


def _sample_from_log_rows(log_rows: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw per entry of ``rows`` from the distributions ``exp(log_rows)`` ``[R, Y]``, by inverse CDF.

    ``rng.random()`` returns ``m·2^-53`` with integer ``m``, and ``m·2^-53 < c`` iff
    ``m < ⌈c·2^53⌉``, so searching the integers ``⌈c·2^53⌉`` (rows stacked at
    offsets ``r·(2^53+1)``) reproduces the per-row float search exactly, in
    one ``searchsorted`` for all draws. Each CDF is divided by its last entry
    (1 up to the law's ~1e-12 rounding) so every uniform lands in its row.
    """
    stride = (1 << 53) + 1
    block = (np.iinfo(np.int64).max // stride) - 1
    out = np.empty(rows.shape[0], np.int64)
    m = (rng.random(rows.shape[0]) * 2.0**53).astype(np.int64)  # exact: the generator's 53 random bits
    for lo in range(0, log_rows.shape[0], block):  # blocks of rows keep the stacked keys within int64
        cdf = np.cumsum(np.exp(log_rows[lo : lo + block]), axis=1)
        keys = np.ceil(cdf / cdf[:, -1:] * 2.0**53).astype(np.int64)
        keys += (np.arange(keys.shape[0], dtype=np.int64) * stride)[:, None]
        mine = np.flatnonzero((rows >= lo) & (rows < lo + block))
        local = rows[mine] - lo
        out[mine] = np.searchsorted(keys.ravel(), local * stride + m[mine], side="right") - local * keys.shape[1]
    return out


def _bon_by_law(oracle, x, N: int, reward, tie_break: str):
    """Charge ``k·N`` queries and draw each pick from the exact law (same distribution as faithful)."""
    base = oracle.base
    tab = as_tabular(base, "source")
    oracle.charge(x.shape[0] * N)
    prompts, inverse = np.unique(x, return_inverse=True)
    rewards = reward_table(reward, base, tab.n_contexts, tab.n_responses)[prompts]
    law = _by_row_blocks(lambda lp, r: _bon_log_law(lp, r, float(N), tie_break), tab.log_probs[prompts], rewards)
    picks = _sample_from_log_rows(law, inverse.ravel(), oracle.rng)
    log_probs = tab.log_probs[x, picks]
    if _is_sequence(base):
        return decode_responses(picks, base.vocab_size, base.horizon), log_probs
    return picks, log_probs


def best_of_n(
    source,
    x,
    N,
    reward=None,
    method="faithful",
    tie_break="first",
    rng=None,
    chunk_size=DEFAULT_CHUNK_SIZE,
) -> BestOfNResult:
    """Best-of-``N`` picks for prompts ``x`` under a self-reward (Section 3.1, SPEC §6).

    ``"faithful"`` draws the ``N`` responses per prompt through the oracle in
    chunks of at most ``chunk_size`` (prompt, response) pairs — memory stays
    bounded for ``N = 10^6`` — scores them with ``reward.score`` and keeps the
    running best under the tie rule. ``"law"`` charges the same ``k·N`` queries
    and draws each pick from :func:`best_of_n_law`: the same distribution,
    far faster, but only for rewards that are fixed functions of ``(x, y)``
    (not the empirical majority vote, which raises ``ValueError``).

    Args:
      source: a :class:`~sharpsim.SampleEvaluateOracle` (queries are counted
        on it) or a policy (wrapped in a fresh oracle seeded by ``rng``).
      x: int array ``[k]`` of prompts.
      N: responses per prompt (``>= 1``).
      reward: ``None`` (log-likelihood), a reward object, or an array ``[X, Y]``.
      method: ``"faithful"`` or ``"law"``.
      tie_break: ``"first"`` (earliest draw among the maximal ones) or
        ``"index"`` (smallest response index among them).
      rng: seed or generator when ``source`` is a policy; must be ``None`` for an oracle.
      chunk_size: bound on the pairs held in memory by the faithful sampler.

    Returns:
      :class:`BestOfNResult` with ``responses`` ``[k]`` (or ``[k, H]``),
      ``log_probs`` ``[k]`` and ``queries == k·N``.

    Example:
      >>> import sharpsim as ss
      >>> pi = ss.TabularPolicy([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
      >>> res = ss.best_of_n(pi, [0, 1, 1], 50, rng=0)
      >>> res.responses.tolist(), res.queries
      ([0, 2, 2], 150)
    """
    oracle = _as_oracle(source, rng)
    x = _check_prompts(x, oracle)
    N = check_int(N, "N", minimum=1)
    method = _check_choice(method, "method", METHODS)
    tie_break = _check_choice(tie_break, "tie_break", TIE_BREAKS)
    chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    reward = resolve_reward(reward)
    before = oracle.queries
    if method == "law":
        if reward.depends_on_group:
            raise ValueError(
                "method='law' needs a reward that is a fixed function of (x, y); this reward scores each draw "
                "against the other draws (empirical majority vote): use method='faithful'"
            )
        responses, log_probs = _bon_by_law(oracle, x, N, reward, tie_break)
    elif reward.depends_on_group:
        responses, log_probs = _bon_group_stream(oracle, x, N, reward, tie_break, chunk_size)
    else:
        responses, log_probs = _bon_stream(oracle, x, N, reward, tie_break, chunk_size)
    return BestOfNResult(responses, log_probs, oracle.queries - before)


# --------------------------------------------------------------------------- adaptive best-of-N (Eq. 10)


def _stop_threshold(log_p: np.ndarray, mu: float) -> np.ndarray:
    """``c(p)``: the least ``k`` with ``k·p ≥ μ``, i.e. ``1/p ≤ k/μ`` (Eq. 10); ``inf`` for ``p = 0``.

    The sampler stops at draw ``k`` iff ``k ≥ c(max_{j≤k} p_j)`` and the exact
    laws use the same ``c``, so both agree even at floating-point boundaries.
    """
    p = np.exp(log_p)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        c = np.ceil(mu / p)
        finite = np.isfinite(c)
        # ceil(μ/p) can be off by one from rounding; settle it on the predicate k·p ≥ μ itself.
        c = np.where(finite & (c > 1) & ((c - 1) * p >= mu), c - 1, c)
        c = np.where(finite & (c * p < mu), c + 1, c)
    return c


def adaptive_best_of_n(
    source,
    x,
    mu_stop,
    reward=None,
    max_samples=None,
    rng=None,
    tie_break="first",
    on_cap="raise",
    chunk_size=DEFAULT_CHUNK_SIZE,
) -> AdaptiveBestOfNResult:
    """Adaptive best-of-N with the stopping rule of Eq. (10) (Appendix D, Lemma I.1).

    For each prompt, draw ``y_1, y_2, ... ~ π_base(·|x)`` until
    ``1 / max_{j≤k} π_base(y_j|x) ≤ k / μ_stop`` (evaluated as ``k·max_j π_base(y_j|x) ≥ μ_stop``),
    then return the draw with the largest reward among the ``N_μ = k`` drawn
    (tie rule as in :func:`best_of_n`). Lemma I.1:
    ``E[N_μ] ≤ (μ_stop + 1/|y*|) / max_y π_base(y|x)`` and, for the
    log-likelihood reward, the pick misses ``y*(x)`` with probability
    ``≤ exp(-|y*(x)|·μ_stop)``.

    Prompts advance together in rounds of geometrically growing blocks (no loop
    over prompts). A block may run past a prompt's stopping time; those extra
    draws are discarded unseen — nothing returned depends on them — and only
    the ``N_μ`` draws used are charged to the oracle, so both the law of the
    picks and the count ``m = Σ N_μ`` (Definition D.1) are those of drawing one
    response at a time.

    Args:
      source: a :class:`~sharpsim.SampleEvaluateOracle` or a policy.
      x: int array ``[k]`` of prompts.
      mu_stop: stopping parameter ``μ_stop > 0`` (Theorem D.1 uses ``ln(2/δ)``).
      reward: ``None`` (log-likelihood) or a reward that is a fixed function of
        ``(x, y)``; the stopping rule always uses ``π_base``.
      max_samples: optional cap on the draws per prompt. A prompt reaching it
        before the rule fires raises ``RuntimeError`` (``on_cap="raise"``) or
        is flagged in ``result.stopped`` (``on_cap="flag"``); never silent.
      rng: seed or generator when ``source`` is a policy; ``None`` for an oracle.
      tie_break: ``"first"`` or ``"index"``.
      on_cap: ``"raise"`` or ``"flag"``.
      chunk_size: bound on the pairs drawn per round.

    Returns:
      :class:`AdaptiveBestOfNResult`: ``responses``, ``log_probs``,
      ``samples_per_prompt`` ``[k]``, ``queries`` and ``stopped`` ``[k]``.

    Example:
      >>> import sharpsim as ss
      >>> pi = ss.TabularPolicy([[0.9, 0.1]])
      >>> res = ss.adaptive_best_of_n(pi, [0, 0, 0], mu_stop=1.0, rng=0)
      >>> res.responses.tolist(), res.samples_per_prompt.tolist(), res.queries
      ([0, 0, 0], [2, 2, 2], 6)
    """
    oracle = _as_oracle(source, rng)
    x = _check_prompts(x, oracle)
    mu = _check_mu_stop(mu_stop)
    reward = resolve_reward(reward)
    if reward.depends_on_group:
        raise ValueError("adaptive_best_of_n needs a reward that is a fixed function of (x, y)")
    max_samples = None if max_samples is None else check_int(max_samples, "max_samples", minimum=1)
    tie_break = _check_choice(tie_break, "tie_break", TIE_BREAKS)
    on_cap = _check_choice(on_cap, "on_cap", ("raise", "flag"))
    chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    state = _AdaptiveState(x.shape[0])
    block = int(_stop_threshold(np.zeros(()), mu))  # no prompt can stop before draw ⌈μ⌉
    active = np.arange(x.shape[0])
    while active.size:
        drawn = int(state.n_drawn[active[0]])  # active prompts have all drawn the same number
        size = min(block, max(1, chunk_size // active.size))
        if max_samples is not None:
            size = min(size, max_samples - drawn)
        fired = state.advance(oracle, x, active, drawn, size, mu, reward, tie_break)
        active = active[~fired]
        if max_samples is not None and drawn + size >= max_samples:
            active = active[:0]
        block *= 2
    return state.result(oracle, on_cap, max_samples)


class _AdaptiveState:
    """Per-prompt state of the adaptive sampler: draws so far, running max ``log π``, best pick."""

    def __init__(self, k: int):
        self.n_drawn = np.zeros(k, np.int64)
        self.stopped = np.zeros(k, bool)
        self.log_max = np.full(k, -np.inf)
        self.best = None

    def advance(self, oracle, x, active, drawn, size, mu, reward, tie_break) -> np.ndarray:
        """Draw a block for the active prompts; returns which of them stopped."""
        xa = x[active]
        y = oracle.base.sample(xa, size, rng=oracle.rng)
        lp = oracle.base.log_prob(np.broadcast_to(xa[:, None], (xa.shape[0], size)), y)
        run_max = np.maximum(self.log_max[active][:, None], np.maximum.accumulate(lp, axis=1))
        fire = (drawn + np.arange(1, size + 1)) >= _stop_threshold(run_max, mu)
        fired = fire.any(axis=1)
        used = np.where(fired, fire.argmax(axis=1) + 1, size)
        oracle.charge(int(used.sum()))
        valid = np.arange(size) < used[:, None]
        scores = _checked_score(reward, xa, y, lp)
        index = _response_index(oracle.base, y) if tie_break == "index" else np.zeros(lp.shape, np.int64)
        candidate = _Best.at(_best_position(scores, index, tie_break, valid), scores, y, lp, index)
        if self.best is None:
            self.best = candidate  # the first round covers every prompt
        else:
            self.best.update(candidate, tie_break, rows=active)
        self.log_max[active] = run_max[np.arange(active.size), used - 1]
        self.n_drawn[active] += used
        self.stopped[active] = fired
        return fired

    def result(self, oracle, on_cap: str, max_samples) -> AdaptiveBestOfNResult:
        capped = int(np.count_nonzero(~self.stopped))
        if capped and on_cap == "raise":
            raise RuntimeError(
                f"{capped} of {self.stopped.size} prompts reached max_samples={max_samples} before the stopping "
                f"rule of Eq. (10) fired; pass on_cap='flag' to keep their best-so-far picks (result.stopped)"
            )
        if self.best is None:  # no prompts
            shape = (0, oracle.base.horizon) if _is_sequence(oracle.base) else (0,)
            empty = np.zeros(shape, np.int64)
            return AdaptiveBestOfNResult(empty, np.zeros(0), self.n_drawn, 0, self.stopped)
        return AdaptiveBestOfNResult(
            self.best.response, self.best.log_prob, self.n_drawn, int(self.n_drawn.sum()), self.stopped
        )


def _adaptive_log_blocks(sorted_lp: np.ndarray, mu: float):
    """Blocks ``B_i = Σ_{c_{i+1} < k ≤ c_i} S_i^{k-1}`` of ``E[N_μ] = Σ_{k≥1} P(N_μ ≥ k)``, in log space.

    Rows are sorted by ``log π`` ascending; ``c_i = c(π_i)`` (non-increasing)
    and ``S_i`` is the mass of the first ``i+1`` entries. ``N_μ ≥ k`` iff the
    first ``k-1`` draws all have ``c > k-1``, which has probability ``S_i^{k-1}``
    for ``c_{i+1} < k ≤ c_i``; the top entry contributes ``B = c_top`` (no draw
    can stop before ``c_top``).
    """
    c = _stop_threshold(sorted_lp, mu)
    log_cdf, log_above = _log_cdf_parts(sorted_lp)
    c_here, c_next = c[:, :-1], c[:, 1:]
    log_s = log_cdf[:, :-1]
    with np.errstate(invalid="ignore"):
        gap = np.where(c_here == c_next, 0.0, c_here - c_next)
        # Σ_{k=a+1}^{b} S^{k-1} = S^a (1 - S^{b-a}) / (1 - S), with 1 - S the exact suffix mass.
        head = np.where(log_s > -np.inf, c_next * log_s, -np.inf)
        tail = np.where(gap > 0, _log1mexp(np.where(gap > 0, gap, 1.0) * log_s), -np.inf)
    blocks = head + tail - log_above[:, :-1]
    return np.concatenate([blocks, np.log(c[:, -1:])], axis=1), c, log_cdf


def _adaptive_rows(log_probs: np.ndarray, mu: float):
    """Exact ``E[N_μ]`` ``[R]`` and log-law of the adaptive pick ``[R, Y]`` (log-likelihood reward)."""
    order = np.argsort(log_probs, axis=1, kind="stable")
    lp = np.take_along_axis(log_probs, order, axis=1)
    log_blocks, c, log_cdf = _adaptive_log_blocks(lp, mu)
    expected = np.exp(logsumexp(log_blocks, axis=1))
    new_group = np.ones(lp.shape, dtype=bool)
    new_group[:, 1:] = lp[:, 1:] != lp[:, :-1]
    start, end = _run_bounds(new_group)
    log_mass = _group_log_mass(lp, new_group)
    stop_at_c = _log_power_difference(np.take_along_axis(log_cdf, end, axis=1), log_mass, c)
    below = np.logaddexp.accumulate(log_blocks, axis=1)
    log_t = np.where(start > 0, np.take_along_axis(below, np.maximum(start - 1, 0), axis=1), -np.inf)
    log_group_law = np.logaddexp(stop_at_c, log_mass + log_t)
    return expected, _unsort(_spread_in_group(log_group_law, lp, log_mass), order)


def adaptive_best_of_n_expected_samples(pi, mu_stop) -> np.ndarray:
    """Exact ``E[N_μ(x)]`` of the stopping time of Eq. (10), per prompt.

    With ``c(p) = min{k : k·p ≥ μ_stop}``, sampling stops at the first ``k``
    with ``k ≥ c(max_{j≤k} π(y_j|x))``, so ``P(N_μ ≥ k)`` is the probability that
    the first ``k-1`` draws all have ``c > k-1``: ``S_k^{k-1}`` with ``S_k`` the
    mass of those responses. ``S_k`` is piecewise constant in ``k``, so
    ``E[N_μ] = Σ_k P(N_μ ≥ k)`` is a finite sum of geometric series, summed in
    log space (tiny masses make some pieces astronomically long). Compare
    Lemma I.1: ``E[N_μ] ≤ (μ_stop + 1/|y*(x)|) / max_y π(y|x)``.

    Args:
      pi: base policy ``[n_contexts, n_responses]``.
      mu_stop: ``μ_stop > 0``.

    Returns:
      float array ``[n_contexts]``.

    Example:
      >>> import sharpsim as ss
      >>> pi = ss.TabularPolicy([[0.9, 0.1]])
      >>> adaptive_best_of_n_expected_samples(pi, 1.0).round(6).tolist()   # 2 + Σ_{k=2}^{9} 0.1^k
      [2.011111]
    """
    tab = as_tabular(pi, "pi")
    mu = _check_mu_stop(mu_stop)
    expected = _by_row_blocks(lambda lp: _adaptive_rows(lp, mu)[0][:, None], tab.log_probs)
    return expected[:, 0]


def adaptive_best_of_n_law(pi, mu_stop) -> TabularPolicy:
    """Exact law ``π^AdaBoN_μ(·|x)`` of the adaptive best-of-N pick (Eq. 10, Assumption D.1).

    Log-likelihood reward, ``tie_break="first"`` (the pick is uniform over the
    drawn maximal level, as in :func:`best_of_n_law`). For a level ``v`` of
    ``π(·|x)`` (responses with probability ``v``), with ``c = c(v)`` as in
    :func:`adaptive_best_of_n_expected_samples`, ``G(v)``/``G_<(v)`` the mass
    of responses with probability ``≤ v`` / ``< v`` and ``m_v = G(v) - G_<(v)``:
    stopping exactly at ``c`` with maximum ``v`` has probability
    ``G(v)^c - G_<(v)^c``; stopping later at ``k > c`` means the first ``k-1``
    draws had ``c > k-1`` (all below ``v``) and draw ``k`` is in level ``v``:
    ``m_v·P(N_μ ≥ k)``. So
    ``P(level v) = G(v)^c - G_<(v)^c + m_v·Σ_{k>c} P(N_μ ≥ k)``.

    Args:
      pi: base policy ``[n_contexts, n_responses]``.
      mu_stop: ``μ_stop > 0``.

    Returns:
      :class:`~sharpsim.TabularPolicy` ``[n_contexts, n_responses]``; its
      mass off ``y*(x)`` is at most ``exp(-|y*(x)|·μ_stop)`` (Lemma I.1).

    Example:
      >>> import sharpsim as ss
      >>> law = adaptive_best_of_n_law(ss.TabularPolicy([[0.9, 0.1]]), 1.0)
      >>> float(law.probs[0, 1].round(15))   # only if the first ten draws all give the 0.1 response
      1e-10
    """
    tab = as_tabular(pi, "pi")
    mu = _check_mu_stop(mu_stop)
    return TabularPolicy.from_log_probs(_by_row_blocks(lambda lp: _adaptive_rows(lp, mu)[1], tab.log_probs))
