"""Self-rewards of sampled responses for real language models (Eq. (2), Appendix A.2).

Each reward maps the candidates drawn for ``k`` prompts (``SampledResponses``-
like: ``texts [k][N]``, ``token_ids [k][N]``, ``log_probs [k, N]``) to scores
``[k, N]`` using only what the sample-and-evaluate oracle reveals — the
responses and their base log-likelihoods — exactly as the core's
``reward.score``.

References:
  Huang et al., "Self-Improvement in Language Models: The Sharpening
  Mechanism", ICLR 2025: Eq. (2) and Appendix A.2.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LogLikelihood", "LengthNormalized", "MajorityVote", "resolve_reward"]


class LogLikelihood:
    """``r(y|x) = log π_base(y|x)`` (Eq. (2)), the default self-reward.

    Example:
      >>> from types import SimpleNamespace as S
      >>> LogLikelihood().score(S(log_probs=np.array([[-3.0, -1.0]]), token_ids=[[[1], [2, 3]]])).tolist()
      [[-3.0, -1.0]]
    """

    def score(self, candidates) -> np.ndarray:
        return np.asarray(candidates.log_probs, dtype=float).copy()

    def __repr__(self) -> str:
        return "LogLikelihood()"


class LengthNormalized:
    """``r(y|x) = log π_base(y|x) / |y|`` with ``|y|`` the number of response tokens (App. A.2).

    An empty response (only possible when passed in by hand) scores ``-inf``.

    Example:
      >>> from types import SimpleNamespace as S
      >>> LengthNormalized().score(S(log_probs=np.array([[-3.0, -1.0]]), token_ids=[[[1], [2, 3]]])).tolist()
      [[-3.0, -0.5]]
    """

    def score(self, candidates) -> np.ndarray:
        lengths = np.array([[len(r) for r in group] for group in candidates.token_ids], dtype=float)
        lp = np.asarray(candidates.log_probs, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(lengths > 0, lp / np.maximum(lengths, 1), -np.inf)

    def __repr__(self) -> str:
        return "LengthNormalized()"


class MajorityVote:
    """Majority vote / self-consistency (App. A.2): the fraction of a prompt's ``N`` draws sharing ``y``'s answer.

    Args:
      extract: ``extract(text) -> answer`` (any hashable) or ``None`` when the
        response states no answer; responses without an answer score 0.

    Example:
      >>> from types import SimpleNamespace as S
      >>> vote = MajorityVote(lambda t: t.strip() or None)
      >>> vote.score(S(texts=[["4", "5", "4", ""]], log_probs=np.zeros((1, 4)))).tolist()
      [[0.5, 0.25, 0.5, 0.0]]
    """

    def __init__(self, extract):
        if not callable(extract):
            raise TypeError(
                f"extract must be callable text -> answer; got {type(extract).__name__}"
            )
        self.extract = extract

    def score(self, candidates) -> np.ndarray:
        out = np.zeros(np.shape(candidates.log_probs))
        for i, group in enumerate(candidates.texts):
            answers = [self.extract(t) for t in group]
            counts: dict = {}
            for a in answers:
                if a is not None:
                    counts[a] = counts.get(a, 0) + 1
            out[i] = [counts[a] / len(group) if a is not None else 0.0 for a in answers]
        return out

    def __repr__(self) -> str:
        return f"MajorityVote({getattr(self.extract, '__name__', 'extract')})"


_NAMED = {"log_likelihood": LogLikelihood, "length_normalized": LengthNormalized}


def resolve_reward(reward):
    """``None`` / ``"log_likelihood"`` / ``"length_normalized"`` / an object with ``score(candidates)``."""
    if reward is None:
        return LogLikelihood()
    if isinstance(reward, str):
        if reward not in _NAMED:
            raise ValueError(
                f"reward must be one of {sorted(_NAMED)} or an object with score(); got {reward!r}"
            )
        return _NAMED[reward]()
    if not callable(getattr(reward, "score", None)):
        raise TypeError(
            f"reward must have a score(candidates) -> [k, N] method; got {type(reward).__name__}"
        )
    return reward
