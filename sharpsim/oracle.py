"""Sample-and-evaluate access to a base model, with query accounting.

Definition 3.2 (sample-and-evaluate): the learner never sees ``π_base``; it
draws prompts ``x ~ μ`` and, for each, responses ``y ~ π_base(·|x)`` together
with their likelihoods ``π_base(y|x)``. Each (x, y) pair is one query, and the
sample complexity is the total ``m``. Definition D.1 lets the number of
responses per prompt be a stopping time; XPO (Theorem 4.3) may also evaluate
``π_base(y|x)`` for responses it generated itself. Every such access goes
through :class:`SampleEvaluateOracle`, so ``oracle.queries`` is always the true ``m``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from ._validation import check_index_array, check_int, check_mu, check_rng
from .policies.alias import SAMPLE_CHUNK, _AliasTables
from .policies.base import Policy
from .policies.tabular import TabularPolicy

#: Default number of (x, y) pairs per chunk of :meth:`SampleEvaluateOracle.stream`.
DEFAULT_CHUNK_SIZE = 1 << 16


class QueryBudgetExceeded(RuntimeError):
    """Raised when a request would take the oracle past its query budget."""


class OracleChunk(NamedTuple):
    """One chunk of :meth:`SampleEvaluateOracle.stream`: ``c`` (x, y) pairs in request order.

    Attributes:
      positions: int64 ``[c]``, the position in ``x`` of each pair's prompt.
      responses: ``[c]`` (``[c, H]`` for sequences).
      log_probs: ``log π_base(y|x)`` ``[c]``.
    """

    positions: np.ndarray
    responses: np.ndarray
    log_probs: np.ndarray


class SampleEvaluateOracle:
    """Counted sample-and-evaluate access to ``base`` under prompt law ``mu``.

    Definition 3.2: :meth:`draw_prompts` then :meth:`sample` (or
    :meth:`stream`, the same draws in bounded memory). Definition D.1
    (adaptive): a stopping rule drives the oracle one round at a time, calling
    ``sample(x[active], 1)`` for the prompts still active, so the count is the
    realised ``m = Σ_x N_x``. XPO's extra evaluations use :meth:`evaluate`.

    Budget: a request that would exceed ``budget`` raises
    :class:`QueryBudgetExceeded` before anything happens, leaving the counts
    and the generator's state unchanged.

    Args:
      base: the base policy ``π_base`` (any :class:`~sharpsim.policies.base.Policy`).
        :meth:`evaluate` needs it to declare ``response_ndim``: 0 for integer
        responses (tabular policies), 1 for token sequences ``[..., H]``. A
        base with ``sample_with_log_prob`` (a real LM) is asked for draws and
        likelihoods in that one call by :meth:`sample` and :meth:`stream`; an
        opaque base (``enumerable = False``) needs nothing else.
      mu: prompt distribution ``[n_contexts]``; ``None`` is uniform.
      budget: optional cap on the total number of queries.
      rng: ``None``, an int seed or a ``numpy.random.Generator``.

    Attributes:
      queries: (x, y) pairs sampled-and-evaluated plus extra evaluations so far.
      sampled: responses drawn from ``π_base``.
      evaluated: extra evaluations of caller-supplied responses (XPO).
      prompts_drawn: prompts drawn from ``μ`` (prompts are free: only pairs count).

    Example:
      >>> import numpy as np, sharpsim as ss
      >>> oracle = ss.SampleEvaluateOracle(ss.TabularPolicy([[0.9, 0.1]]), rng=0)
      >>> x = oracle.draw_prompts(3)
      >>> y, logp = oracle.sample(x, 5)
      >>> y.shape, oracle.queries
      ((3, 5), 15)

      Adaptive sampling (Definition D.1): stop each prompt at its first ``y = 0``.

      >>> active, before = np.arange(3), oracle.queries
      >>> while active.size:
      ...     y, _ = oracle.sample(x[active], 1)
      ...     active = active[y[:, 0] != 0]
      >>> oracle.queries - before >= 3
      True
    """

    def __init__(self, base: Policy, mu=None, *, budget: int | None = None, rng=None):
        if not isinstance(base, Policy):
            raise TypeError(
                f"base must be a policy with log_prob and sample; got {type(base).__name__}"
            )
        self.base = base
        self.mu = check_mu(mu, base.n_contexts)
        self.budget = None if budget is None else check_int(budget, "budget", minimum=0)
        self.rng = check_rng(rng)
        self.sampled = 0
        self.evaluated = 0
        self.prompts_drawn = 0
        self._response_ndim = _declared_response_ndim(base)
        self._joint_sampler = _joint_sampler(base)
        self._prompt_tables = _AliasTables(self.mu[None, :])

    @property
    def queries(self) -> int:
        """Total sample-and-evaluate queries ``m`` so far."""
        return self.sampled + self.evaluated

    @property
    def remaining(self) -> int | None:
        """Queries left under the budget (``None`` when unlimited)."""
        return None if self.budget is None else self.budget - self.queries

    def charge(self, count: int, *, kind: str = "sampled") -> None:
        """Record ``count`` queries, raising first if the budget would be exceeded.

        Used directly only by exact-law shortcuts that draw from a
        distribution equal to what ``count`` faithful queries would produce.

        Args:
          count: number of queries, integer ``>= 0``.
          kind: ``"sampled"`` (responses drawn from ``π_base``) or ``"evaluated"``.

        Example:
          >>> import sharpsim as ss
          >>> oracle = ss.SampleEvaluateOracle(ss.TabularPolicy([[1.0]]), budget=5)
          >>> oracle.charge(3); oracle.queries, oracle.remaining
          (3, 2)
        """
        count = check_int(count, "count", minimum=0)
        if kind not in ("sampled", "evaluated"):
            raise ValueError(f"kind must be 'sampled' or 'evaluated'; got {kind!r}")
        self._check_budget(count)
        self._record(count, kind)

    def check_request(self, count: int) -> None:
        """Refuse now a request of ``count`` queries that the budget cannot serve; changes nothing.

        A caller about to make a request in pieces (best-of-N streaming its
        ``k·N`` draws, adaptive best-of-N's first ``k·⌈μ_stop⌉`` draws) checks the
        whole of it first, so that a refusal spends no query and leaves the
        generator untouched.

        Args:
          count: queries the request will charge, integer ``>= 0``.

        Raises:
          QueryBudgetExceeded: ``queries + count > budget``.

        Example:
          >>> import sharpsim as ss
          >>> oracle = ss.SampleEvaluateOracle(ss.TabularPolicy([[1.0]]), budget=5)
          >>> oracle.check_request(5); oracle.queries
          0
          >>> oracle.check_request(6)
          Traceback (most recent call last):
          ...
          sharpsim.oracle.QueryBudgetExceeded: request for 6 queries exceeds the budget: 0 used of 5
        """
        self._check_budget(check_int(count, "count", minimum=0))

    def draw_prompts(self, n: int) -> np.ndarray:
        """Draw ``n`` prompts ``x ~ μ``; int64 array ``[n]`` (not counted as queries).

        Exact up to double precision, like :meth:`TabularPolicy.sample`: a prompt
        with ``μ(x) = 0`` is never drawn, a rare one keeps its probability.

        Example:
          >>> import sharpsim as ss
          >>> pi = ss.TabularPolicy([[1.0], [1.0], [1.0]])
          >>> ss.SampleEvaluateOracle(pi, mu=[0.0, 1.0, 0.0], rng=0).draw_prompts(4).tolist()
          [1, 1, 1, 1]
        """
        n = check_int(n, "n", minimum=0)
        x = np.empty(n, dtype=np.int64)
        row = np.zeros(min(n, SAMPLE_CHUNK), dtype=np.int64)  # the one table's offset, 0
        for start in range(0, n, SAMPLE_CHUNK):
            stop = min(start + SAMPLE_CHUNK, n)
            self._prompt_tables.draw(row[: stop - start], self.rng, x[start:stop])
        self.prompts_drawn += n
        return x

    def sample(self, x, N: int):
        """Draw ``N`` responses per prompt and their base log-likelihoods (Definition 3.2).

        Args:
          x: int array ``[k]`` of prompts.
          N: responses per prompt.

        Returns:
          ``(y, log_prob)``: responses ``[k, N]`` (``[k, N, H]`` for sequences)
          and ``log π_base(y|x)`` ``[k, N]``. Counts ``k·N`` queries.

        Example:
          >>> import sharpsim as ss
          >>> oracle = ss.SampleEvaluateOracle(ss.TabularPolicy([[0.0, 1.0]]), rng=0)
          >>> y, logp = oracle.sample([0, 0], 2)
          >>> y.tolist(), logp.tolist(), oracle.queries
          ([[1, 1], [1, 1]], [[0.0, 0.0], [0.0, 0.0]], 4)
        """
        x = self._check_prompts(x)
        N = check_int(N, "N", minimum=0)
        self._check_budget(x.shape[0] * N)
        if isinstance(self.base, TabularPolicy):
            y, log_prob = self.base._sample_repeated_with_log_prob(x, N, self.rng)
        else:
            y, log_prob = self._draw(x, N)
        self._record(x.shape[0] * N, "sampled")
        return y, log_prob

    def stream(self, x, N: int, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[OracleChunk]:
        """The draws of ``sample(x, N)`` as chunks of at most ``chunk_size`` pairs.

        Pairs come prompt by prompt (``N`` responses of ``x[0]``, then of
        ``x[1]``, ...). When ``N <= chunk_size`` a chunk holds whole prompts;
        otherwise each chunk is a piece of one prompt's ``N`` responses. For a
        tabular base the draws equal those of ``sample(x, N)`` on the same
        generator, whatever ``chunk_size`` (up to the rare tie of
        :meth:`TabularPolicy.sample`).

        Memory: besides ``x`` and the policy's cached sampler, a tabular base
        peaks below ``64·chunk_size + 100·SAMPLE_CHUNK`` bytes (about
        ``64·chunk_size + 1.6 MB``), whatever ``k·N`` is: the chunk being drawn
        (positions, prompts, responses, log-likelihoods and one index
        temporary, 8 bytes a pair each), the previous chunk while the consumer
        still holds it (24 bytes a pair), and the sampler's fixed working set.
        So ``m = 10^8`` faithful queries stream through a few MB. A sequence
        base adds ``8·H`` bytes a pair and its own working memory.

        Budget: the whole request ``k·N`` is checked when ``stream`` is called
        (before any draw); each chunk is counted just before it is drawn, so
        ``queries`` always equals the pairs drawn so far, also when the
        consumer stops early.

        Args:
          x: int array ``[k]`` of prompts.
          N: responses per prompt.
          chunk_size: maximum pairs per chunk (``>= 1``).

        Returns:
          an iterator of :class:`OracleChunk` ``(positions, responses, log_probs)``.

        Example:
          >>> import sharpsim as ss
          >>> oracle = ss.SampleEvaluateOracle(ss.TabularPolicy([[0.5, 0.5]]), rng=0)
          >>> [c.positions.tolist() for c in oracle.stream([0, 0, 0], 2, chunk_size=4)]
          [[0, 0, 1, 1], [2, 2]]
          >>> oracle.queries
          6
        """
        x = self._check_prompts(x)
        N = check_int(N, "N", minimum=0)
        chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
        self._check_budget(x.shape[0] * N)
        return self._stream(x, N, chunk_size)

    def _stream(self, x: np.ndarray, N: int, chunk_size: int) -> Iterator[OracleChunk]:
        for start, stop in _chunk_bounds(x.shape[0], N, chunk_size):
            first, last = start // N, (stop - 1) // N
            per_prompt = N if first != last else stop - start  # whole prompts, or a piece of one
            positions = np.repeat(np.arange(first, last + 1, dtype=np.int64), per_prompt)
            self._check_budget(stop - start)
            if isinstance(self.base, TabularPolicy):
                y, log_prob = self.base._sample_repeated_with_log_prob(
                    x[first : last + 1], per_prompt, self.rng
                )
                y, log_prob = y.reshape(-1), log_prob.reshape(-1)
            elif self._joint_sampler is not None:
                y, log_prob = self._draw(x[first : last + 1], per_prompt)
                y, log_prob = y.reshape((stop - start,) + y.shape[2:]), log_prob.reshape(-1)
            else:
                y = self.base.sample(x[first : last + 1], per_prompt, rng=self.rng)
                y = y.reshape((stop - start,) + y.shape[2:])
                log_prob = self.base.log_prob(x[positions], y)
            self._record(stop - start, "sampled")
            yield OracleChunk(positions, y, log_prob)

    def _draw(self, x: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` responses per prompt of ``x`` and their ``log π_base`` ``[k, n]``, uncounted.

        One ``base.sample_with_log_prob`` call when the base has it (one pass of
        a real LM), else ``base.sample`` then ``base.log_prob``; both consume
        the generator alike. Callers charge the draws they use (adaptive
        best-of-N discards a block's draws past a prompt's stopping time).
        """
        if self._joint_sampler is None:
            y = self.base.sample(x, n, rng=self.rng)
            return y, self.base.log_prob(np.broadcast_to(x[:, None], (x.shape[0], n)), y)
        y, log_prob = self._joint_sampler(x, n, rng=self.rng)
        y, log_prob = np.asarray(y), np.asarray(log_prob, dtype=float)
        if y.shape[:2] != (x.shape[0], n) or log_prob.shape != (x.shape[0], n):
            raise ValueError(
                f"base.sample_with_log_prob must return responses [k={x.shape[0]}, n={n}, ...] and "
                f"log-likelihoods [k, n]; got shapes {y.shape} and {log_prob.shape}"
            )
        return y, log_prob

    def evaluate(self, x, y) -> np.ndarray:
        """``log π_base(y|x)`` for caller-supplied responses (XPO); counts one query per pair.

        Args:
          x: int array ``[k]`` of prompts.
          y: responses ``[k, ...]`` for integer responses, ``[k, ..., H]`` for
            sequences (``base.response_ndim`` says which).

        Returns:
          ``log π_base`` of shape ``y.shape`` without the sequence axis; counts
          as many queries as it has entries.

        Example:
          >>> import sharpsim as ss
          >>> oracle = ss.SampleEvaluateOracle(ss.TabularPolicy([[0.5, 0.5], [1.0, 0.0]]))
          >>> oracle.evaluate([0, 1], [[0, 1], [0, 0]]).round(3).tolist(), oracle.evaluated
          ([[-0.693, -0.693], [0.0, 0.0]], 4)
        """
        x = self._check_prompts(x)
        if self._response_ndim is None:
            raise TypeError(
                f"evaluate needs base to declare response_ndim (0: integer responses, 1: token "
                f"sequences [..., H]); {type(self.base).__name__} does not"
            )
        y = np.asarray(y)
        pair_ndim = y.ndim - self._response_ndim
        if pair_ndim < 1 or y.shape[0] != x.shape[0]:
            raise ValueError(
                f"y must have shape [k={x.shape[0]}, ..."
                + (", H]" if self._response_ndim else "]")
                + f" (response_ndim={self._response_ndim}); got {y.shape}"
            )
        n_pairs = int(np.prod(y.shape[:pair_ndim]))
        self._check_budget(n_pairs)
        log_prob = self.base.log_prob(x.reshape(x.shape + (1,) * (pair_ndim - 1)), y)
        self._record(n_pairs, "evaluated")
        return log_prob

    def _check_prompts(self, x) -> np.ndarray:
        x = check_index_array(x, "x", self.base.n_contexts)
        if x.ndim != 1:
            raise ValueError(f"x must be 1-d; got shape {x.shape}")
        return x

    def _check_budget(self, count: int) -> None:
        if self.budget is not None and self.queries + count > self.budget:
            raise QueryBudgetExceeded(
                f"request for {count} queries exceeds the budget: {self.queries} used of {self.budget}"
            )

    def _record(self, count: int, kind: str) -> None:
        if kind == "sampled":
            self.sampled += count
        else:
            self.evaluated += count

    def __repr__(self) -> str:
        budget = "" if self.budget is None else f", budget={self.budget}"
        return f"SampleEvaluateOracle(base={self.base!r}, queries={self.queries}{budget})"


def _declared_response_ndim(base) -> int | None:
    """``base.response_ndim`` checked to be 0 or 1; ``None`` when the policy does not declare it."""
    value = getattr(base, "response_ndim", None)
    if value is None:
        return None
    value = check_int(value, "base.response_ndim", minimum=0)
    if value > 1:
        raise ValueError(f"base.response_ndim must be 0 (integers) or 1 (sequences); got {value}")
    return value


def _joint_sampler(base):
    """``base.sample_with_log_prob`` (one pass for draws and likelihoods), or ``None`` when absent."""
    method = getattr(base, "sample_with_log_prob", None)
    if method is None:
        return None
    if not callable(method):
        raise TypeError(
            f"base.sample_with_log_prob must be a method (x, n, rng) -> (y, log_prob); got "
            f"{type(method).__name__}"
        )
    return method


def _chunk_bounds(k: int, N: int, chunk_size: int) -> Iterator[tuple[int, int]]:
    """Pair ranges ``[start, stop)`` covering ``k·N`` pairs: whole prompts when ``N <= chunk_size``."""
    if N <= chunk_size:
        step = (chunk_size // N) * N if N else 0
        for start in range(0, k * N, step or 1):
            yield start, min(start + step, k * N)
        return
    for prompt_start in range(0, k * N, N):
        for start in range(prompt_start, prompt_start + N, chunk_size):
            yield start, min(start + chunk_size, prompt_start + N)
