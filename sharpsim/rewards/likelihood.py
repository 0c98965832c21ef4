"""Likelihood self-rewards: ``log π_base(y|x)`` (Eq. (2)) and its length-normalised form (App. A.2)."""

from __future__ import annotations

import numpy as np

from .._validation import check_int
from ..policies.base import all_sequences, encode_sequences
from ..policies.tabular import as_tabular

__all__ = ["LogLikelihoodReward", "LengthNormalizedReward", "log_likelihood"]


def _check_scored(x, y, log_prob):
    """Validate the arguments of ``score``: ``x [k]``, ``y [k, N, ...]``, ``log_prob [k, N]``."""
    x = np.asarray(x)
    if x.ndim != 1 or not (np.issubdtype(x.dtype, np.integer) or x.size == 0):
        raise TypeError(
            f"x must be a 1-d integer array of prompts; got dtype {x.dtype}, shape {x.shape}"
        )
    log_prob = np.asarray(log_prob, dtype=float)
    if log_prob.ndim != 2 or log_prob.shape[0] != x.shape[0]:
        raise ValueError(
            f"log_prob must have shape (k, N) with k = len(x) = {x.shape[0]}; got {log_prob.shape}"
        )
    if np.any(np.isnan(log_prob)) or np.any(log_prob == np.inf):
        raise ValueError("log_prob must not contain NaN or +inf (log-likelihoods are in [-inf, 0])")
    y = np.asarray(y)
    if y.shape[:2] != log_prob.shape:
        raise ValueError(
            f"y must have shape {log_prob.shape} (+ (H,) for sequences); got {y.shape}"
        )
    return x, y, log_prob


def _is_sequence_policy(base) -> bool:
    return hasattr(base, "horizon") and hasattr(base, "vocab_size")


class LogLikelihoodReward:
    """Maximum-likelihood self-reward ``r(y|x) = log π_base(y|x)`` (Eq. 2), the default everywhere.

    Example:
      >>> import sharpsim as ss
      >>> pi = ss.TabularPolicy([[0.5, 0.3, 0.2]])
      >>> ss.log_likelihood.table(pi).round(3).tolist()
      [[-0.693, -1.204, -1.609]]
      >>> ss.log_likelihood.score([0], [[2, 0]], [[-1.609, -0.693]]).tolist()
      [[-1.609, -0.693]]
    """

    depends_on_group = False

    def table(self, base) -> np.ndarray:
        """``log π_base(y|x)`` for every response, float ``[n_contexts, n_responses]``."""
        return as_tabular(base, "base").log_probs

    def score(self, x, y, log_prob) -> np.ndarray:
        """The revealed log-likelihoods themselves, float ``[k, N]``."""
        return _check_scored(x, y, log_prob)[2].copy()

    def __repr__(self) -> str:
        return "LogLikelihoodReward()"


#: The default self-reward, ``log π_base(y|x)`` (Eq. 2).
log_likelihood = LogLikelihoodReward()


class LengthNormalizedReward:
    """Length-normalised log-likelihood ``log π_base(y|x) / |y|`` (Appendix A.2), for token sequences.

    Responses are fixed-length arrays ``[..., H]``; a response ends at the
    first ``end_token``, so ``|y|`` is that position plus one (``H`` when no
    end token appears).

    Padding convention: the oracle reveals ``log π_base`` of the whole
    ``H``-token array, so the base must make every token after the first end
    token deterministic (e.g. keep emitting ``end_token``). Then
    ``log π_base(y_{1:H}|x) = log π_base(y_{1:|y|}|x)`` and the reward is the
    length-normalised likelihood of the response itself. ``table`` checks this
    exactly and raises ``ValueError`` otherwise; ``score`` sees only samples
    and relies on it.

    Args:
      end_token: the token id that ends a response (``>= 0``).

    Example:
      >>> reward = LengthNormalizedReward(end_token=0)
      >>> reward.lengths([[1, 0, 0], [1, 1, 1]]).tolist()
      [2, 3]
      >>> reward.score([0], [[[1, 0, 0], [1, 1, 1]]], [[-1.0, -1.5]]).tolist()
      [[-0.5, -0.5]]
    """

    depends_on_group = False

    def __init__(self, end_token: int):
        self.end_token = check_int(end_token, "end_token", minimum=0)

    def lengths(self, seqs) -> np.ndarray:
        """Response lengths ``[...]`` of token arrays ``[..., H]``: first end token position + 1, else ``H``."""
        seqs = np.asarray(seqs)
        is_end = seqs == self.end_token
        return np.where(is_end.any(axis=-1), is_end.argmax(axis=-1) + 1, seqs.shape[-1])

    def table(self, base) -> np.ndarray:
        """``log π_base(y|x) / |y|`` for every sequence, ``[n_contexts, V**H]`` (mixed-radix order)."""
        if not _is_sequence_policy(base):
            raise TypeError(
                f"base must be an autoregressive policy (vocab_size, horizon) for a length-normalised "
                f"reward; got {type(base).__name__}"
            )
        if self.end_token >= base.vocab_size:
            raise ValueError(
                f"end_token must be < vocab_size={base.vocab_size}; got {self.end_token}"
            )
        log_probs = as_tabular(base, "base").log_probs
        seqs = all_sequences(base.vocab_size, base.horizon)
        self._check_deterministic_padding(log_probs, seqs, base.vocab_size)
        return log_probs / self.lengths(seqs)[None, :]

    def _check_deterministic_padding(self, log_probs, seqs, vocab_size) -> None:
        """Raise unless sequences agreeing up to their end token never both have positive mass."""
        after_end = np.arange(seqs.shape[1]) >= self.lengths(seqs)[:, None]
        canonical = encode_sequences(np.where(after_end, self.end_token, seqs), vocab_size)
        n_y = seqs.shape[0]
        rows, cols = np.nonzero(log_probs > -np.inf)
        counts = np.bincount(rows * n_y + canonical[cols], minlength=log_probs.shape[0] * n_y)
        if np.any(counts > 1):
            x, c = divmod(int(np.argmax(counts > 1)), n_y)
            raise ValueError(
                f"base must make tokens after end_token={self.end_token} deterministic: prompt {x} gives "
                f"positive probability to {int(counts.max())} sequences that agree up to the end of "
                f"{seqs[c].tolist()}"
            )

    def score(self, x, y, log_prob) -> np.ndarray:
        """``log_prob / |y|`` for sampled sequences ``y [k, N, H]``; float ``[k, N]``."""
        x, y, log_prob = _check_scored(x, y, log_prob)
        if y.ndim != 3:
            raise ValueError(f"y must be token sequences of shape (k, N, H); got {y.shape}")
        return log_prob / self.lengths(y)

    def __repr__(self) -> str:
        return f"LengthNormalizedReward(end_token={self.end_token})"
