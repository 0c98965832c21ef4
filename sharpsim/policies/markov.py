"""Markov autoregressive policies: next-token tables per prompt and position (SPEC §1), exact Viterbi mode."""

from __future__ import annotations

import numpy as np

from .._validation import (
    as_real_array,
    check_prob_rows,
)
from .autoregressive import AutoregressivePolicy, _read_only, first_at_least
from .base import tie_threshold


class MarkovPolicy(AutoregressivePolicy):
    """Position-dependent first-order Markov chain over tokens (SPEC §1).

    ``π(y|x) = initial[x, y_1] · ∏_{h=1}^{H-1} transition[x, h-1, y_h, y_{h+1}]``
    (tokens 1-based as in the paper, array axes 0-based). Its sequence mode is
    computed exactly by Viterbi in ``O(k H V²)``.

    Args:
      initial: ``[n_contexts, V]``, rows sum to 1.
      transition: ``[n_contexts, H-1, V, V]``; ``transition[x, h, u, v]`` is the
        probability of token ``v`` at position ``h+1`` after token ``u`` at
        position ``h`` (0-based); rows (last axis) sum to 1. ``H-1 = 0`` is allowed.

    Example:
      >>> import sharpsim as ss
      >>> ar = ss.MarkovPolicy([[0.6, 0.4]], [[[[0.5, 0.5], [0.0, 1.0]]]])
      >>> ar.to_tabular().probs.round(3).tolist()
      [[0.3, 0.3, 0.0, 0.4]]
      >>> ar.mode([0]).tolist(), ar.log_prob(0, [1, 1]).round(4).tolist()
      ([[1, 1]], -0.9163)
    """

    def __init__(self, initial, transition):
        initial = check_prob_rows(initial, "initial", ndim=2)
        transition = _check_transition(transition, initial.shape)
        super().__init__(initial.shape[0], initial.shape[1], transition.shape[1] + 1)
        with np.errstate(divide="ignore"):
            self._log_initial = _read_only(np.log(initial))
            self._log_transition = _read_only(np.log(transition))
        self.initial = _read_only(initial)
        self.transition = _read_only(transition)

    def next_token_log_probs(self, x, prefix) -> np.ndarray:
        """``log π_h(· | prefix, x)``: ``initial`` for ``h = 0``, else the transition row of the last token."""
        return self._next_log_probs(*self._check_prefix(x, prefix))

    def _next_log_probs(self, x, prefix):
        h = prefix.shape[-1]
        if h == 0:
            return self._log_initial[
                np.broadcast_to(x, np.broadcast_shapes(np.shape(x), prefix.shape[:-1]))
            ]
        return self._log_transition[x, h - 1, prefix[..., -1]]

    def mode(self, x) -> np.ndarray:
        """Exact sequence-level mode by Viterbi in log space (Eq. (5)).

        A backward pass computes the best suffix score from every (position,
        token); a forward pass then picks, position by position, the lowest
        token that still completes to a sequence tied with the maximum. This
        is exactly the enumeration tie rule of :meth:`AutoregressivePolicy.mode`
        (lowest encoded index among sequences within :data:`~sharpsim.policies.base.TIE_RTOL` of the max).

        Args:
          x: int array ``[k]`` of prompts.

        Returns:
          int64 array ``[k, H]``.
        """
        x = self._check_prompts(x)
        suffix = self._best_suffix_scores(x)
        rows = np.arange(x.shape[0])
        seqs = np.zeros((x.shape[0], self.horizon), dtype=np.int64)
        first = self._log_initial[x] + suffix[:, 0]
        threshold = tie_threshold(first.max(axis=-1))
        seqs[:, 0] = first_at_least(first, threshold)
        prefix_score = self._log_initial[x, seqs[:, 0]]
        for h in range(1, self.horizon):
            step = self._log_transition[x, h - 1, seqs[:, h - 1]]
            seqs[:, h] = first_at_least(prefix_score[:, None] + step + suffix[:, h], threshold)
            prefix_score = prefix_score + step[rows, seqs[:, h]]
        return seqs

    def _best_suffix_scores(self, x: np.ndarray) -> np.ndarray:
        """``[k, H, V]``: max over ``y_{h+1:}`` of ``log π(y_{h+1:} | y_h = v, x)`` (Viterbi, backward)."""
        suffix = np.zeros((x.shape[0], self.horizon, self.vocab_size))
        for h in range(self.horizon - 2, -1, -1):
            suffix[:, h] = (self._log_transition[x, h] + suffix[:, h + 1, None, :]).max(axis=-1)
        return suffix


def _check_transition(transition, initial_shape) -> np.ndarray:
    arr = as_real_array(transition, "transition")
    n_contexts, vocab = initial_shape
    if arr.ndim != 4:
        raise ValueError(
            f"transition must have 4 dimensions [n_contexts, H-1, V, V]; got shape {arr.shape}"
        )
    if arr.shape[0] != n_contexts or arr.shape[2:] != (vocab, vocab):
        raise ValueError(
            f"transition must have shape [{n_contexts}, H-1, {vocab}, {vocab}] to match initial "
            f"{tuple(initial_shape)}; got {arr.shape}"
        )
    if arr.shape[1] > 0:
        check_prob_rows(arr, "transition", ndim=4)
    return arr
