"""A reward given as an explicit table ``[n_contexts, n_responses]``."""

from __future__ import annotations

import numpy as np

from .._validation import check_index_array, check_int
from ..policies.base import encode_sequences
from ..policies.tabular import as_tabular
from .likelihood import _check_scored

__all__ = ["TableReward"]


class TableReward:
    """A reward given as an explicit table ``r[x, y]`` (any fixed function of ``(x, y)``).

    Useful for ties and for rewards computed elsewhere. Sequences are looked
    up by their mixed-radix index (``encode_sequences``), so ``vocab_size`` is
    needed to score token arrays.

    Args:
      values: real array ``[n_contexts, n_responses]`` without NaN or ``+inf``
        (``-inf`` is allowed and ranks last).
      vocab_size: ``V``, required only to score sequences ``[k, N, H]``.

    Example:
      >>> reward = TableReward([[1.0, 3.0, 3.0]])
      >>> reward.score([0, 0], [[0, 1], [2, 0]], np.zeros((2, 2))).tolist()
      [[1.0, 3.0], [3.0, 1.0]]
    """

    depends_on_group = False

    def __init__(self, values, vocab_size: int | None = None):
        arr = np.asarray(values)
        if (
            arr.ndim != 2
            or arr.size == 0
            or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer))
        ):
            raise TypeError(
                f"values must be a non-empty real array [n_contexts, n_responses]; got dtype {arr.dtype}, "
                f"shape {arr.shape}"
            )
        arr = arr.astype(float)
        if np.any(np.isnan(arr)) or np.any(arr == np.inf):
            raise ValueError("values must not contain NaN or +inf")
        self.values = arr
        self.vocab_size = (
            None if vocab_size is None else check_int(vocab_size, "vocab_size", minimum=1)
        )

    def table(self, base) -> np.ndarray:
        """The stored table, after checking it matches ``base``'s shape."""
        tab = as_tabular(base, "base")
        if self.values.shape != tab.log_probs.shape:
            raise ValueError(
                f"values must have shape {tab.log_probs.shape} to match base; got {self.values.shape}"
            )
        return self.values

    def score(self, x, y, log_prob) -> np.ndarray:
        """``values[x, y]`` for sampled responses (sequences through their mixed-radix index)."""
        x, y, log_prob = _check_scored(x, y, log_prob)
        if y.ndim == 3:
            if self.vocab_size is None:
                raise ValueError("vocab_size is needed to score token sequences with a TableReward")
            if self.values.shape[1] != self.vocab_size ** y.shape[2]:
                raise ValueError(
                    f"values has {self.values.shape[1]} columns but sequences of length H={y.shape[2]} need "
                    f"vocab_size**H = {self.vocab_size}**{y.shape[2]}"
                )
            y = encode_sequences(check_index_array(y, "y", self.vocab_size), self.vocab_size)
        n_x, n_y = self.values.shape
        if y.size and (x.max() >= n_x or x.min() < 0 or y.max() >= n_y or y.min() < 0):
            raise ValueError(
                f"values has shape {self.values.shape}; responses or prompts fall outside it"
            )
        return self.values[x[:, None], y]

    def __repr__(self) -> str:
        return f"TableReward(shape={self.values.shape})"
