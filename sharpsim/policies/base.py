"""The small protocol every policy follows, and sequence <-> index encoding.

A policy (SPEC §1) maps a prompt index ``x`` in ``0..n_contexts-1`` to a
distribution over responses. Tabular policies use integer responses
``0..n_responses-1``; autoregressive policies use token sequences of shape
``[..., horizon]``. Both evaluate (``log_prob``) and sample (``sample``), in the
style of ``scipy.stats`` and ``torch.distributions``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

#: Largest number of responses ``V**H`` that ``to_tabular`` / enumeration accepts.
MAX_ENUMERATION = 2_000_000


@runtime_checkable
class Policy(Protocol):
    """What the oracle and the algorithms need from a policy ``π : X → Δ(Y)``."""

    n_contexts: int

    def log_prob(self, x, y) -> np.ndarray:  # pragma: no cover - protocol
        """``log π(y|x)`` for broadcasting arrays of prompts and responses."""

    def sample(self, x, n: int, rng=None) -> np.ndarray:  # pragma: no cover - protocol
        """``n`` i.i.d. responses per prompt in ``x``."""


def encode_sequences(seqs, vocab_size: int) -> np.ndarray:
    """Mixed-radix index of token sequences, first token most significant.

    Args:
      seqs: int array ``[..., H]`` with entries in ``[0, vocab_size)``.
      vocab_size: ``V``.

    Returns:
      int64 array ``[...]`` with values in ``[0, V**H)``.

    Example:
      >>> encode_sequences([[1, 0], [1, 1]], 2).tolist()
      [2, 3]
    """
    seqs = np.asarray(seqs, dtype=np.int64)
    horizon = seqs.shape[-1]
    weights = vocab_size ** np.arange(horizon - 1, -1, -1, dtype=np.int64)
    return seqs @ weights


def decode_responses(index, vocab_size: int, horizon: int) -> np.ndarray:
    """Inverse of :func:`encode_sequences`: ``[...]`` indices -> ``[..., H]`` tokens.

    Example:
      >>> decode_responses([2, 3], 2, 2).tolist()
      [[1, 0], [1, 1]]
    """
    index = np.asarray(index, dtype=np.int64)
    weights = vocab_size ** np.arange(horizon - 1, -1, -1, dtype=np.int64)
    return (index[..., None] // weights) % vocab_size


def all_sequences(vocab_size: int, horizon: int) -> np.ndarray:
    """Every sequence of ``V^H`` in index order, shape ``[V**H, H]``."""
    return decode_responses(np.arange(vocab_size**horizon), vocab_size, horizon)
