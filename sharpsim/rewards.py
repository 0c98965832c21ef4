"""Self-rewards ``r_self(y|x; π_base)``: functions of a response computed from the base model itself.

Section 2 / Eq. (2) of the paper sharpens towards the base model's own
likelihood; Appendix A.2 also uses length-normalised likelihood and majority
vote (self-consistency). Each reward here offers two views:

* ``table(base) -> [n_contexts, n_responses]``: the exact reward of every
  response, for the exact laws (``best_of_n_law``, the tilted model, ...).
  Autoregressive bases are enumerated through ``as_tabular``.
* ``score(x, y, log_prob) -> [k, N]``: the reward of sampled responses, using
  only what the sample-and-evaluate oracle reveals (Definition 3.2): the
  prompts ``x [k]``, the drawn responses ``y [k, N]`` (or ``[k, N, H]``) and
  their base log-likelihoods ``log π_base(y|x) [k, N]``.

Tables and scores hold the raw computed values; equal rewards reached along
different arithmetic paths (sums of answer masses, products of conditionals)
may differ by ulps, and every consumer (best-of-N laws and samplers, the SFT
error functions) groups them by the package's one tie rule
(:data:`~sharpsim.policies.base.TIE_RTOL`; CONTRIBUTING.md, "Ties").
``sharpsim.policies.base.canonical_ties`` makes tied values bit-equal.

The exact best-of-N law applies only to rewards that are *fixed functions of
(x, y)*. ``depends_on_group`` flags rewards whose ``score`` of a draw depends on
the other draws of its prompt (the empirical majority vote), for which only
the faithful sampler is exact.

References:
  Huang et al., "Self-Improvement in Language Models: The Sharpening
  Mechanism", ICLR 2025 (arXiv 2412.01951), Eq. (2), Appendix A.2.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validation import check_index_array, check_int
from .policies.base import all_sequences, encode_sequences
from .policies.tabular import as_tabular

__all__ = [
    "LogLikelihoodReward",
    "LengthNormalizedReward",
    "MajorityVoteReward",
    "TableReward",
    "log_likelihood",
]


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


def resolve_reward(reward, name: str = "reward"):
    """Return a reward object: ``None`` is :data:`log_likelihood`; an array becomes a :class:`TableReward`.

    Example:
      >>> resolve_reward(None) is log_likelihood, type(resolve_reward([[1.0, 2.0]])).__name__
      (True, 'TableReward')
    """
    if reward is None:
        return log_likelihood
    if hasattr(reward, "table") and hasattr(reward, "score"):
        return reward
    if isinstance(reward, (np.ndarray, list, tuple)) and not isinstance(reward, numbers.Number):
        return TableReward(reward)
    raise TypeError(
        f"{name} must be None, a reward object with table() and score(), or an array; got {type(reward).__name__}"
    )


def reward_table(
    reward, base, n_contexts: int, n_responses: int, name: str = "reward"
) -> np.ndarray:
    """``reward.table(base)`` checked to be a real ``[n_contexts, n_responses]`` array without NaN.

    Example:
      >>> import sharpsim as ss
      >>> reward_table(log_likelihood, ss.TabularPolicy([[0.5, 0.5]]), 1, 2).round(3).tolist()
      [[-0.693, -0.693]]
    """
    arr = np.asarray(reward.table(base))
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"{name}.table must return a real array; got dtype {arr.dtype}")
    if arr.shape != (n_contexts, n_responses):
        raise ValueError(
            f"{name}.table must have shape {(n_contexts, n_responses)}; got {arr.shape}"
        )
    arr = arr.astype(float, copy=False)
    if np.any(np.isnan(arr)) or np.any(arr == np.inf):
        raise ValueError(f"{name}.table must not contain NaN or +inf")
    return arr
