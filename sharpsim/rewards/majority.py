"""Majority vote (self-consistency, App. A.2): the reward of a response is the base mass of its answer."""

from __future__ import annotations

import numpy as np

from ..policies.base import all_sequences
from ..policies.tabular import as_tabular
from .likelihood import _check_scored, _is_sequence_policy

__all__ = ["MajorityVoteReward"]


class MajorityVoteReward:
    """Majority vote / self-consistency (Appendix A.2) through an answer map ``ans``.

    Two versions of the same reward:

    * population (``table``): ``r(y|x) = Σ_{y': ans(y') = ans(y)} π_base(y'|x)``,
      the base model's mass on ``y``'s answer — a fixed function of ``(x, y)``,
      so ``best_of_n_law`` applies to it exactly;
    * empirical (``score``): the fraction of the ``N`` responses drawn for the
      prompt that share ``y``'s answer — what the oracle reveals, and what
      best-of-N with self-consistency really uses. It depends on the other
      draws (``depends_on_group = True``), so only the faithful sampler is exact
      for it; ``best_of_n_law`` gives the population version's law.

    Args:
      answers: either an integer array ``[n_contexts, n_responses]`` of answer
        ids (tabular responses), or a callable mapping responses (token arrays
        ``[..., H]`` or integer responses ``[...]``) to non-negative integer
        answer ids of shape ``[...]`` (independent of the prompt).

    Example:
      >>> import sharpsim as ss
      >>> pi = ss.TabularPolicy([[0.4, 0.35, 0.25]])
      >>> reward = MajorityVoteReward([[0, 1, 1]])
      >>> reward.table(pi).round(2).tolist()
      [[0.4, 0.6, 0.6]]
      >>> reward.score([0], [[0, 2, 1, 0, 0]], np.zeros((1, 5))).tolist()
      [[0.6, 0.4, 0.4, 0.6, 0.6]]
    """

    depends_on_group = True

    def __init__(self, answers):
        if callable(answers):
            self._map = answers
            self._array = None
        else:
            arr = np.asarray(answers)
            if arr.ndim != 2 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
                raise TypeError(
                    f"answers must be a callable or a non-empty integer array [n_contexts, n_responses]; "
                    f"got dtype {arr.dtype}, shape {arr.shape}"
                )
            if arr.min() < 0:
                raise ValueError(f"answers must be non-negative answer ids; got {arr.min()}")
            self._map = None
            self._array = arr.astype(np.int64)

    def answer_ids(self, x, y) -> np.ndarray:
        """Answer ids ``[k, N]`` of responses ``y [k, N]`` (or ``[k, N, H]``) to prompts ``x [k]``."""
        x, y = np.asarray(x), np.asarray(y)
        if self._array is not None:
            if y.ndim != 2 or not np.issubdtype(y.dtype, np.integer):
                raise ValueError(
                    f"y must be integer responses [k, N] for an answer array; got {y.shape}"
                )
            n_x, n_y = self._array.shape
            if y.size and (x.max() >= n_x or x.min() < 0 or y.max() >= n_y or y.min() < 0):
                raise ValueError(
                    f"answers has shape {self._array.shape}; responses or prompts fall outside it"
                )
            return self._array[x[:, None], y]
        return self._apply_map(y, y.shape[:2])

    def _apply_map(self, responses, shape) -> np.ndarray:
        ids = np.asarray(self._map(responses))
        if ids.shape != tuple(shape) or not (np.issubdtype(ids.dtype, np.integer) or ids.size == 0):
            raise ValueError(
                f"answers callable must return integer ids of shape {tuple(shape)}; got dtype {ids.dtype}, "
                f"shape {ids.shape}"
            )
        if ids.size and ids.min() < 0:
            raise ValueError(f"answers callable must return non-negative ids; got {ids.min()}")
        return ids.astype(np.int64, copy=False)

    def table(self, base) -> np.ndarray:
        """Population reward: mass of each response's answer, float ``[n_contexts, n_responses]``."""
        tab = as_tabular(base, "base")
        ids = _compact_ids(self._table_ids(base, tab.n_contexts, tab.n_responses))
        n_answers = int(ids.max()) + 1
        flat = np.arange(tab.n_contexts)[:, None] * n_answers + ids
        mass = np.bincount(
            flat.ravel(), weights=tab.probs.ravel(), minlength=tab.n_contexts * n_answers
        )
        return mass[flat]

    def _table_ids(self, base, n_contexts: int, n_responses: int) -> np.ndarray:
        if self._array is not None:
            if self._array.shape != (n_contexts, n_responses):
                raise ValueError(
                    f"answers must have shape (n_contexts, n_responses) = {(n_contexts, n_responses)}; "
                    f"got {self._array.shape}"
                )
            return self._array
        if _is_sequence_policy(base):
            responses = all_sequences(base.vocab_size, base.horizon)
        else:
            responses = np.arange(n_responses)
        return np.broadcast_to(
            self._apply_map(responses, (n_responses,)), (n_contexts, n_responses)
        )

    def score(self, x, y, log_prob) -> np.ndarray:
        """Empirical self-consistency: share of the prompt's ``N`` draws with the same answer, ``[k, N]``."""
        x, y, log_prob = _check_scored(x, y, log_prob)
        ids = self.answer_ids(x, y)
        k, n = ids.shape
        if n == 0:
            return np.zeros((k, 0))
        ids = _compact_ids(ids)
        n_answers = int(ids.max()) + 1
        flat = np.arange(k)[:, None] * n_answers + ids
        counts = np.bincount(flat.ravel(), minlength=k * n_answers)
        return counts[flat] / n

    def __repr__(self) -> str:
        kind = "callable" if self._map is not None else f"array{self._array.shape}"
        return f"MajorityVoteReward(answers={kind})"


def _compact_ids(ids: np.ndarray) -> np.ndarray:
    """Answer ids relabelled ``0..n_distinct-1`` (same shape, same partition): ids are only labels."""
    return np.unique(ids, return_inverse=True)[1].reshape(ids.shape)
