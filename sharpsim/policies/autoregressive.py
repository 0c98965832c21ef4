"""Autoregressive policies over token sequences ``Y = V^H`` (SPEC §1, Eq. (11)).

A response is a sequence ``y = (y_1, ..., y_H)`` of tokens in ``0..V-1`` and
``π(y|x) = ∏_h π_h(y_h | y_{1:h-1}, x)``. A subclass of
:class:`AutoregressivePolicy` supplies only the next-token conditionals;
evaluation, sampling, enumeration into a :class:`~sharpsim.TabularPolicy` and
the exact sequence-level mode are built on them, vectorised over the batch
with a Python loop over positions only. Sequences are indexed in mixed radix,
first token most significant (:func:`~sharpsim.policies.base.encode_sequences`),
so "lowest encoded index" and "lexicographically smallest" mean the same.

References:
  Huang et al., "Self-Improvement in Language Models: The Sharpening
  Mechanism", ICLR 2025: Sec. 3.1 (Eq. (5)), App. E (Eq. (11), Props. E.1, E.2).
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from .._validation import (
    as_real_array,
    check_index_array,
    check_int,
    check_prob_rows,
    check_real,
    check_rng,
)
from .base import MAX_ENUMERATION, _encode_unchecked, all_sequences, decode_responses, tie_threshold
from .linear import logit_gaps
from .tabular import TabularPolicy, log_softmax

#: Next-token rows drawn from must sum to 1 within this (checks user subclasses).
NEXT_TOKEN_ATOL = 1e-6

#: Float entries per block when enumerating ``V**H`` sequences (bounds memory).
_BLOCK_ELEMENTS = 1 << 22


def first_at_least(scores: np.ndarray, threshold) -> np.ndarray:
    """Index of the first entry of each row ``[..., n]`` that is ``>= threshold [...]``.

    Falls back to the row's argmax if rounding left no entry above the threshold.
    """
    above = scores >= np.asarray(threshold)[..., None]
    return np.where(above.any(axis=-1), above.argmax(axis=-1), scores.argmax(axis=-1))


def first_near_max(scores: np.ndarray) -> np.ndarray:
    """Lowest index along the last axis among entries tied with the row maximum.

    Example:
      >>> first_near_max(np.array([[0.1, 0.3, 0.3], [-np.inf, -1.0, -2.0]])).tolist()
      [1, 1]
    """
    return first_at_least(scores, tie_threshold(scores.max(axis=-1)))


def temper(log_probs: np.ndarray, temperature: float | None) -> np.ndarray:
    """Token-level temperature: rows ``∝ π^(1/T)``, renormalised in log space."""
    if temperature is None:
        return log_probs
    # Shift by the row max first: the best token scores 0, so even a temperature
    # tiny enough to overflow the rest to -inf leaves a valid row (no -inf - -inf).
    with np.errstate(over="ignore"):
        scaled = (log_probs - log_probs.max(axis=-1, keepdims=True)) / temperature
    return scaled - logsumexp(scaled, axis=-1, keepdims=True)


def sample_tokens(log_probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One token per row of ``log_probs [..., V]`` by inverse CDF.

    Rows must sum to 1 within :data:`NEXT_TOKEN_ATOL` (ValueError otherwise);
    zero-probability tokens are never drawn.
    """
    cdf = np.cumsum(np.exp(log_probs), axis=-1)
    total = cdf[..., -1:]
    bad = ~(np.abs(total - 1.0) <= NEXT_TOKEN_ATOL)
    if np.any(bad):
        raise ValueError(
            "next-token log-probabilities must normalise; a row sums to "
            f"{float(total[bad][0]):.12g}"
        )
    cdf /= total  # last entry exactly 1.0, so every u in (0, 1] lands in the row
    u = 1.0 - rng.random(cdf.shape[:-1])
    return np.sum(cdf < u[..., None], axis=-1)


class AutoregressivePolicy:
    """Base class of policies over ``Y = V^H`` with ``π(y|x) = ∏_h π_h(y_h | y_{<h}, x)``.

    A subclass implements one method, :meth:`next_token_log_probs`; every other
    method is generic. Positions are 0-based in code (``h = 0..H-1``) and
    1-based in the paper.

    Args:
      n_contexts: number of prompts ``|X|``.
      vocab_size: ``V``.
      horizon: ``H``.

    Attributes:
      n_contexts, vocab_size, horizon: as above.
      n_responses: ``V**H`` (a Python int; may be astronomically large).

    Example:
      >>> import numpy as np, sharpsim as ss
      >>> class Sticky(ss.AutoregressivePolicy):
      ...     "First token uniform, then repeat the previous token w.p. 0.9."
      ...     def next_token_log_probs(self, x, prefix):
      ...         shape = np.broadcast_shapes(np.shape(x), prefix.shape[:-1])
      ...         if prefix.shape[-1] == 0:
      ...             return np.full(shape + (2,), np.log(0.5))
      ...         same = prefix[..., -1:] == np.arange(2)
      ...         return np.broadcast_to(np.log(np.where(same, 0.9, 0.1)), shape + (2,))
      >>> pi = Sticky(n_contexts=1, vocab_size=2, horizon=3)
      >>> pi.to_tabular().probs.round(3).tolist()
      [[0.405, 0.045, 0.005, 0.045, 0.045, 0.005, 0.045, 0.405]]
      >>> pi.mode([0]).tolist()
      [[0, 0, 0]]
    """

    #: Responses are token sequences: one trailing axis of length ``horizon``.
    response_ndim = 1

    def __init__(self, n_contexts: int, vocab_size: int, horizon: int):
        self.n_contexts = check_int(n_contexts, "n_contexts", minimum=1)
        self.vocab_size = check_int(vocab_size, "vocab_size", minimum=1)
        self.horizon = check_int(horizon, "horizon", minimum=1)
        self.n_responses = self.vocab_size**self.horizon

    # ----------------------------------------------------------------- hook
    def next_token_log_probs(self, x, prefix) -> np.ndarray:
        """``log π_h(· | prefix, x)`` for ``h = prefix.shape[-1]``: the subclass hook.

        Args:
          x: int array ``[...]`` of prompts.
          prefix: int array ``[..., h]`` of tokens, ``0 <= h < H``; its batch
            shape broadcasts with ``x``.

        Returns:
          float array ``[..., V]`` (the broadcast batch shape), rows log-sum-exp
          to 0; ``-inf`` marks impossible tokens.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement next_token_log_probs")

    def _next_log_probs(self, x: np.ndarray, prefix: np.ndarray) -> np.ndarray:
        """Validated-input entry used by the generic methods; checks a subclass's output.

        Built-in subclasses override this with their unchecked fast path.
        """
        out = np.asarray(self.next_token_log_probs(x, prefix), dtype=float)
        expected = np.broadcast_shapes(np.shape(x), prefix.shape[:-1]) + (self.vocab_size,)
        if out.shape != expected:
            raise ValueError(f"next_token_log_probs must return shape {expected}; got {out.shape}")
        if np.any(np.isnan(out)) or np.any(out == np.inf):
            raise ValueError("next_token_log_probs returned NaN or +inf")
        return out

    # ----------------------------------------------------------- validation
    def _check_prompts(self, x) -> np.ndarray:
        x = check_index_array(x, "x", self.n_contexts)
        if x.ndim != 1:
            raise ValueError(f"x must be a 1-d array of prompts; got shape {x.shape}")
        return x

    def _check_prefix(self, x, prefix) -> tuple[np.ndarray, np.ndarray]:
        x = check_index_array(x, "x", self.n_contexts)
        prefix = check_index_array(prefix, "prefix", self.vocab_size)
        if prefix.ndim < 1 or prefix.shape[-1] >= self.horizon:
            raise ValueError(
                f"prefix must have shape [..., h] with 0 <= h < horizon={self.horizon}; got {prefix.shape}"
            )
        _broadcast_batch(x.shape, prefix.shape[:-1], "prefix")
        return x, prefix

    def _check_sequences(self, seqs, name: str = "seqs") -> np.ndarray:
        seqs = check_index_array(seqs, name, self.vocab_size)
        if seqs.ndim < 1 or seqs.shape[-1] != self.horizon:
            raise ValueError(
                f"{name} must have shape [..., horizon={self.horizon}]; got {seqs.shape}"
            )
        return seqs

    # ------------------------------------------------------------ evaluate
    def log_prob(self, x, seqs) -> np.ndarray:
        """``log π(y|x)`` of whole sequences.

        Args:
          x: int array ``[...]`` of prompts.
          seqs: int array ``[..., H]``; batch shape broadcasts with ``x``.

        Returns:
          float array of the broadcast batch shape (``-inf`` for impossible sequences).
        """
        x = check_index_array(x, "x", self.n_contexts)
        seqs = self._check_sequences(seqs)
        shape = _broadcast_batch(x.shape, seqs.shape[:-1], "seqs")
        return self._sequence_log_probs(
            np.broadcast_to(x, shape), np.broadcast_to(seqs, shape + (self.horizon,))
        )

    def _sequence_log_probs(self, x, seqs, temperature: float | None = None) -> np.ndarray:
        """Sum over positions of (tempered) next-token log-probs; inputs validated and broadcast."""
        total = np.zeros(seqs.shape[:-1])
        for h in range(self.horizon):
            step = temper(self._next_log_probs(x, seqs[..., :h]), temperature)
            total = total + np.take_along_axis(step, seqs[..., h : h + 1], axis=-1)[..., 0]
        return total

    # -------------------------------------------------------------- sample
    def sample(self, x, n: int, rng=None) -> np.ndarray:
        """Draw ``n`` i.i.d. sequences for each prompt in ``x`` (ancestral sampling).

        Args:
          x: int array ``[k]`` of prompts.
          n: sequences per prompt (``>= 0``).
          rng: ``None``, an int seed or a ``numpy.random.Generator``.

        Returns:
          int64 array ``[k, n, H]``.
        """
        x = self._check_prompts(x)
        n = check_int(n, "n", minimum=0)
        rng = check_rng(rng)
        return self._fresh_rollouts(np.repeat(x, n), rng).reshape(x.shape[0], n, self.horizon)

    def _fresh_rollouts(self, x: np.ndarray, rng, temperature: float | None = None) -> np.ndarray:
        seqs = np.zeros((x.shape[0], self.horizon), dtype=np.int64)
        return self._resample_suffix(
            x, seqs, np.zeros(x.shape[0], dtype=np.int64), rng, temperature
        )

    def _resample_suffix(self, x, seqs, start, rng, temperature: float | None = None) -> np.ndarray:
        """Redraw ``seqs[i, start[i]:]`` from the (tempered) model given ``seqs[i, :start[i]]``.

        ``x [n]``, ``seqs [n, H]`` (modified in place and returned), ``start [n]``.
        """
        for h in range(self.horizon):
            rows = np.flatnonzero(start <= h)
            if rows.size:
                step = temper(self._next_log_probs(x[rows], seqs[rows, :h]), temperature)
                seqs[rows, h] = sample_tokens(step, rng)
        return seqs

    # ----------------------------------------------------------- enumerate
    def to_tabular(self, max_responses: int = MAX_ENUMERATION) -> TabularPolicy:
        """The full table ``π(y|x)`` over ``V**H`` responses, in mixed-radix order.

        Args:
          max_responses: refuse (``ValueError``) when ``V**H`` exceeds this.

        Returns:
          :class:`~sharpsim.TabularPolicy` ``[n_contexts, V**H]``; response
          ``i`` is the sequence ``decode_responses(i, V, H)``.
        """
        x = np.arange(self.n_contexts)
        return TabularPolicy.from_log_probs(self._enumerate(x, max_responses))

    def _enumerate(
        self, x: np.ndarray, max_responses: int, temperature: float | None = None
    ) -> np.ndarray:
        """``[k, V**H]`` (tempered) sequence log-probs for prompts ``x [k]``, by prefix tree."""
        max_responses = check_int(max_responses, "max_responses", minimum=1)
        if self.n_responses > max_responses:
            raise ValueError(
                f"cannot enumerate V**H = {self.vocab_size}**{self.horizon} = {self.n_responses} "
                f"responses: more than max_responses={max_responses}"
            )
        per_block = max(1, _BLOCK_ELEMENTS // (self.n_responses * self.vocab_size))
        blocks = [
            self._enumerate_block(x[i : i + per_block], temperature)
            for i in range(0, x.shape[0], per_block)
        ]
        return np.concatenate(blocks, axis=0) if blocks else np.zeros((0, self.n_responses))

    def _enumerate_block(self, x: np.ndarray, temperature: float | None) -> np.ndarray:
        # Level h holds the V**h prefixes in index order; appending token v to
        # prefix i gives index i*V + v, so a reshape keeps the mixed-radix order.
        scores = np.zeros((x.shape[0], 1))
        for h in range(self.horizon):
            step = temper(
                self._next_log_probs(
                    x[:, None],
                    all_sequences(self.vocab_size, h, max_sequences=self.n_responses)[None],
                ),
                temperature,
            )
            scores = (scores[:, :, None] + step).reshape(x.shape[0], -1)
        return scores

    # ---------------------------------------------------------------- mode
    def mode(self, x) -> np.ndarray:
        """Exact sequence-level mode ``argmax_y π(y|x)`` (Eq. (5)), by enumeration.

        Tie rule: among sequences whose log-probability is within
        :data:`~sharpsim.policies.base.TIE_RTOL` of the maximum, the lowest encoded index (the
        lexicographically smallest sequence). ``ValueError`` when ``V**H``
        exceeds ``MAX_ENUMERATION``; subclasses with structure (e.g.
        :class:`MarkovPolicy`) override this with an exact polynomial algorithm.

        Args:
          x: int array ``[k]`` of prompts.

        Returns:
          int64 array ``[k, H]``.
        """
        x = self._check_prompts(x)
        scores = self._enumerate(x, MAX_ENUMERATION)
        return decode_responses(first_near_max(scores), self.vocab_size, self.horizon)

    @classmethod
    def from_joint(cls, joint, vocab_size: int, horizon: int) -> JointAutoregressivePolicy:
        """Autoregressive view of any joint law over ``V**H`` sequences (see :class:`JointAutoregressivePolicy`)."""
        return JointAutoregressivePolicy(joint, vocab_size, horizon)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n_contexts={self.n_contexts}, vocab_size={self.vocab_size}, "
            f"horizon={self.horizon})"
        )


def _broadcast_batch(x_shape, batch_shape, name: str) -> tuple:
    try:
        return np.broadcast_shapes(x_shape, batch_shape)
    except ValueError:
        raise ValueError(
            f"x of shape {x_shape} does not broadcast with the batch shape {batch_shape} of {name}"
        ) from None


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


def _read_only(arr: np.ndarray) -> np.ndarray:
    arr = np.ascontiguousarray(arr, dtype=float)
    arr.setflags(write=False)
    return arr


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
    conditionals = [None] * horizon
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


class MultiLayerLinearSoftmaxPolicy(AutoregressivePolicy):
    """Multi-layer linear softmax model, Eq. (11) (App. E).

    ``π_θ(y_h | x, y_{1:h-1}) ∝ exp⟨φ_h(x, y_{1:h}), θ_h⟩`` with one parameter
    vector ``θ_h ∈ R^d`` per position and ``‖θ_h‖₂ ≤ B`` when ``B`` is given.
    Sampling and evaluation cost ``poly(H, V, d)``; the exact mode is NP-hard in
    general (Prop. E.1), so :meth:`mode` enumerates.

    Args:
      features: callable ``features(h, x, seqs) -> [..., d]``. ``h`` is the
        0-based position; ``seqs [..., h+1]`` are prefixes with a candidate
        token appended; ``x [...]`` has the same batch shape as ``seqs``.
      theta: ``[H, d]``, row ``h`` is ``θ_{h+1}`` of the paper.
      vocab_size: ``V``.
      horizon: ``H``.
      n_contexts: ``|X|`` (default 1, the paper's single prompt ``⊥``).
      B: optional norm bound; ``ValueError`` if some ``‖θ_h‖₂ > B`` (up to a
        relative ``1e-12`` for rounding).

    Example:
      >>> import numpy as np, sharpsim as ss
      >>> def one_hot_last(h, x, seqs):          # φ_h = e_{y_h}
      ...     return (seqs[..., -1:] == np.arange(3)).astype(float)
      >>> theta = np.log([[1.0, 2.0, 1.0], [3.0, 1.0, 1.0]])
      >>> pi = ss.MultiLayerLinearSoftmaxPolicy(one_hot_last, theta, vocab_size=3, horizon=2)
      >>> float(np.exp(pi.log_prob(0, [1, 0])).round(4))
      0.3
    """

    def __init__(
        self, features, theta, vocab_size: int, horizon: int, n_contexts: int = 1, *, B=None
    ):
        if not callable(features):
            raise TypeError(
                f"features must be callable features(h, x, seqs) -> [..., d]; got {type(features).__name__}"
            )
        super().__init__(n_contexts, vocab_size, horizon)
        self.B = None if B is None else check_real(B, "B", low=0.0)
        self.theta = _read_only(_check_theta(theta, self.horizon, self.B))
        self.dim = self.theta.shape[1]
        self.features = features

    def next_token_log_probs(self, x, prefix) -> np.ndarray:
        """``log softmax_v ⟨φ_h(x, prefix·v), θ_h⟩`` over the candidate tokens ``v``."""
        return self._next_log_probs(*self._check_prefix(x, prefix))

    def _next_log_probs(self, x, prefix):
        h, vocab = prefix.shape[-1], self.vocab_size
        batch = np.broadcast_shapes(np.shape(x), prefix.shape[:-1])
        grown = np.empty(batch + (vocab, h + 1), dtype=np.int64)
        grown[..., :h] = prefix[..., None, :]
        grown[..., h] = np.arange(vocab)
        xs = np.broadcast_to(np.asarray(x)[..., None], batch + (vocab,))
        phi = np.asarray(self.features(h, xs, grown), dtype=float)
        if phi.shape != batch + (vocab, self.dim):
            raise ValueError(
                f"features(h, x, seqs) must return shape {batch + (vocab, self.dim)}; got {phi.shape}"
            )
        if not np.all(np.isfinite(phi)):
            raise ValueError(f"features(h={h}, x, seqs) returned non-finite values")
        # Log space for any finite θ and φ, as LinearSoftmaxPolicy: logits past the float range
        # are normalised in a power-of-two-scaled copy.
        return log_softmax(logit_gaps(phi, self.theta[h]))


def _check_theta(theta, horizon: int, bound) -> np.ndarray:
    arr = as_real_array(theta, "theta")
    if arr.ndim != 2 or arr.shape[0] != horizon or arr.shape[1] == 0:
        raise ValueError(
            f"theta must have shape [horizon={horizon}, d] with d >= 1; got {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError("theta must be finite")
    if bound is not None:
        norms = np.linalg.norm(arr, axis=1)
        over = norms > bound * (1.0 + 1e-12)
        if np.any(over):
            h = int(np.argmax(over))
            raise ValueError(
                f"theta rows must have norm <= B={bound}; row {h} has norm {norms[h]:.6g}"
            )
    return arr
