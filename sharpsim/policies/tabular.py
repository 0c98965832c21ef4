"""Tabular policies: an explicit distribution over responses for each prompt.

``TabularPolicy`` is the workhorse of the exact computations (SPEC §1): a
table ``[n_contexts, n_responses]`` of probabilities, held in log space so
that zero-probability responses are ``-inf`` and tiny ones do not underflow.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from .._validation import (
    PROB_ATOL,
    check_index_array,
    check_int,
    check_log_prob_rows,
    check_prob_rows,
    check_rng,
)


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

    def __init__(self, probs, *, atol: float = PROB_ATOL):
        probs = check_prob_rows(probs, "probs", atol=atol)
        with np.errstate(divide="ignore"):
            log_probs = np.log(probs)
        self._set_log_probs(log_probs)

    @classmethod
    def from_logits(cls, logits) -> "TabularPolicy":
        """Policy ``π(y|x) ∝ exp(logits[x, y])``, normalised with log-sum-exp.

        ``logits`` may contain ``-inf`` (probability 0) but no NaN or ``+inf``,
        and every row needs at least one finite entry.

        Example:
          >>> TabularPolicy.from_logits([[0.0, 0.0]]).probs.tolist()
          [[0.5, 0.5]]
        """
        arr = np.asarray(logits, dtype=float)
        if arr.ndim != 2 or arr.size == 0:
            raise ValueError(f"logits must be a non-empty 2-d array; got shape {arr.shape}")
        if np.any(np.isnan(arr)) or np.any(arr == np.inf):
            raise ValueError("logits must not contain NaN or +inf")
        dead = np.all(arr == -np.inf, axis=1)
        if np.any(dead):
            raise ValueError(f"logits row {int(np.argmax(dead))} is all -inf: no response has mass")
        return cls.from_log_probs(arr - logsumexp(arr, axis=1, keepdims=True), atol=1e-6)

    @classmethod
    def from_log_probs(cls, log_probs, *, atol: float = PROB_ATOL) -> "TabularPolicy":
        """Policy from log-probabilities whose rows log-sum-exp to 0 (within ``atol``)."""
        arr = check_log_prob_rows(log_probs, "log_probs", atol=atol)
        obj = cls.__new__(cls)
        TabularPolicy._set_log_probs(obj, arr)
        return obj

    def _set_log_probs(self, log_probs: np.ndarray) -> None:
        self._log_probs = np.ascontiguousarray(log_probs, dtype=float)
        self._log_probs.setflags(write=False)
        self.n_contexts, self.n_responses = self._log_probs.shape
        self._cdf = None

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
        """Draw ``n`` i.i.d. responses for each prompt in ``x``.

        Args:
          x: int array ``[k]`` of prompt indices.
          n: responses per prompt (``>= 0``).
          rng: ``None``, an int seed or a ``numpy.random.Generator``.

        Returns:
          int64 array ``[k, n]``.
        """
        x = check_index_array(x, "x", self.n_contexts)
        if x.ndim != 1:
            raise ValueError(f"x must be 1-d; got shape {x.shape}")
        n = check_int(n, "n", minimum=0)
        rng = check_rng(rng)
        return self._sample_rows(np.repeat(x, n), rng).reshape(x.shape[0], n)

    def _sample_rows(self, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One response per entry of ``rows`` (validated prompt indices), by inverse CDF."""
        cdf = self._row_cdf()
        u = 1.0 - rng.random(rows.shape[0])  # in (0, 1], so a zero-mass first response is never hit
        out = np.empty(rows.shape[0], dtype=np.int64)
        # One searchsorted per distinct prompt keeps the search exact in double precision.
        order = np.argsort(rows, kind="stable")
        sorted_rows = rows[order]
        starts = np.flatnonzero(np.r_[True, sorted_rows[1:] != sorted_rows[:-1]])
        stops = np.r_[starts[1:], sorted_rows.shape[0]]
        for a, b in zip(starts, stops):
            idx = order[a:b]
            out[idx] = np.searchsorted(cdf[sorted_rows[a]], u[idx], side="left")
        return out

    def _row_cdf(self) -> np.ndarray:
        if self._cdf is None:
            cdf = np.cumsum(self.probs, axis=1)
            cdf /= cdf[:, -1:]  # last entry exactly 1.0, so every u in (0, 1] lands in the row
            self._cdf = cdf
        return self._cdf

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_contexts={self.n_contexts}, n_responses={self.n_responses})"


def as_tabular(policy, name: str = "policy") -> TabularPolicy:
    """Return ``policy`` as a :class:`TabularPolicy` (exact computations need the full table).

    Autoregressive policies are enumerated with their ``to_tabular()`` method,
    which raises ``ValueError`` past its documented size limit.
    """
    if isinstance(policy, TabularPolicy):
        return policy
    if hasattr(policy, "to_tabular"):
        return policy.to_tabular()
    raise TypeError(f"{name} must be a TabularPolicy or have to_tabular(); got {type(policy).__name__}")
