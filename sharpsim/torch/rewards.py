"""Self-rewards of sampled LM responses, in the core's reward protocol (Eq. (2), Appendix A.2).

A core reward scores what the sample-and-evaluate oracle reveals:
``score(x, y, log_prob) -> [k, N]`` for prompts ``x [k]``, responses
``y [k, N, H]`` (token rows padded with ``PAD = -1``, as
:class:`~sharpsim.torch.prompted.PromptedLM` returns them) and their base
log-likelihoods. So the core's best-of-N loop and tie rule apply to a real
LM unchanged. Log-likelihood is the core's own reward (``None``); this module
adds the two that need a real LM's tokens or text:

* :class:`LengthNormalized`: ``log π_base(y|x) / |y|`` with ``|y|`` the number
  of response tokens (end-of-sequence included);
* :class:`MajorityVote`: the share of a prompt's draws with ``y``'s answer
  (self-consistency), from the decoded text.

Neither can be tabulated (``table`` raises), so only the faithful samplers use them.

References:
  Huang et al., "Self-Improvement in Language Models: The Sharpening
  Mechanism", ICLR 2025: Eq. (2) and Appendix A.2.
"""

from __future__ import annotations

import numpy as np

from ..rewards import log_likelihood
from .prompted import PAD

__all__ = ["LogLikelihood", "LengthNormalized", "MajorityVote", "resolve_reward", "score_samples"]

#: ``r(y|x) = log π_base(y|x)`` (Eq. (2)): the core's reward object.
LogLikelihood = type(log_likelihood)


class _Untabulated:
    def table(self, base):
        raise TypeError(f"{self!r} scores sampled LM responses only; it has no exact table")


class LengthNormalized(_Untabulated):
    """``r(y|x) = log π_base(y|x) / |y|``, ``|y|`` the response's tokens before the padding (App. A.2).

    Example:
      >>> LengthNormalized().score([0], [[[5, 7, -1], [5, -1, -1]]], [[-3.0, -1.0]]).tolist()
      [[-1.5, -1.0]]
    """

    depends_on_group = False

    def score(self, x, y, log_prob) -> np.ndarray:
        lengths = (np.asarray(y) != PAD).sum(axis=-1)
        lp = np.asarray(log_prob, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(lengths > 0, lp / np.maximum(lengths, 1), -np.inf)

    def __repr__(self) -> str:
        return "LengthNormalized()"


class MajorityVote(_Untabulated):
    """Majority vote / self-consistency (App. A.2): the share of a prompt's ``N`` draws with ``y``'s answer.

    Args:
      extract: ``extract(text) -> answer`` (any hashable), ``None`` when the
        response states no answer; such a response counts as an answer of its own.
      decode: ``decode(y) -> texts`` for token rows ``y [..., H]`` (set by
        :meth:`bind`; the best-of-N entry points bind it to the model's tokenizer).

    Example:
      >>> vote = MajorityVote(lambda t: t.strip() or None, decode=lambda y: np.array(["4", "5", "4", ""])[y[..., 0]])
      >>> vote.score([0], np.array([[[0], [1], [2], [3]]]), np.zeros((1, 4))).tolist()
      [[0.5, 0.25, 0.5, 0.25]]
    """

    depends_on_group = True

    def __init__(self, extract, decode=None):
        if not callable(extract):
            raise TypeError(
                f"extract must be callable text -> answer; got {type(extract).__name__}"
            )
        self.extract, self.decode = extract, decode
        self._ids: dict = {}

    def bind(self, decode) -> MajorityVote:
        """The same vote reading texts through ``decode(y) -> texts``."""
        return MajorityVote(self.extract, decode)

    def answer_ids(self, x, y) -> np.ndarray:
        """Answer ids ``[k, N]``: equal answers share an id; a response with no answer gets its own."""
        if self.decode is None:
            raise ValueError("MajorityVote needs decode: call bind(decode) or pass decode=")
        texts = np.asarray(self.decode(np.asarray(y)), dtype=object)
        out = np.empty(texts.shape, dtype=np.int64)
        for pos, text in np.ndenumerate(texts):
            answer = self.extract(text)
            key = ("no answer", len(self._ids)) if answer is None else ("answer", answer)
            out[pos] = self._ids.setdefault(key, len(self._ids))
        return out

    def score(self, x, y, log_prob) -> np.ndarray:
        ids = self.answer_ids(x, y)
        same = ids[:, :, None] == ids[:, None, :]
        return same.sum(axis=2) / ids.shape[1]

    def __repr__(self) -> str:
        return f"MajorityVote({getattr(self.extract, '__name__', 'extract')})"


_NAMED = {"log_likelihood": lambda: log_likelihood, "length_normalized": LengthNormalized}


def resolve_reward(reward, decode=None):
    """A core reward object from ``None`` / ``"log_likelihood"`` / ``"length_normalized"`` / a reward object.

    A :class:`MajorityVote` is bound to ``decode`` (``y -> texts``) when given.
    """
    if reward is None:
        return log_likelihood
    if isinstance(reward, str):
        if reward not in _NAMED:
            raise ValueError(
                f"reward must be one of {sorted(_NAMED)} or a reward object; got {reward!r}"
            )
        return _NAMED[reward]()
    if not (callable(getattr(reward, "score", None)) and hasattr(reward, "table")):
        raise TypeError(
            f"reward must be a reward object with score(x, y, log_prob) and table(); got {type(reward).__name__}"
        )
    if isinstance(reward, MajorityVote) and decode is not None:
        return reward.bind(decode)
    return reward


def score_samples(reward, candidates) -> np.ndarray:
    """Scores ``[k, N]`` of drawn :class:`~sharpsim.torch.SampledResponses` under a reward (``None``: log-likelihood)."""
    lp = np.asarray(candidates.log_probs, dtype=float)
    longest = max((len(r) for group in candidates.token_ids for r in group), default=0)
    k, n = lp.shape
    y = np.full((k, n, max(longest, 1)), PAD, dtype=np.int64)
    for i, group in enumerate(candidates.token_ids):
        for j, ids in enumerate(group):
            y[i, j, : len(ids)] = ids
    texts = np.array(candidates.texts, dtype=object).reshape(lp.shape)
    decode = {row.tobytes(): t for row, t in zip(y.reshape(-1, y.shape[-1]), texts.ravel())}
    scorer = resolve_reward(reward, lambda rows: _lookup(decode, rows))
    scores = np.asarray(scorer.score(np.arange(k), y, lp), dtype=float)
    if scores.shape != lp.shape:
        raise ValueError(f"reward.score must return shape {lp.shape}; got {scores.shape}")
    if np.isnan(scores).any():
        raise ValueError("reward.score returned NaN")
    return scores


def _lookup(decode: dict, rows) -> np.ndarray:
    rows = np.asarray(rows)
    flat = [decode[r.tobytes()] for r in rows.reshape(-1, rows.shape[-1])]
    return np.array(flat, dtype=object).reshape(rows.shape[:-1])
