"""The autoregressive factorisation of an arbitrary joint law over ``V**H`` sequences (full prefix tree)."""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from .._validation import (
    check_int,
    check_prob_rows,
)
from .autoregressive import AutoregressivePolicy, _read_only
from .base import _encode_unchecked
from .tabular import TabularPolicy


class JointAutoregressivePolicy(AutoregressivePolicy):
    """The autoregressive factorisation of an arbitrary joint law over ``V**H`` sequences.

    ``π_h(v | y_{<h}, x) = M(y_{<h} v | x) / M(y_{<h} | x)`` with prefix
    marginals ``M``, all computed once in log space (log-sum-exp over the
    trailing tokens). After a zero-probability prefix the conditionals are
    defined as **uniform** over ``V``; they never affect reachable sequences
    (sampling never enters such a prefix, and the sequence's log-probability is
    already ``-inf``). ``to_tabular()`` gives back ``joint`` up to rounding.

    Args:
      joint: probabilities ``[n_contexts, V**H]`` (rows sum to 1) or a
        :class:`~sharpsim.TabularPolicy` of that shape; column ``i`` is the
        sequence ``decode_responses(i, V, H)`` (first token most significant).
      vocab_size: ``V``.
      horizon: ``H``.

    Example:
      >>> import sharpsim as ss
      >>> ar = ss.JointAutoregressivePolicy([[0.0, 0.4, 0.35, 0.25]], 2, 2)
      >>> np.exp(ar.next_token_log_probs(0, np.zeros((0,), int))).round(2).tolist()
      [0.4, 0.6]
      >>> ar.to_tabular().probs.round(2).tolist()
      [[0.0, 0.4, 0.35, 0.25]]
    """

    def __init__(self, joint, vocab_size: int, horizon: int):
        vocab_size = check_int(vocab_size, "vocab_size", minimum=1)
        horizon = check_int(horizon, "horizon", minimum=1)
        log_joint = _joint_log_probs(joint)
        if log_joint.shape[1] != vocab_size**horizon:
            raise ValueError(
                f"joint must have V**H = {vocab_size}**{horizon} = {vocab_size**horizon} columns; "
                f"got shape {log_joint.shape}"
            )
        super().__init__(log_joint.shape[0], vocab_size, horizon)
        self._conditionals = [
            _read_only(c) for c in _prefix_conditionals(log_joint, vocab_size, horizon)
        ]

    def next_token_log_probs(self, x, prefix) -> np.ndarray:
        """``log π_h(· | prefix, x)`` from the prefix marginals (uniform after an impossible prefix)."""
        return self._next_log_probs(*self._check_prefix(x, prefix))

    def _next_log_probs(self, x, prefix):
        return self._conditionals[prefix.shape[-1]][x, _encode_unchecked(prefix, self.vocab_size)]


def _joint_log_probs(joint) -> np.ndarray:
    if isinstance(joint, TabularPolicy):
        return joint.log_probs
    probs = check_prob_rows(joint, "joint")
    with np.errstate(divide="ignore"):
        return np.log(probs)


def _prefix_conditionals(log_joint: np.ndarray, vocab: int, horizon: int) -> list[np.ndarray]:
    """``[X, V**h, V]`` next-token log-probs for ``h = 0..H-1`` from a joint ``[X, V**H]``."""
    n_contexts = log_joint.shape[0]
    conditionals: list[np.ndarray] = [np.empty(0)] * horizon
    marginal = log_joint
    for h in range(horizon - 1, -1, -1):
        children = marginal.reshape(n_contexts, vocab**h, vocab)
        with np.errstate(divide="ignore"):
            marginal = logsumexp(children, axis=-1)
        reachable = np.isfinite(marginal)
        # Subtract 0 where the prefix is unreachable so that -inf - -inf (NaN) never forms.
        cond = children - np.where(reachable, marginal, 0.0)[..., None]
        conditionals[h] = np.where(reachable[..., None], cond, -np.log(vocab))
    return conditionals
