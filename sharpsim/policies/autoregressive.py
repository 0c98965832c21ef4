"""Autoregressive policies over token sequences ``Y = V^H`` (SPEC §1, Eq. (11)): the base class.

A response is a sequence ``y = (y_1, ..., y_H)`` of tokens in ``0..V-1`` and
``π(y|x) = ∏_h π_h(y_h | y_{1:h-1}, x)``. A subclass of
:class:`AutoregressivePolicy` supplies only the next-token conditionals;
evaluation, sampling, enumeration into a :class:`~sharpsim.TabularPolicy` and
the exact sequence-level mode are built on them, vectorised over the batch
with a Python loop over positions only. Sequences are indexed in mixed radix,
first token most significant (:func:`~sharpsim.policies.base.encode_sequences`),
so "lowest encoded index" and "lexicographically smallest" mean the same.

The concrete models live one per module: :mod:`.markov` (:class:`MarkovPolicy`),
:mod:`.joint` (:class:`JointAutoregressivePolicy`), :mod:`.multilayer`
(:class:`MultiLayerLinearSoftmaxPolicy`); all three are importable from here.

References:
  Huang et al., "Self-Improvement in Language Models: The Sharpening
  Mechanism", ICLR 2025: Sec. 3.1 (Eq. (5)), App. E (Eq. (11), Props. E.1, E.2).
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from .._validation import (
    check_index_array,
    check_int,
    check_prompt_indices,
    check_rng,
)
from .base import MAX_ENUMERATION, all_sequences, decode_responses, tie_threshold
from .tabular import TabularPolicy

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
        return check_prompt_indices(x, self.n_contexts)

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
        """:meth:`redraw` up to the end: ``seqs[i, start[i]:]`` from the (tempered) model."""
        return self.redraw(x, seqs, start, self.horizon, rng, temperature)

    # ------------------------------------- suffix protocol (power sampling's Metropolis–Hastings chain)
    def check_sequences(self, seqs, name: str = "seqs") -> np.ndarray:
        """Validated int64 token rows ``[..., H]`` (tokens in ``[0, V)``); ``ValueError`` naming ``name``."""
        return self._check_sequences(seqs, name)

    def redraw(
        self, x, seqs, start, stop: int, rng, temperature: float | None = None
    ) -> np.ndarray:
        """Redraw ``seqs[i, start[i]:stop]`` (in place) from ``π`` at token temperature ``temperature`` given ``seqs[i, :start[i]]``.

        Low level (the :class:`~sharpsim.policies.base.SuffixPolicy` protocol of
        :func:`~sharpsim.power_sample_mcmc`): validated prompts ``x [n]``, int64
        ``seqs [n, H]``, ``start [n]``, ``stop <= H``, a ``numpy.random.Generator``
        ``rng``. Position by position, one
        uniform of ``rng`` per row with ``start[i] <= h`` (rows in order) draws
        token ``h`` by inverse CDF; ``temperature=None`` is the model itself.

        Returns:
          ``seqs``.

        Example:
          >>> import sharpsim as ss
          >>> ar = ss.JointAutoregressivePolicy([[0.0, 0.0, 0.0, 1.0]], 2, 2)
          >>> rng = np.random.default_rng(0)
          >>> ar.redraw(np.array([0]), np.zeros((1, 2), np.int64), np.array([0]), 1, rng).tolist()
          [[1, 0]]
        """
        for h in range(stop):
            rows = np.flatnonzero(start <= h)
            if rows.size:
                step = temper(self._next_log_probs(x[rows], seqs[rows, :h]), temperature)
                seqs[rows, h] = sample_tokens(step, rng)
        return seqs

    def prefix_log_probs(
        self, x, seqs, stop: int, temperature: float | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(log π(y_{<stop}|x), log q(y_{<stop}|x))`` of each row of ``seqs [n, H]``, float ``[n]`` each.

        ``q`` is ``π`` at token temperature ``temperature`` (``None``: ``q = π``,
        and the same array is returned twice). Low level, as :meth:`redraw`.

        Example:
          >>> import sharpsim as ss
          >>> ar = ss.JointAutoregressivePolicy([[0.1, 0.2, 0.3, 0.4]], 2, 2)
          >>> p, q = ar.prefix_log_probs(np.array([0]), np.array([[1, 1]]), 1)
          >>> float(np.exp(p[0]).round(3)), q is p
          (0.7, True)
        """
        log_p = np.zeros(seqs.shape[0])
        log_q = log_p if temperature is None else np.zeros(seqs.shape[0])
        for h in range(stop):
            step = self._next_log_probs(x, seqs[:, :h])
            log_p = log_p + np.take_along_axis(step, seqs[:, h : h + 1], axis=-1)[:, 0]
            if temperature is not None:
                tempered = temper(step, temperature)
                log_q = log_q + np.take_along_axis(tempered, seqs[:, h : h + 1], axis=-1)[:, 0]
        return log_p, (log_p if temperature is None else log_q)

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


def _read_only(arr: np.ndarray) -> np.ndarray:
    arr = np.ascontiguousarray(arr, dtype=float)
    arr.setflags(write=False)
    return arr


# The concrete policies live one per module; importable from here as before (after the base class
# they subclass is defined).
from .joint import JointAutoregressivePolicy  # noqa: E402
from .markov import MarkovPolicy  # noqa: E402, F401
from .multilayer import MultiLayerLinearSoftmaxPolicy  # noqa: E402, F401
