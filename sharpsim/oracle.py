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

import numpy as np

from ._validation import check_index_array, check_int, check_mu, check_rng
from .policies.base import Policy


class QueryBudgetExceeded(RuntimeError):
    """Raised when a request would take the oracle past its query budget."""


class SampleEvaluateOracle:
    """Counted sample-and-evaluate access to ``base`` under prompt law ``mu``.

    Args:
      base: the base policy ``π_base`` (any :class:`~sharpsim.policies.base.Policy`).
      mu: prompt distribution ``[n_contexts]``; ``None`` is uniform.
      budget: optional cap on the total number of queries; a request that
        would exceed it raises :class:`QueryBudgetExceeded` and changes nothing.
      rng: ``None``, an int seed or a ``numpy.random.Generator``.

    Attributes:
      queries: (x, y) pairs sampled-and-evaluated plus extra evaluations so far.
      sampled: responses drawn from ``π_base``.
      evaluated: extra evaluations of caller-supplied responses (XPO).
      prompts_drawn: prompts drawn from ``μ`` (prompts are free: only pairs count).

    Example:
      >>> import sharpsim as ss
      >>> oracle = ss.SampleEvaluateOracle(ss.TabularPolicy([[0.9, 0.1]]), rng=0)
      >>> x = oracle.draw_prompts(3)
      >>> y, logp = oracle.sample(x, 5)
      >>> y.shape, oracle.queries
      ((3, 5), 15)
    """

    def __init__(self, base: Policy, mu=None, *, budget: int | None = None, rng=None):
        if not isinstance(base, Policy):
            raise TypeError(f"base must be a policy with log_prob and sample; got {type(base).__name__}")
        self.base = base
        self.mu = check_mu(mu, base.n_contexts)
        self.budget = None if budget is None else check_int(budget, "budget", minimum=0)
        self.rng = check_rng(rng)
        self.sampled = 0
        self.evaluated = 0
        self.prompts_drawn = 0

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
        """
        count = check_int(count, "count", minimum=0)
        if self.budget is not None and self.queries + count > self.budget:
            raise QueryBudgetExceeded(
                f"request for {count} queries exceeds the budget: {self.queries} used of {self.budget}"
            )
        if kind == "sampled":
            self.sampled += count
        elif kind == "evaluated":
            self.evaluated += count
        else:
            raise ValueError(f"kind must be 'sampled' or 'evaluated'; got {kind!r}")

    def draw_prompts(self, n: int) -> np.ndarray:
        """Draw ``n`` prompts ``x ~ μ``; int64 array ``[n]`` (not counted as queries)."""
        n = check_int(n, "n", minimum=0)
        self.prompts_drawn += n
        return self.rng.choice(self.mu.shape[0], size=n, p=self.mu)

    def sample(self, x, N: int):
        """Draw ``N`` responses per prompt and their base log-likelihoods.

        Args:
          x: int array ``[k]`` of prompts.
          N: responses per prompt.

        Returns:
          ``(y, log_prob)``: responses ``[k, N]`` (``[k, N, H]`` for sequences)
          and ``log π_base(y|x)`` ``[k, N]``. Counts ``k·N`` queries.
        """
        x = check_index_array(x, "x", self.base.n_contexts)
        if x.ndim != 1:
            raise ValueError(f"x must be 1-d; got shape {x.shape}")
        N = check_int(N, "N", minimum=0)
        self.charge(x.shape[0] * N)
        y = self.base.sample(x, N, rng=self.rng)
        xb = np.broadcast_to(x[:, None], (x.shape[0], N))
        return y, self.base.log_prob(xb, y)

    def evaluate(self, x, y) -> np.ndarray:
        """``log π_base(y|x)`` for caller-supplied responses (XPO); counts one query per pair.

        ``x`` has shape ``[k]`` and ``y`` shape ``[k, ...]`` (responses) — the
        count is the number of (x, y) pairs.
        """
        x = check_index_array(x, "x", self.base.n_contexts)
        y = np.asarray(y)
        n_pairs = int(np.prod(y.shape[: y.ndim - self._response_ndim()])) if y.ndim else 1
        self.charge(n_pairs, kind="evaluated")
        x_b = x.reshape(x.shape + (1,) * (y.ndim - self._response_ndim() - x.ndim))
        return self.base.log_prob(x_b, y)

    def _response_ndim(self) -> int:
        return 1 if hasattr(self.base, "horizon") else 0

    def __repr__(self) -> str:
        budget = "" if self.budget is None else f", budget={self.budget}"
        return f"SampleEvaluateOracle(base={self.base!r}, queries={self.queries}{budget})"
