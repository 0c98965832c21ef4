"""Private helpers shared by the best-of-N samplers and laws (SPEC §6).

Argument checks (tie rule, source, prompts), the response index used by
``tie_break="index"``, and the running best draw per prompt that both the
faithful best-of-N sampler and adaptive best-of-N (Eq. 10) keep.

References:
  Huang et al., "Self-Improvement in Language Models: The Sharpening
  Mechanism", ICLR 2025 (arXiv 2412.01951): Section 3.1, Eq. (10).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_index_array, check_int
from ..oracle import SampleEvaluateOracle
from ..policies.base import Policy, encode_sequences, is_enumerable, tie_threshold

TIE_BREAKS = ("first", "index")
#: Default bound on the (prompt, response) pairs a sampler holds in memory at once.
DEFAULT_CHUNK_SIZE = 1 << 20
_NO_INDEX = np.iinfo(np.int64).max
#: Default cap on the responses one call of the faithful samplers may draw (``max_draws``):
#: about ten minutes of drawing; pass ``max_draws=None`` to lift it.
DEFAULT_MAX_DRAWS = 10**10


# --------------------------------------------------------------------------- validation


def _check_max_draws(max_draws) -> int | None:
    return None if max_draws is None else check_int(max_draws, "max_draws", minimum=1)


def _check_choice(value, name: str, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}; got {value!r}")
    return value


def _check_tie_break(tie_break, base) -> str:
    """``tie_break`` checked against :data:`TIE_BREAKS`; ``"index"`` needs an enumerable base."""
    tie_break = _check_choice(tie_break, "tie_break", TIE_BREAKS)
    if tie_break == "index" and not is_enumerable(base):
        raise ValueError(
            "tie_break='index' orders tied draws by their index among all responses, which needs an "
            f"enumerable base; {type(base).__name__} is opaque (enumerable=False): use tie_break='first'"
        )
    return tie_break


def _empty_responses(base) -> np.ndarray:
    """No responses: int64 ``[0]``, or ``[0, H]`` for sequences (``[0, 0]`` when ``H`` is not declared)."""
    if _is_sequence(base):
        return np.zeros((0, base.horizon), np.int64)
    return np.zeros((0, 0) if getattr(base, "response_ndim", 0) == 1 else (0,), np.int64)


def _as_oracle(source, rng) -> SampleEvaluateOracle:
    if isinstance(source, SampleEvaluateOracle):
        if rng is not None:
            raise ValueError(
                "rng must be None when source is a SampleEvaluateOracle (its generator is used)"
            )
        return source
    if isinstance(source, Policy):
        return SampleEvaluateOracle(source, rng=rng)
    raise TypeError(
        f"source must be a SampleEvaluateOracle or a policy; got {type(source).__name__}"
    )


def _check_prompts(x, oracle: SampleEvaluateOracle) -> np.ndarray:
    x = check_index_array(x, "x", oracle.base.n_contexts)
    if x.ndim != 1:
        raise ValueError(f"x must be 1-d; got shape {x.shape}")
    return x


def _is_sequence(base) -> bool:
    return hasattr(base, "horizon") and hasattr(base, "vocab_size")


def _response_index(base, y: np.ndarray) -> np.ndarray:
    """Index of each response in the tabular order (mixed radix for sequences)."""
    if not _is_sequence(base):
        return y
    if base.vocab_size**base.horizon > _NO_INDEX:
        raise ValueError("tie_break='index' needs vocab_size**horizon to fit in int64")
    return encode_sequences(y, base.vocab_size)


# --------------------------------------------------------------------------- running best draw


def _checked_score(reward, x, y, log_prob) -> np.ndarray:
    scores = np.asarray(reward.score(x, y, log_prob), dtype=float)
    if scores.shape != log_prob.shape:
        raise ValueError(f"reward.score must return shape {log_prob.shape}; got {scores.shape}")
    if np.any(np.isnan(scores)):
        raise ValueError("reward.score returned NaN")
    return scores


def _best_position(scores, index, tie_break, valid=None) -> np.ndarray:
    """Column of the best draw per row under the tie rule; ``valid`` masks a prefix of columns."""
    if valid is not None:
        scores = np.where(valid, scores, -np.inf)
    # Tied with the best draw: within TIE_RTOL of it (the package's one tie rule).
    tied = scores >= tie_threshold(scores.max(axis=1, keepdims=True))
    if valid is not None:
        tied &= valid
    if tie_break == "first":
        return np.argmax(tied, axis=1)  # the earliest tied draw
    return np.argmin(np.where(tied, index, _NO_INDEX), axis=1)


@dataclass
class _Best:
    """Running best draw per prompt: reward, response, base log-prob, response index."""

    score: np.ndarray
    response: np.ndarray
    log_prob: np.ndarray
    index: np.ndarray

    @classmethod
    def at(cls, pos, scores, y, lp, index) -> _Best:
        rows = np.arange(scores.shape[0])
        return cls(scores[rows, pos], y[rows, pos], lp[rows, pos], index[rows, pos])

    def update(self, other: _Best, tie_break: str, rows=None) -> None:
        """Take ``other`` where it wins: a higher reward not tied with the incumbent's, or
        (``'index'``) a tied one of smaller index (ties: :data:`~sharpsim.policies.base.TIE_RTOL`).

        Under ``'first'`` the incumbent, drawn earlier, keeps ties. ``rows``
        selects the entries ``other`` competes for (default: all).
        """
        rows = slice(None) if rows is None else rows
        mine = self.score[rows]
        high, low = np.maximum(mine, other.score), np.minimum(mine, other.score)
        tied = low >= tie_threshold(high)  # the package's one tie rule (TIE_RTOL)
        better = (other.score > mine) & ~tied
        if tie_break == "index":
            better |= tied & (other.index < self.index[rows])
        for name in ("score", "response", "log_prob", "index"):
            mine, theirs = getattr(self, name), getattr(other, name)
            keep = better.reshape(better.shape + (1,) * (theirs.ndim - 1))
            mine[rows] = np.where(keep, theirs, mine[rows])
