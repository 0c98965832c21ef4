"""The explicit finite class ``Π = {π_1, …, π_K}``, solved by enumeration (Theorem 4.1, Lemma F.1)."""

from __future__ import annotations

import numpy as np

from .._validation import check_real
from ..policies.tabular import TabularPolicy, as_tabular
from ._pairs import _pair_objective, _Pairs, _wsum
from .base import ModelClass, _check_atol, _same_law

__all__ = ["FiniteClass"]


class FiniteClass(ModelClass):
    """An explicit finite class ``Π = {π_1, …, π_K}``; every problem is solved by enumeration.

    The setting of Theorem 4.1 and Lemma F.1 (``log|Π|`` enters the bounds).
    Each objective is evaluated for all members at once (a ``[K, n]`` array of
    data log-likelihoods, gathered from a stacked ``[K, X, Y]`` table when the
    members are tabular) and the best member is returned itself; ties go to
    the first. A member that gives a data response zero probability has
    likelihood ``−inf`` and regression / XPO objective ``+inf``.

    Args:
      policies: a non-empty sequence of policies with the same ``n_contexts``
        and response space (all tabular with equal shapes, or all sequence
        policies with equal ``vocab_size`` and ``horizon``).

    Attributes:
      policies (tuple), size (``K``), log_size (``log K``), last_scores_
      (float array ``[K]``: each member's log-likelihood after ``fit_mle``,
      its objective after a pair fit; weights above ``1e100`` are first divided
      by their maximum, which leaves the argmax / argmin unchanged).

    Example:
      >>> import sharpsim as ss
      >>> a, b = ss.TabularPolicy([[0.9, 0.1]]), ss.TabularPolicy([[0.2, 0.8]])
      >>> ss.FiniteClass([a, b]).fit_mle([0, 0, 0], [1, 1, 0]) is b
      True
    """

    def __init__(self, policies):
        if isinstance(policies, (str, bytes)) or not hasattr(policies, "__len__"):
            raise TypeError(
                f"policies must be a sequence of policies; got {type(policies).__name__}"
            )
        self.policies = tuple(policies)
        if not self.policies:
            raise ValueError("policies must contain at least one policy")
        first = self.policies[0]
        for i, p in enumerate(self.policies):
            if not (callable(getattr(p, "log_prob", None)) and hasattr(p, "n_contexts")):
                raise TypeError(
                    f"policies[{i}] must be a policy with log_prob; got {type(p).__name__}"
                )
        self.n_contexts = int(first.n_contexts)
        self.horizon = getattr(first, "horizon", None)
        self.vocab_size = getattr(first, "vocab_size", None)
        self.n_responses = (
            self.vocab_size**self.horizon if self.horizon is not None else int(first.n_responses)
        )
        for i, p in enumerate(self.policies):
            space = (
                p.n_contexts,
                getattr(p, "horizon", None),
                getattr(p, "vocab_size", None),
                getattr(p, "n_responses", self.n_responses) if self.horizon is None else None,
            )
            want = (
                self.n_contexts,
                self.horizon,
                self.vocab_size,
                self.n_responses if self.horizon is None else None,
            )
            if space != want:
                raise ValueError(
                    f"policies[{i}] has a different prompt or response space than policies[0]"
                )
        tabular = all(isinstance(p, TabularPolicy) for p in self.policies)
        self._table = np.stack([p.log_probs for p in self.policies]) if tabular else None
        self.size = len(self.policies)
        self.log_size = float(np.log(self.size))
        self.last_scores_ = None

    def log_covering_number(self, eps: float) -> float:
        """``log N(Π, ε) ≤ log|Π|`` for every ``ε ≥ 0`` (the class is its own net, Definition J.2).

        Example:
          >>> import sharpsim as ss
          >>> cls = ss.FiniteClass([ss.TabularPolicy([[0.5, 0.5]]), ss.TabularPolicy([[0.9, 0.1]])])
          >>> round(cls.log_covering_number(0.1), 4)   # log 2
          0.6931
        """
        check_real(eps, "eps", low=0.0)
        return self.log_size

    def _data_log_probs(self, x, y) -> np.ndarray:
        """``log π_k(y_i|x_i)`` for every member, ``[K, n]``."""
        if self._table is not None:
            return self._table[:, x, y]
        return np.stack([np.asarray(p.log_prob(x, y), dtype=float) for p in self.policies])

    def _fit_mle(self, x, y, w):
        scores = _wsum(w, self._data_log_probs(x, y))
        self.last_scores_ = scores
        return self.policies[int(np.argmax(scores))]

    def _fit_pairs(self, pairs: _Pairs, init, rng=None, warm_start=False):
        values = _pair_objective(
            self._data_log_probs(pairs.x, pairs.y),
            self._data_log_probs(pairs.x, pairs.y_ref),
            pairs,
        )
        self.last_scores_ = values
        return self.policies[int(np.argmin(values))]

    def contains(self, policy, atol: float = 1e-8) -> bool:
        """Whether some member equals ``policy``: same support, log-probabilities within ``atol``.

        Example:
          >>> import sharpsim as ss
          >>> cls = ss.FiniteClass([ss.TabularPolicy([[0.5, 0.5]])])
          >>> cls.contains(ss.TabularPolicy([[0.5, 0.5]])), cls.contains(ss.TabularPolicy([[1.0, 0.0]]))
          (True, False)
        """
        atol = _check_atol(atol)
        if any(p is policy for p in self.policies):
            return True
        target = as_tabular(policy, "policy")
        return any(_same_law(as_tabular(p), target, atol) for p in self.policies)

    def __repr__(self) -> str:
        return f"FiniteClass(size={self.size}, n_contexts={self.n_contexts}, n_responses={self.n_responses})"
