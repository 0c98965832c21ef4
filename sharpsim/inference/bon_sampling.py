"""Best-of-N sampler: faithful (streamed through the oracle) or by the exact law (Section 3.1, SPEC §6).

:func:`best_of_n` either draws the ``N`` responses through the oracle,
streaming in chunks (including the empirical majority vote, whose reward
depends on the group of draws), or charges the same queries and draws each
pick from :func:`~sharpsim.inference.bon_law.best_of_n_law` (same
distribution, far faster).

References:
  Huang et al., "Self-Improvement in Language Models: The Sharpening
  Mechanism", ICLR 2025 (arXiv 2412.01951): Section 3.1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_int
from ..policies.base import decode_responses, is_enumerable
from ..policies.tabular import as_tabular
from ..rewards import resolve_reward
from ._bon_common import (
    _NO_INDEX,
    DEFAULT_CHUNK_SIZE,
    DEFAULT_MAX_DRAWS,
    _as_oracle,
    _Best,
    _best_position,
    _check_choice,
    _check_max_draws,
    _check_prompts,
    _check_tie_break,
    _checked_score,
    _is_sequence,
    _response_index,
)
from .bon_law import _law_rows

__all__ = ["BestOfNResult", "best_of_n"]


METHODS = ("faithful", "law")


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


# --------------------------------------------------------------------------- samplers


def _bon_stream(oracle, x, N: int, reward, tie_break: str, chunk_size: int):
    """Faithful BoN: draw ``N`` responses per prompt in chunks, keep the running best."""
    per_chunk = max(1, chunk_size // max(x.shape[0], 1))
    best = None
    for done in range(0, N, per_chunk):
        y, lp = oracle.sample(x, min(per_chunk, N - done))
        scores = _checked_score(reward, x, y, lp)
        index = (
            _response_index(oracle.base, y)
            if tie_break == "index"
            else np.zeros(lp.shape, np.int64)
        )
        chunk_best = _Best.at(_best_position(scores, index, tie_break), scores, y, lp, index)
        if best is None:
            best = chunk_best
        else:
            best.update(chunk_best, tie_break)
    assert best is not None  # N >= 1 draws at least one chunk
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
        raise TypeError(
            "a reward whose score depends on the group of draws must provide answer_ids(x, y)"
        )
    k = x.shape[0]
    rows = np.arange(k)
    per_chunk = max(1, chunk_size // max(k, 1))
    store = None
    columns = _AnswerColumns()
    for done in range(0, N, per_chunk):
        y, lp = oracle.sample(x, min(per_chunk, N - done))
        ids = reward.answer_ids(x, y)
        if ids.shape != lp.shape:
            raise ValueError(f"reward.answer_ids must return shape {lp.shape}; got {ids.shape}")
        if tie_break == "index":
            key = _response_index(oracle.base, y)
        else:
            key = done + np.broadcast_to(np.arange(lp.shape[1]), lp.shape)
        cols = columns.of(ids)
        store = _AnswerStore.grow(store, k, max(columns.n, 1), y, lp)
        store.add(rows, cols, key, y, lp)
    assert store is not None  # N >= 1 draws at least one chunk
    return store.pick(rows)


class _AnswerColumns:
    """Dense store columns ``0, 1, ...`` for answer ids in order of first appearance (ids are labels:
    a huge id must not become a huge column)."""

    def __init__(self):
        self.ids = np.zeros(0, np.int64)  # sorted
        self.cols = np.zeros(0, np.int64)  # column of each id in self.ids
        self.n = 0

    def of(self, ids: np.ndarray) -> np.ndarray:
        distinct, inverse = np.unique(ids, return_inverse=True)
        pos = np.minimum(np.searchsorted(self.ids, distinct), max(self.ids.size - 1, 0))
        known = self.ids[pos] == distinct if self.ids.size else np.zeros(distinct.size, bool)
        cols = np.where(known, self.cols[pos] if self.ids.size else 0, 0)
        fresh = np.flatnonzero(~known)
        cols[fresh] = self.n + np.arange(fresh.size)
        self.n += fresh.size
        order = np.argsort(np.concatenate([self.ids, distinct[fresh]]), kind="stable")
        self.ids = np.concatenate([self.ids, distinct[fresh]])[order]
        self.cols = np.concatenate([self.cols, cols[fresh]])[order]
        return cols[inverse].reshape(ids.shape)


@dataclass
class _AnswerStore:
    """Per (prompt, answer): count, best key (draw number or response index) and its response."""

    count: np.ndarray
    key: np.ndarray
    response: np.ndarray
    log_prob: np.ndarray

    @classmethod
    def grow(cls, store, k: int, n_answers: int, y, lp) -> _AnswerStore:
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
        return cls(
            *(
                np.concatenate([getattr(store, f), getattr(new, f)], axis=1)
                for f in cls.__dataclass_fields__
            )
        )

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


def _sample_from_log_rows(
    log_rows: np.ndarray, rows: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
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
    # exact: the generator's 53 random bits
    m = (np.asarray(rng.random(rows.shape[0])) * 2.0**53).astype(np.int64)
    # blocks of rows keep the stacked keys within int64
    for lo in range(0, log_rows.shape[0], block):
        cdf = np.cumsum(np.exp(log_rows[lo : lo + block]), axis=1)
        keys = np.ceil(cdf / cdf[:, -1:] * 2.0**53).astype(np.int64)
        keys += (np.arange(keys.shape[0], dtype=np.int64) * stride)[:, None]
        mine = np.flatnonzero((rows >= lo) & (rows < lo + block))
        local = rows[mine] - lo
        out[mine] = (
            np.searchsorted(keys.ravel(), local * stride + m[mine], side="right")
            - local * keys.shape[1]
        )
    return out


def _bon_by_law(oracle, x, N: int, reward, tie_break: str):
    """Charge ``k·N`` queries and draw each pick from the exact law (same distribution as faithful)."""
    base = oracle.base
    tab = as_tabular(base, "source")
    oracle.charge(x.shape[0] * N)
    prompts, inverse = np.unique(x, return_inverse=True)
    law = _law_rows(tab, base, reward, float(N), tie_break, rows=prompts)
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
    max_draws=DEFAULT_MAX_DRAWS,
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
        on it) or a policy (wrapped in a fresh oracle seeded by ``rng``). An
        opaque base (``enumerable = False``, a real LM; see
        :class:`~sharpsim.policies.base.Policy`) takes ``method="faithful"``
        and ``tie_break="first"``; its responses are ``[k, N, H]`` arrays.
      x: int array ``[k]`` of prompts.
      N: responses per prompt (``>= 1``).
      reward: ``None`` (log-likelihood), a reward object, or an array ``[X, Y]``.
      method: ``"faithful"`` or ``"law"`` (needs an enumerable base).
      tie_break: ``"first"`` (earliest draw among the maximal ones) or
        ``"index"`` (smallest response index among them; needs an enumerable base). A draw is maximal
        when its reward is tied with the best draw's by the package's rule
        (:data:`~sharpsim.policies.base.TIE_RTOL`; CONTRIBUTING.md, "Ties").
      rng: seed or generator when ``source`` is a policy; must be ``None`` for an oracle.
      chunk_size: bound on the pairs held in memory by the faithful sampler.
      max_draws: most responses the faithful sampler may draw in this call
        (default ``10**10``, about ten minutes; ``None``: no cap); ``k·N`` above
        it is a ``ValueError`` before any draw.

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
    tie_break = _check_tie_break(tie_break, oracle.base)
    if method == "law" and not is_enumerable(oracle.base):
        raise ValueError(
            "method='law' draws each pick from the exact best-of-N law, which needs an enumerable base; "
            f"{type(oracle.base).__name__} is opaque (enumerable=False): use method='faithful'"
        )
    chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    max_draws = _check_max_draws(max_draws)
    reward = resolve_reward(reward)
    if method == "faithful" and max_draws is not None and x.shape[0] * N > max_draws:
        raise ValueError(
            f"N = {N} for {x.shape[0]} prompts means {x.shape[0] * N} faithful draws; at most max_draws = "
            f"{max_draws}: use method='law' (same distribution, same queries charged) or raise max_draws"
        )
    before = oracle.queries
    oracle.check_request(x.shape[0] * N)  # the whole request, before the first draw
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
