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

from .._validation import check_index_array, check_int

#: Two log-probabilities count as tied when they differ by at most
#: ``TIE_RTOL * max(1, |best|)``: mathematically equal products summed in a
#: different order differ by a few ulps, and every mode set and decoding rule in sharpsim
#: must treat them as equal so that its tie rule (lowest index) is reproducible.
TIE_RTOL = 1e-10

#: Largest number of responses ``V**H`` that ``to_tabular`` / enumeration accepts.
MAX_ENUMERATION = 2_000_000


def tie_threshold(best) -> np.ndarray:
    """Smallest log-probability that counts as tied with ``best`` (see :data:`TIE_RTOL`).

    Example:
      >>> float(tie_threshold(-2.0)) == -2.0 - 2e-10
      True
    """
    best = np.asarray(best, dtype=float)
    return best - TIE_RTOL * np.maximum(1.0, np.abs(best))


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

    Raises:
      ValueError: a token outside ``[0, V)``, or ``V**H > 2**63`` (no int64 index).

    Example:
      >>> encode_sequences([[1, 0], [1, 1]], 2).tolist()
      [2, 3]
    """
    vocab_size = check_int(vocab_size, "vocab_size", minimum=1)
    seqs = check_index_array(seqs, "seqs", vocab_size)
    if seqs.ndim < 1:
        raise ValueError("seqs must have shape [..., H]; got a scalar")
    _check_index_range(vocab_size, seqs.shape[-1])
    return _encode_unchecked(seqs, vocab_size)


def _encode_unchecked(seqs: np.ndarray, vocab_size: int) -> np.ndarray:
    """:func:`encode_sequences` for validated int64 tokens ``[..., H]`` (internal hot paths)."""
    weights = vocab_size ** np.arange(seqs.shape[-1] - 1, -1, -1, dtype=np.int64)
    return seqs @ weights


def decode_responses(index, vocab_size: int, horizon: int) -> np.ndarray:
    """Inverse of :func:`encode_sequences`: ``[...]`` indices -> ``[..., H]`` tokens.

    Args:
      index: int array ``[...]`` with entries in ``[0, V**H)``.
      vocab_size: ``V``.
      horizon: ``H``.

    Returns:
      int64 array ``[..., H]``.

    Example:
      >>> decode_responses([2, 3], 2, 2).tolist()
      [[1, 0], [1, 1]]
    """
    vocab_size = check_int(vocab_size, "vocab_size", minimum=1)
    horizon = check_int(horizon, "horizon", minimum=0)
    _check_index_range(vocab_size, horizon)
    index = check_index_array(index, "index", vocab_size**horizon)
    weights = vocab_size ** np.arange(horizon - 1, -1, -1, dtype=np.int64)
    return (index[..., None] // weights) % vocab_size


def _check_index_range(vocab_size: int, horizon: int) -> None:
    if vocab_size**horizon - 1 > np.iinfo(np.int64).max:
        raise ValueError(
            f"V**H = {vocab_size}**{horizon} sequences do not have int64 indices (at most 2**63 sequences)"
        )


def all_sequences(vocab_size: int, horizon: int, *, max_sequences: int = MAX_ENUMERATION) -> np.ndarray:
    """Every sequence of ``V^H`` in index order, shape ``[V**H, H]`` (first token most significant).

    Args:
      vocab_size, horizon: ``V >= 1`` and ``H >= 0``.
      max_sequences: refuse (``ValueError``, before allocating anything) when
        ``V**H`` exceeds this; the table takes ``8·H·V**H`` bytes.

    Example:
      >>> all_sequences(2, 2).tolist()
      [[0, 0], [0, 1], [1, 0], [1, 1]]
    """
    vocab_size = check_int(vocab_size, "vocab_size", minimum=1)
    horizon = check_int(horizon, "horizon", minimum=0)
    max_sequences = check_int(max_sequences, "max_sequences", minimum=1)
    count = vocab_size**horizon
    if count > max_sequences:
        raise ValueError(
            f"all_sequences(vocab_size={vocab_size}, horizon={horizon}): V**H = {vocab_size}**{horizon} = {count} "
            f"sequences ({8 * horizon * count / 2**30:.3g} GiB) is more than max_sequences={max_sequences}"
        )
    return decode_responses(np.arange(count), vocab_size, horizon)
