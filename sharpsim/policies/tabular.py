"""Tabular policies: an explicit distribution over responses for each prompt.

``TabularPolicy`` is the workhorse of the exact computations (SPEC §1): a
table ``[n_contexts, n_responses]`` of probabilities, held in log space so
that zero-probability responses are ``-inf`` and tiny ones do not underflow.
"""

from __future__ import annotations

import numpy as np

from .._validation import (
    PROB_ATOL,
    as_real_array,
    check_index_array,
    check_int,
    check_log_prob_rows,
    check_prob_rows,
    check_real,
    check_rng,
)

#: Pairs drawn per pass of the sampler: enough to amortise numpy's per-call cost, few enough
#: for a pass's temporaries (about 100 bytes a pair) to stay in the L2 cache.
SAMPLE_CHUNK = 1 << 14
#: Table entries whose alias columns are built together (bounds the build's temporaries).
_BUILD_ENTRIES = 1 << 16


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Normalise the last axis in log space: ``logits - log Σ exp(logits)``.

    Every row needs a finite entry; ``-inf`` stays ``-inf`` (probability 0).
    Valid for any finite logits, ``1e300`` included.

    Example:
      >>> log_softmax(np.array([[1e17, 1e17, -np.inf]])).round(4).tolist()
      [[-0.6931, -0.6931, -inf]]
    """
    # Max-subtracted NumPy (2-5x faster than scipy's logsumexp here): the row max becomes 0, so exp
    # cannot overflow, log Σ exp lies in [0, log n], and huge logits keep their gaps (a gap past the
    # float range is -inf: mass 0).
    with np.errstate(over="ignore"):
        z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


class TabularPolicy:
    """A policy given by a table of conditional probabilities ``π(y|x)``.

    Args:
      probs: float array ``[n_contexts, n_responses]``; finite, non-negative,
        each row summing to 1 within ``atol``. Never renormalised.
      atol: tolerance on the row sums (default ``1e-8``).

    Attributes:
      n_contexts, n_responses: the table's shape.
      log_probs: ``[n_contexts, n_responses]``, ``-inf`` where the probability is 0.
      probs: ``exp(log_probs)``.

    Example:
      >>> import sharpsim as ss
      >>> pi = ss.TabularPolicy([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
      >>> pi.log_prob([0, 1], [0, 2]).round(3).tolist()
      [-0.693, -0.223]
      >>> pi.sample([0, 1], 4, rng=0).shape
      (2, 4)
    """

    #: Dimensions of one response: 0, an integer (autoregressive policies: 1, a token sequence ``[H]``).
    response_ndim = 0

    def __init__(self, probs, *, atol: float = PROB_ATOL):
        probs = check_prob_rows(probs, "probs", atol=check_real(atol, "atol", low=0.0))
        with np.errstate(divide="ignore"):
            log_probs = np.log(probs)
        self._set_log_probs(log_probs)

    @classmethod
    def from_logits(cls, logits) -> TabularPolicy:
        """Policy ``π(y|x) ∝ exp(logits[x, y])``, normalised with log-sum-exp.

        ``logits`` may contain ``-inf`` (probability 0) but no NaN or ``+inf``,
        and every row needs at least one finite entry.

        Example:
          >>> TabularPolicy.from_logits([[0.0, 0.0]]).probs.tolist()
          [[0.5, 0.5]]
        """
        arr = as_real_array(logits, "logits")
        if arr.ndim != 2 or arr.size == 0:
            raise ValueError(f"logits must be a non-empty 2-d array; got shape {arr.shape}")
        if np.any(np.isnan(arr)) or np.any(arr == np.inf):
            raise ValueError("logits must not contain NaN or +inf")
        dead = np.all(arr == -np.inf, axis=1)
        if np.any(dead):
            raise ValueError(f"logits row {int(np.argmax(dead))} is all -inf: no response has mass")
        return cls.from_log_probs(log_softmax(arr), atol=1e-6)

    @classmethod
    def from_log_probs(cls, log_probs, *, atol: float = PROB_ATOL) -> TabularPolicy:
        """Policy from log-probabilities ``[n_contexts, n_responses]`` whose rows log-sum-exp to 0 (within ``atol``).

        ``-inf`` marks probability 0. Never renormalised: a row off by more than ``atol`` is a ``ValueError``.

        Example:
          >>> TabularPolicy.from_log_probs([[0.0, -np.inf]]).probs.tolist()
          [[1.0, 0.0]]
        """
        arr = check_log_prob_rows(
            as_real_array(log_probs, "log_probs"),
            "log_probs",
            atol=check_real(atol, "atol", low=0.0),
        )
        obj = cls.__new__(cls)
        TabularPolicy._set_log_probs(obj, arr)
        return obj

    def _set_log_probs(self, log_probs: np.ndarray) -> None:
        self._log_probs = np.ascontiguousarray(log_probs, dtype=float)
        self._log_probs.setflags(write=False)
        self.n_contexts, self.n_responses = self._log_probs.shape
        self._alias = None

    @property
    def log_probs(self) -> np.ndarray:
        """``log π(y|x)``, shape ``[n_contexts, n_responses]`` (read-only)."""
        return self._log_probs

    @property
    def probs(self) -> np.ndarray:
        """``π(y|x)``, shape ``[n_contexts, n_responses]``."""
        return np.exp(self._log_probs)

    def log_prob(self, x, y) -> np.ndarray:
        """``log π(y|x)`` for broadcasting integer arrays ``x`` and ``y``."""
        x = check_index_array(x, "x", self.n_contexts)
        y = check_index_array(y, "y", self.n_responses)
        return self._log_probs[x, y]

    def prob(self, x, y) -> np.ndarray:
        """``π(y|x)`` for broadcasting integer arrays ``x`` and ``y``."""
        return np.exp(self.log_prob(x, y))

    def sample(self, x, n: int, rng=None) -> np.ndarray:
        """Draw ``n`` i.i.d. responses for each prompt in ``x`` (the sampling half of Definition 3.2).

        Exact up to double precision, by Walker's alias method (one table per
        prompt, built once and cached; see :class:`_AliasTables`):

        * a response with ``π(y|x) = 0`` is never drawn;
        * a response with ``π(y|x) < 2**-b`` (``2**b`` the smallest power of two
          ``>= n_responses``) is drawn with probability exactly ``π(y|x)``,
          however small (``1e-300`` and subnormals included), unless it is
          the prompt's first most likely response;
        * any other response with absolute error at most ``|1 - Σ_y π(y|x)|``
          (the row's rounding slack, ``<= atol``) plus ``2**(b-51)`` from the
          table's prefix sums (about ``1e-16`` in practice).

        The tables are built on first use and cached on the (immutable)
        policy: ``32·n_contexts·2**b`` bytes (fewer than 64 bytes a table
        entry), holding each column's log-likelihoods too, so that a draw with
        its likelihood (the oracle's query) reads one 32-byte record.

        Randomness: one ``rng.random()`` per response, in order, plus extra
        uniforms on a rare tie (probability ``2**(b-53)`` per draw). So the same
        seed gives the same samples, and splitting the request into pieces
        changes nothing unless a tie occurs.

        Args:
          x: int array ``[k]`` of prompt indices.
          n: responses per prompt (``>= 0``).
          rng: ``None``, an int seed or a ``numpy.random.Generator``.

        Returns:
          int64 array ``[k, n]``.

        Example:
          >>> pi = TabularPolicy([[0.0, 1.0], [0.5, 0.5]])
          >>> pi.sample([0, 0], 3, rng=0).tolist()
          [[1, 1, 1], [1, 1, 1]]
        """
        x = check_index_array(x, "x", self.n_contexts)
        if x.ndim != 1:
            raise ValueError(f"x must be 1-d; got shape {x.shape}")
        n = check_int(n, "n", minimum=0)
        rng = check_rng(rng)
        tables = self._alias_tables()
        return tables.draw_all(np.repeat(x << tables.bits, n), rng)[0].reshape(x.shape[0], n)

    def _sample_rows(self, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One response per entry of ``rows`` (validated prompt indices ``[m]``); int64 ``[m]``."""
        tables = self._alias_tables()
        return tables.draw_all(rows << tables.bits, rng)[0]

    def _sample_rows_with_log_prob(self, rows: np.ndarray, rng: np.random.Generator):
        """:meth:`_sample_rows` and ``log π(y|x)`` ``[m]`` in one pass (the oracle's fast path)."""
        tables = self._alias_tables()
        return tables.draw_all(rows << tables.bits, rng, with_log_prob=True)

    def _sample_repeated_with_log_prob(self, x: np.ndarray, n: int, rng: np.random.Generator):
        """``_sample_rows_with_log_prob(np.repeat(x, n))`` reshaped to ``[k, n]``, the same draws."""
        tables = self._alias_tables()
        y, log_prob = tables.draw_all(np.repeat(x << tables.bits, n), rng, with_log_prob=True)
        return y.reshape(x.shape[0], n), log_prob.reshape(x.shape[0], n)

    def _alias_tables(self) -> _AliasTables:
        if getattr(self, "_alias", None) is None:
            self._alias = _AliasTables.from_log_probs(self._log_probs)
        return self._alias

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_alias", None)  # a cache, rebuilt on demand: do not ship it to workers
        return state

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n_contexts={self.n_contexts}, n_responses={self.n_responses})"
        )


def as_tabular(policy, name: str = "policy") -> TabularPolicy:
    """Return ``policy`` as a :class:`TabularPolicy` (exact computations need the full table).

    Autoregressive policies are enumerated with their ``to_tabular()`` method,
    which raises ``ValueError`` past its documented size limit.

    Args:
      policy: a :class:`TabularPolicy` (returned as is) or anything with ``to_tabular()``.
      name: the argument name used in the ``TypeError`` for anything else.

    Returns:
      :class:`TabularPolicy` ``[n_contexts, n_responses]``.

    Example:
      >>> import sharpsim as ss
      >>> ar = ss.JointAutoregressivePolicy([[0.0, 0.4, 0.35, 0.25]], 2, 2)
      >>> as_tabular(ar).probs.round(2).tolist()
      [[0.0, 0.4, 0.35, 0.25]]
    """
    if isinstance(policy, TabularPolicy):
        return policy
    if hasattr(policy, "to_tabular"):
        return policy.to_tabular()
    raise TypeError(
        f"{name} must be a TabularPolicy or have to_tabular(); got {type(policy).__name__}"
    )


#: One column of the alias tables, read by one random 32-byte load (half a cache line).
_RECORD = np.dtype([("bound", "f8"), ("alias", "i8"), ("log_own", "f8"), ("log_alias", "f8")])


class _AliasTables:
    """Walker alias tables for every row of a probability table, built without a loop over rows.

    Row ``r`` gets ``width = 2**bits >= n_responses`` columns; responses past
    ``n_responses`` are padding of mass 0. Column ``c`` holds a threshold
    ``q[r, c]`` in ``[0, 1]`` and an alias ``a[r, c]``. A draw picks a column
    uniformly and returns it with probability ``q``, its alias otherwise, so
    ``P(y) = (q[y] + Σ_{c : a[c] = y} (1 - q[c])) / width``.

    Construction (the sweep, written with prefix sums). Scale ``w = width·p``;
    responses with ``w < 1`` are light, the others heavy (and the row's argmax
    always, so that a row summing to slightly under 1 still has one). Lights
    keep ``q = w``; each pays its deficit ``1 - w`` to the heavy whose
    cumulative-surplus interval ``[S_{j-1}, S_j)`` contains the cumulative
    deficit ``D_{i-1}`` of the lights before it. Heavy ``j`` is thereby
    overdrawn by ``D_{i*} - S_j`` (``i*`` the first light with ``D_{i*} >= S_j``),
    which its own column gives up to the next heavy: ``q = 1 - (D_{i*} - S_j)``.
    Summing a heavy's pieces telescopes to ``w_j``; the last heavy keeps its
    whole column and absorbs the row's rounding slack ``width·|1 - Σ p|``. Both
    searches are ranks in a merge of two sorted runs, one stable sort per row.

    Layout: one 32-byte record per column (:data:`_RECORD`), so a draw with its
    log-likelihood costs one random memory read: ``bound = c + ⌊q/step⌋·step``
    (exact: at most 53 significant bits), the alias, ``log p[c]`` and
    ``log p[alias]``. With ``u`` the double uniform, ``u·width = c + frac``
    (exact), and ``frac + step <= q`` iff ``u·width < bound``; ``u·width == bound``
    means ``frac``'s grid cell may straddle ``q``, the rare tie (probability
    ``<= step`` a draw) that :meth:`draw` settles with the exact ``q``,
    recomputed for that row.

    Why a zero-mass response is never drawn: it is light with ``q = 0`` and
    every alias is heavy (``w >= 1``, or the row's argmax, of positive mass);
    :meth:`draw` returns a column only when its uniform lies below ``q``.
    Why a light response (other than a forced argmax) has exactly its
    probability: it is nobody's alias, so ``P(y) = q/width = p`` with
    ``q = width·p`` computed exactly (a power of two), and :meth:`draw`
    compares its uniform with ``q`` exactly.

    Memory: the tables take ``32·n_rows·width`` bytes; the build's temporaries
    about 200 bytes an entry of a block of ``max(width, _BUILD_ENTRIES)`` entries.

    Args:
      probs: ``[n_rows, n_responses]`` non-negative rows summing to 1 (validated).
        ``log_own``/``log_alias`` are then ``log(probs)``; use :meth:`from_log_probs`
        to store a policy's own log-probabilities instead.
    """

    def __init__(self, probs: np.ndarray, *, _log_probs: np.ndarray | None = None):
        self._probs, self._log_probs = (probs, None) if _log_probs is None else (None, _log_probs)
        n_rows, n_responses = (probs if _log_probs is None else _log_probs).shape
        self.bits = (n_responses - 1).bit_length()
        self.width = 1 << self.bits
        #: Grid step of the within-column uniform: the 53 - bits low bits of a double uniform.
        self.step = 2.0 ** (self.bits - 53)
        self.records = np.empty(n_rows * self.width, dtype=_RECORD)
        block = max(1, _BUILD_ENTRIES // self.width)
        for start in range(0, n_rows, block):  # blocks of rows bound the build's memory
            stop = min(start + block, n_rows)
            self._fill(start, stop, n_responses)

    @classmethod
    def from_log_probs(cls, log_probs: np.ndarray) -> _AliasTables:
        """Tables for ``probs = exp(log_probs)`` whose records carry ``log_probs`` itself (kept by reference)."""
        return cls(None, _log_probs=log_probs)

    def _row_probs(self, start: int, stop: int) -> np.ndarray:
        if self._probs is not None:
            return np.asarray(self._probs[start:stop], dtype=float)
        return np.exp(self._log_probs[start:stop])

    def _fill(self, start: int, stop: int, n_responses: int) -> None:
        probs = self._row_probs(start, stop)
        threshold, alias = _alias_block(probs, self.width)
        records = self.records[start * self.width : stop * self.width]
        # bound = c + ⌊q/step⌋·step, exact: q/step is a power-of-two scaling and floor is exact.
        records["bound"] = np.floor(threshold * 2.0 ** (53 - self.bits))
        records["bound"] *= self.step
        records["bound"] += np.tile(np.arange(self.width, dtype=float), stop - start)
        records["alias"] = alias
        log_probs = np.full((stop - start, self.width), -np.inf)
        if self._log_probs is not None:
            log_probs[:, :n_responses] = self._log_probs[start:stop]
        else:
            with np.errstate(divide="ignore"):
                np.log(probs, out=log_probs[:, :n_responses])
        records["log_own"] = log_probs.reshape(-1)
        rows = np.repeat(np.arange(stop - start), self.width)
        records["log_alias"] = log_probs[rows, alias]

    def exact_threshold(self, cells: np.ndarray) -> np.ndarray:
        """The exact thresholds ``q`` of flat table ``cells`` (rebuilt row by row: for ties and tests)."""
        out = np.empty(cells.shape[0])
        rows = cells >> self.bits
        for row in np.unique(rows):
            threshold, _ = _alias_block(self._row_probs(row, row + 1), self.width)
            here = rows == row
            out[here] = threshold[cells[here] & (self.width - 1)]
        return out

    @property
    def threshold(self) -> np.ndarray:
        """Thresholds ``q`` ``[n_rows·width]`` (recomputed: the records keep ``q`` rounded down to the grid)."""
        return self.exact_threshold(np.arange(self.records.shape[0]))

    @property
    def alias(self) -> np.ndarray:
        """Aliases ``a`` ``[n_rows·width]`` (a view)."""
        return self.records["alias"]

    @property
    def nbytes(self) -> int:
        """Memory held by the tables: ``32·n_rows·width`` bytes."""
        return self.records.nbytes

    def draw_all(
        self, offsets: np.ndarray, rng: np.random.Generator, *, with_log_prob: bool = False
    ):
        """:meth:`draw` over ``offsets`` ``[m]`` in chunks of :data:`SAMPLE_CHUNK`; ``(y, log_prob or None)``."""
        y = np.empty(offsets.shape[0], dtype=np.int64)
        log_prob = np.empty(offsets.shape[0]) if with_log_prob else None
        for start in range(0, offsets.shape[0], SAMPLE_CHUNK):  # chunks keep temporaries in cache
            stop = min(start + SAMPLE_CHUNK, offsets.shape[0])
            self.draw(
                offsets[start:stop],
                rng,
                y[start:stop],
                None if log_prob is None else log_prob[start:stop],
            )
        return y, log_prob

    def draw(
        self,
        offsets: np.ndarray,
        rng: np.random.Generator,
        y: np.ndarray,
        log_prob: np.ndarray | None = None,
    ) -> None:
        """One response per entry of ``offsets`` (``row·width``), written to ``y`` (and its log-probability).

        Args:
          offsets: int64 ``[c]``, ``row << bits`` for in-range rows.
          rng: the generator; one ``rng.random()`` per entry, in order, plus
            :func:`_exact_bernoulli`'s uniforms on a tie.
          y: int64 output ``[c]``.
          log_prob: optional float output ``[c]``: ``log p[row, y]``.
        """
        u = rng.random(offsets.shape[0])
        u *= self.width  # exact: a power of two; u = col + frac
        np.copyto(
            y, u, casting="unsafe"
        )  # floor: the column, the top `bits` bits of the 53-bit uniform
        cell = offsets + y
        record = np.take(
            self.records, cell, mode="clip"
        )  # one 32-byte read; in range: 'clip' skips the check
        bound = record["bound"]
        other = u >= bound  # not (frac + step <= q): frac's whole grid cell does not lie below q
        straddle = u == bound  # frac = ⌊q/step⌋·step: the cell contains q when q is off the grid
        tie = np.flatnonzero(straddle) if straddle.any() else None
        if tie is not None:
            col, frac = y[tie].copy(), u[tie] - y[tie]  # exact
            q = self.exact_threshold(cell[tie])
            keep = q > frac
            tie, col, frac, q = tie[keep], col[keep], frac[keep], q[keep]
        np.copyto(y, record["alias"], where=other)
        if log_prob is not None:
            np.copyto(log_prob, record["log_own"])
            np.copyto(log_prob, record["log_alias"], where=other)
        if tie is not None and tie.size:
            # The uniform's remaining (undrawn) bits decide: accept with probability (q - frac)/step,
            # exact since q - frac <= step is exact.
            accept = _exact_bernoulli((q - frac) / self.step, rng)
            y[tie[accept]] = col[accept]
            if log_prob is not None:
                log_prob[tie[accept]] = record["log_own"][tie[accept]]


def _alias_block(probs: np.ndarray, width: int):
    """Thresholds and aliases ``[n_rows, width]`` for a block of rows ``probs [n_rows, n_responses]``."""
    n_rows, n_responses = probs.shape
    w = np.zeros((n_rows, width))
    np.multiply(probs, width, out=w[:, :n_responses])  # exact: width is a power of two
    heavy = w >= 1.0
    heavy[np.arange(n_rows), np.argmax(w, axis=1)] = True
    # Heavy-first order (each group by index) as flat indices into the block.
    order = np.argsort(~heavy, axis=1, kind="stable")
    order += np.arange(0, n_rows * width, width)[:, None]
    w = w.reshape(-1)[order]
    heavy = heavy.reshape(-1)[order]
    n_heavy = np.count_nonzero(heavy, axis=1)[:, None]
    surplus = np.cumsum(np.where(heavy, w - 1.0, 0.0), axis=1)  # S_j at heavy position j
    deficit = np.cumsum(np.where(heavy, 0.0, 1.0 - w), axis=1)  # D_i at light position n_heavy + i
    rank = _merge_ranks(heavy, surplus, deficit)
    pos = np.arange(width)
    # Light i = pos - n_heavy: #{j : S_j <= D_{i-1}} heavies are spent before it, so it takes the next.
    payer = np.minimum(rank - (pos - n_heavy), n_heavy - 1)
    # Heavy j with S_j > 0: rank - j = #{i : D_{i-1} < S_j} over i = 0..n_light (D_{-1} = 0 counts),
    # so i* = rank - j - 1. Heavies with S_j = 0 (w = 1 exactly, nothing paid yet), without a light
    # left to pay, or last (exactly nothing owed) keep their whole column.
    i_star = rank - pos - 1
    whole = (surplus == 0.0) | (i_star >= width - n_heavy) | (pos == n_heavy - 1)
    row_start = np.arange(0, n_rows * width, width)[:, None]
    overdraft = deficit.reshape(-1)[np.clip(n_heavy + i_star, 0, width - 1) + row_start] - surplus
    # Exactly, 0 <= overdraft <= 1; the max only guards the last ulp of the prefix sums.
    q = np.where(heavy, np.where(whole, 1.0, np.maximum(1.0 - overdraft, 0.0)), w)
    alias_pos = np.where(heavy, np.where(whole, pos, pos + 1), payer)
    threshold = np.empty(n_rows * width)
    threshold[order] = q
    alias = np.empty(n_rows * width, dtype=np.int64)
    alias[order] = order.reshape(-1)[alias_pos + row_start] - row_start
    return threshold, alias


def _merge_ranks(heavy: np.ndarray, surplus: np.ndarray, deficit: np.ndarray) -> np.ndarray:
    """Per row, the rank of each key in the merge of the heavies' ``S_j`` and the lights' ``D_{i-1}``.

    Keys in heavy-first order: ``S_j`` at heavy positions, the exclusive prefix
    ``D_{i-1}`` at light positions, then the total deficit. Both runs are sorted
    and the heavies come first, so a stable sort merges them with ``S_j``
    before an equal ``D_{i-1}``. Returns ranks ``[n_rows, width]``.
    """
    n_rows, width = heavy.shape
    keys = np.empty((n_rows, width + 1))
    keys[:, 0] = 0.0
    keys[:, 1:] = (
        deficit  # at light position k: D up to light k - 1 (heavies add 0); at the end: the total
    )
    np.copyto(keys[:, :width], surplus, where=heavy)
    order = np.argsort(
        keys, axis=1, kind="stable"
    )  # two sorted runs: timsort merges them in linear time
    order += np.arange(0, n_rows * (width + 1), width + 1)[:, None]
    rank = np.empty(order.shape, dtype=np.int64)
    rank.reshape(-1)[order] = np.arange(width + 1)  # the inverse permutation, row by row
    return rank[:, :width]


def _exact_bernoulli(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Bool array, entry ``i`` True with probability exactly ``p[i]`` (doubles in ``[0, 1)``).

    Compares a uniform real with ``p`` 53 bits at a time, drawing more bits
    only on a tie (probability ``2**-53`` a round); a double ends after at most
    1074 binary places, so at most 21 rounds are ever needed.
    """
    out = np.zeros(p.shape[0], dtype=bool)
    rest = p.astype(float, copy=True)
    pending = np.arange(p.shape[0])
    while pending.size:
        scaled = rest[pending] * 2.0**53  # exact
        whole = np.floor(scaled)
        bits = rng.random(pending.size) * 2.0**53  # exact: an integer in [0, 2**53)
        out[pending[bits < whole]] = True
        rest[pending] = scaled - whole  # exact: the fractional part
        pending = pending[(bits == whole) & (scaled > whole)]
    return out
