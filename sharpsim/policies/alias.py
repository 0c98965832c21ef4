"""Exact sampling from tables: the alias method with exact tie-breaking (Walker/Vose), vectorised.

:class:`~sharpsim.TabularPolicy` and the sample-and-evaluate oracle draw
through these tables: built once per table, each draw is one random 32-byte
record read plus, on the rare boundary case, an exact Bernoulli.
"""

from __future__ import annotations

import numpy as np

#: Pairs drawn per pass of the sampler: enough to amortise numpy's per-call cost, few enough
#: for a pass's temporaries (about 100 bytes a pair) to stay in the L2 cache.
SAMPLE_CHUNK = 1 << 14

#: Table entries whose alias columns are built together (bounds the build's temporaries).
_BUILD_ENTRIES = 1 << 16

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

    def __init__(self, probs: np.ndarray | None, *, _log_probs: np.ndarray | None = None):
        source = probs if _log_probs is None else _log_probs
        if source is None:
            raise TypeError("_AliasTables needs probs or _log_probs")
        self._probs: np.ndarray | None = probs if _log_probs is None else None
        self._log_probs: np.ndarray | None = _log_probs
        n_rows, n_responses = source.shape
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
        assert self._log_probs is not None
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
