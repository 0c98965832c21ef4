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

#: The one tie rule of sharpsim (CONTRIBUTING.md, "Ties"). A computed value ``b``
#: (log-probability, reward, probability mass) is *tied* with a larger one ``a`` when
#: ``b >= a - TIE_RTOL * max(1, |a|)`` (:func:`tie_threshold`): mathematically equal
#: quantities computed along different paths (products of conditionals, sums of
#: answer masses) differ by a few ulps and must tie. The values of one prompt form
#: tie groups from the top (:func:`tie_group_starts`), and a computed quantity
#: reaches a threshold ``t`` when it is ``>= tie_threshold(t)``.
TIE_RTOL = 1e-10

#: Largest number of responses ``V**H`` that ``to_tabular`` / enumeration accepts.
MAX_ENUMERATION = 2_000_000


def tie_threshold(best) -> np.ndarray:
    """Smallest value that counts as tied with ``best`` (see :data:`TIE_RTOL`).

    ``-inf`` is tied only with ``-inf``.

    Example:
      >>> float(tie_threshold(-2.0)) == -2.0 - 2e-10
      True
    """
    best = np.asarray(best, dtype=float)
    return best - TIE_RTOL * np.maximum(1.0, np.abs(best))


def reach_threshold(level) -> np.ndarray:
    """Smallest log-value of a computed probability that counts as reaching ``level`` (the threshold rule).

    A computed probability ``q`` reaches ``level`` (``q ≥ level``) when
    ``log q >= tie_threshold(log level)``: equal up to rounding counts as equal.

    Example:
      >>> q = 1 - (0.375 + 0.125) * 1.0000000000000002   # ½ up to one ulp, below it
      >>> bool(q < 0.5), bool(np.log(q) >= reach_threshold(0.5))
      (True, True)
    """
    with np.errstate(divide="ignore"):
        return tie_threshold(np.log(np.asarray(level, dtype=float)))


def tied(a, b) -> np.ndarray:
    """Whether computed values ``a`` and ``b`` are tied: the smaller is ``>= tie_threshold(larger)``.

    Example:
      >>> bool(tied(np.log(0.4) + np.log(0.9), np.log(0.45) + np.log(0.8))), bool(tied(0.0, 1e-9))
      (True, False)
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.minimum(a, b) >= tie_threshold(np.maximum(a, b))


def tie_group_starts(sorted_values: np.ndarray) -> np.ndarray:
    """Where each tie group begins in rows sorted ascending, bool ``[R, Y]`` (True at a group's first entry).

    Groups are formed from the top: the largest value leads the top group, which
    holds every value ``>= tie_threshold(leader)``; the largest remaining value
    leads the next group, and so on. So the top group is exactly the set
    ``mode_mask`` and the decoders call tied with the maximum, and a group never
    depends on values outside its row. ``-inf`` entries form one group.

    Args:
      sorted_values: float array ``[R, Y]``, each row sorted ascending, no NaN.

    Returns:
      bool array ``[R, Y]``; column 0 is always True.

    Example:
      >>> v = np.array([[-3.0, -1.0 - 1e-15, -1.0, 0.5]])
      >>> tie_group_starts(v).astype(int).tolist()
      [[1, 1, 0, 1]]
    """
    v = np.asarray(sorted_values, dtype=float)
    starts = np.ones(v.shape, dtype=bool)
    if v.shape[-1] < 2:
        return starts
    # Cheap screen: neighbours further apart than the largest tolerance in the row never tie
    # (-inf pairs give NaN gaps and stay candidates).
    scale = np.maximum(
        np.abs(v[:, -1]), np.abs(v[np.arange(v.shape[0]), np.argmax(v > -np.inf, axis=1)])
    )
    with np.errstate(invalid="ignore"):
        gap = np.diff(v, axis=1)
        cand_r, cand_c = np.nonzero(~(gap > TIE_RTOL * np.maximum(1.0, scale)[:, None]))
    if cand_r.size == 0:
        return starts
    # A value tied with its successor joins its group (single linkage) ...
    starts[cand_r, cand_c + 1] = v[cand_r, cand_c] < tie_threshold(v[cand_r, cand_c + 1])
    flat, values = starts.ravel(), v.ravel()
    cont = np.flatnonzero(~flat)
    if cont.size == 0:
        return starts
    # ... which is the from-the-top grouping wherever a run lies within the tolerance of its top.
    members = np.union1d(cont - 1, cont)  # runs never span rows: column 0 always starts one
    is_first = flat[members]
    is_last = np.ones(members.shape, dtype=bool)
    is_last[:-1] = is_first[1:]
    firsts, lasts = members[is_first], members[is_last]
    for lo, hi in zip(
        firsts[values[firsts] < tie_threshold(values[lasts])],
        lasts[values[firsts] < tie_threshold(values[lasts])],
    ):
        _split_from_top(
            values, flat, int(lo), int(hi)
        )  # rare: chains of near-ties wider than the tolerance
    return starts


def _run_last(starts: np.ndarray) -> np.ndarray:
    """Last column of the run each entry belongs to."""
    n = starts.shape[1]
    is_end = np.ones_like(starts)
    is_end[:, :-1] = starts[:, 1:]
    return np.minimum.accumulate(np.where(is_end, np.arange(n), n)[:, ::-1], axis=1)[:, ::-1]


def _split_from_top(row: np.ndarray, starts: np.ndarray, lo: int, hi: int) -> None:
    """Regroup ``row[lo..hi]`` (ascending) from the top: each leader takes every value tied with it."""
    while hi >= lo:
        j = lo + int(np.searchsorted(row[lo : hi + 1], tie_threshold(row[hi]), side="left"))
        starts[j] = True
        hi = j - 1


def canonical_ties(values) -> np.ndarray:
    """``values [R, Y]`` with every entry replaced by the leader (largest value) of its tie group.

    After this, tied values are bit-equal and ``==`` / ``>`` decide ties exactly
    (see :data:`TIE_RTOL`).

    Example:
      >>> a, b = np.log(0.4) + np.log(0.9), np.log(0.45) + np.log(0.8)   # both log 0.36
      >>> bool(a == b), bool(np.equal(*canonical_ties([[a, b]])[0]))
      (False, True)
    """
    v = np.asarray(values, dtype=float)
    order = np.argsort(v, axis=1)
    sv = np.take_along_axis(v, order, axis=1)
    leader = np.take_along_axis(sv, _run_last(tie_group_starts(sv)), axis=1)
    out = np.empty_like(v)
    np.put_along_axis(out, order, leader, axis=1)
    return out


@runtime_checkable
class Policy(Protocol):
    """What the oracle and the algorithms need from a policy ``π : X → Δ(Y)`` (Definition 3.2).

    Required: ``n_contexts`` (prompts are ``0..n_contexts-1``), ``log_prob``
    and ``sample``. Optional members, read with ``getattr``:

    * ``response_ndim``: ``0`` for integer responses ``[...]``, ``1`` for token
      sequences ``[..., H]`` (needed by :meth:`~sharpsim.SampleEvaluateOracle.evaluate`).
    * ``sample_with_log_prob(x, n, rng=None) -> (y, log_prob)``: the ``n``
      draws of ``sample(x, n, rng=rng)`` and their ``log π(y|x)`` ``[k, n]``
      in one pass (``rng`` is passed by keyword, as to ``sample``). It must
      consume ``rng`` exactly as ``sample`` does, so a run is the same
      whichever of the two the caller uses; the oracle uses it when present,
      and so does XPO's validation for its iterates.
    * ``enumerable``: ``False`` for an *opaque* policy (:func:`is_enumerable`).

    **Opaque policies.** A policy with ``enumerable = False`` (a real causal
    LM behind ``sharpsim.torch``) can only sample and score: it has no
    ``to_tabular``, ``probs`` or ``mode``, and nothing exact (``tilted``,
    ``mode_mask``, ``best_of_n_law``) is ever computed from it. Its responses
    are int64 arrays ``[..., H]`` (``response_ndim = 1``) of one width ``H``
    on every call; a response shorter than ``H`` is padded with ``-1`` after
    its end. The core treats them as opaque arrays: it copies, indexes and
    compares them, never decodes them. Faithful and adaptive best-of-N, SFT-
    and adaptive SFT-sharpening, DPO- and XPO-sharpening run on such a policy
    through the oracle (CONTRIBUTING.md, "Opaque policies").

    Example:
      An opaque view of a Markov policy: SFT-sharpening then draws its
      best-of-N picks faithfully (``bon_method=None`` resolves to ``"faithful"``).

      >>> import numpy as np, sharpsim as ss
      >>> class Opaque:
      ...     enumerable, response_ndim = False, 1
      ...     def __init__(self, inner):
      ...         self.inner, self.n_contexts = inner, inner.n_contexts
      ...     def log_prob(self, x, y):
      ...         return self.inner.log_prob(x, y)
      ...     def sample(self, x, n, rng=None):
      ...         return self.inner.sample(x, n, rng=rng)
      >>> ar = ss.MarkovPolicy([[0.7, 0.3]], [[[[0.9, 0.1], [0.5, 0.5]]]])
      >>> res = ss.sft_sharpening(Opaque(ar), 30, 4, ss.MarkovClass(1, 2, 2), rng=0)
      >>> res.queries, res.policy.mode([0]).tolist()
      (120, [[0, 0]])
    """

    n_contexts: int

    def log_prob(self, x, y) -> np.ndarray:  # pragma: no cover - protocol
        """``log π(y|x)`` for broadcasting arrays of prompts and responses."""

    def sample(self, x, n: int, rng=None) -> np.ndarray:  # pragma: no cover - protocol
        """``n`` i.i.d. responses per prompt in ``x``: ``[k, n]`` or ``[k, n, H]``."""


def is_enumerable(policy) -> bool:
    """Whether ``policy`` can be tabulated (its ``enumerable`` attribute; ``True`` when it has none).

    Exact computations (``to_tabular``, ``tilted``, ``best_of_n_law``,
    realizability checks, XPO's exact diagnostics) need an enumerable policy;
    an opaque one (``enumerable = False``, see :class:`Policy`) is reached only
    by sampling and scoring.

    Example:
      >>> import sharpsim as ss
      >>> class Opaque:
      ...     enumerable = False
      >>> is_enumerable(ss.TabularPolicy([[1.0]])), is_enumerable(Opaque())
      (True, False)
    """
    return bool(getattr(policy, "enumerable", True))


@runtime_checkable
class SuffixPolicy(Policy, Protocol):
    """What power sampling's Metropolis–Hastings chain (:func:`~sharpsim.power_sample_mcmc`) needs.

    A :class:`Policy` whose responses are integer token rows ``[..., horizon]``
    that can redraw a suffix given a prefix and score prefixes. Followed by
    every :class:`~sharpsim.AutoregressivePolicy` and by
    ``sharpsim.torch.PromptedLM`` (a causal LM: rows padded with ``-1`` after
    the end-of-sequence token; a redraw whose prefix has ended leaves the row
    as it is, so the chain's cut set stays state-independent). The chain is
    written once against these four members; they get validated inputs:
    prompts ``x [n]``, int64 rows ``seqs [n, H]``, cuts ``start [n]`` and
    ``stop <= horizon``, ``start < stop``.

    Attributes:
      horizon: the row length ``H``.
    """

    horizon: int

    def check_sequences(self, seqs, name: str = "seqs") -> np.ndarray:  # pragma: no cover
        """Validated int64 rows ``[..., H]`` (``ValueError`` naming ``name``)."""

    def redraw(
        self, x, seqs, start, stop: int, rng, temperature=None
    ) -> np.ndarray:  # pragma: no cover - protocol
        """Redraw ``seqs[i, start[i]:stop]`` in place from the model at token temperature
        ``temperature`` (``None``: 1) given the prompt and ``seqs[i, :start[i]]``; returns ``seqs``.

        Draws only from ``rng``, and the same number of uniforms whatever the state.
        """

    def prefix_log_probs(
        self, x, seqs, stop: int, temperature=None
    ) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - protocol
        """``(log π(y_{<stop}|x), log q(y_{<stop}|x))`` ``[n]`` each, ``q`` = the model at ``temperature``."""


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


def all_sequences(
    vocab_size: int, horizon: int, *, max_sequences: int = MAX_ENUMERATION
) -> np.ndarray:
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
