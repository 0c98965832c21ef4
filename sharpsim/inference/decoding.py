"""Token-level decoding of autoregressive policies: greedy, beam search, temperature.

These are *token-level heuristics*: none of them returns the sequence-level
mode ``argmax_y π(y|x)`` (Eq. (5)) in general. Proposition 3.1: greedy decoding
does return it when the mode is unique and carries mass ``> 1/2``, and the
bound is tight (``tests/test_decoding.py`` has a world with mode mass 0.4
where greedy fails). Beam search is exact only when its width covers every
prefix (``width >= V**(H-1)``); token-level temperature ``T`` samples from
``∏_h π_h^(1/T) / Z_h``, which is not the sequence-level power law
``π^(1/T) / Z`` (see :mod:`sharpsim.inference.power`).

Tie rule everywhere: the lowest token / lexicographically smallest sequence
among candidates whose log-probabilities are tied within
:data:`sharpsim.policies.base.TIE_RTOL`.

References:
  Huang et al., ICLR 2025, Sec. 3.1 (Proposition 3.1, Eq. (5)) and App. E.2.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_int, check_real, check_rng
from ..policies.autoregressive import AutoregressivePolicy, first_near_max
from ..policies.base import MAX_ENUMERATION, canonical_ties
from ..policies.tabular import TabularPolicy


def _check_autoregressive(policy, name: str = "policy") -> AutoregressivePolicy:
    if not isinstance(policy, AutoregressivePolicy):
        raise TypeError(f"{name} must be an AutoregressivePolicy; got {type(policy).__name__}")
    return policy


def _check_temperature(temperature) -> float | None:
    temperature = check_real(temperature, "temperature", low=0.0, low_open=True)
    return None if temperature == 1.0 else temperature


def greedy_decode(policy, x) -> np.ndarray:
    """Token-wise greedy decoding ``ŷ_h = argmax_v π_h(v | ŷ_{<h}, x)`` (Proposition 3.1).

    A token-level heuristic, not the sequence-level mode: it is guaranteed to
    return ``y*(x)`` only when the mode is unique with ``π(y*(x)|x) > 1/2``.
    Ties go to the lowest token index.

    Args:
      policy: an :class:`~sharpsim.AutoregressivePolicy`.
      x: int array ``[k]`` of prompts.

    Returns:
      int64 array ``[k, H]``.

    Example:
      >>> import sharpsim as ss
      >>> ar = ss.JointAutoregressivePolicy([[0.0, 0.4, 0.35, 0.25]], 2, 2)
      >>> ss.greedy_decode(ar, [0]).tolist(), ar.mode([0]).tolist()
      ([[1, 0]], [[0, 1]])
    """
    policy = _check_autoregressive(policy)
    x = policy._check_prompts(x)
    seqs = np.zeros((x.shape[0], policy.horizon), dtype=np.int64)
    if x.shape[0] == 0:
        return seqs
    for h in range(policy.horizon):
        seqs[:, h] = first_near_max(policy._next_log_probs(x, seqs[:, :h]))
    return seqs


def beam_search(policy, x, width: int) -> np.ndarray:
    """Beam search: keep the ``width`` best prefixes by log-probability, return the best complete beam.

    A token-level heuristic (Sec. 3.1): with ``width = 1`` it is greedy
    decoding, and it is exact (returns :meth:`~sharpsim.AutoregressivePolicy.mode`)
    once ``width >= V**(H-1)``, because then no prefix is ever pruned. Ties at
    the cut (log-probabilities equal up to :data:`~sharpsim.policies.base.TIE_RTOL`,
    e.g. equal products of different conditionals) keep the lexicographically
    smaller prefix; the final pick follows the mode's tie rule.

    Args:
      policy: an :class:`~sharpsim.AutoregressivePolicy`.
      x: int array ``[k]`` of prompts.
      width: beam width ``>= 1``.

    Returns:
      int64 array ``[k, H]``.

    Raises:
      ValueError: the candidates ``k·min(width, V**(H-1))·V·(H+1)`` exceed
        :data:`MAX_BEAM_ENTRIES` (checked before anything is allocated).

    Example:
      >>> import sharpsim as ss
      >>> ar = ss.JointAutoregressivePolicy([[0.0, 0.4, 0.35, 0.25]], 2, 2)
      >>> ss.beam_search(ar, [0], 1).tolist(), ss.beam_search(ar, [0], 2).tolist()
      ([[1, 0]], [[0, 1]])
    """
    policy = _check_autoregressive(policy)
    x = policy._check_prompts(x)
    width = check_int(width, "width", minimum=1)
    k, vocab = x.shape[0], policy.vocab_size
    _check_beam_size(k, vocab, policy.horizon, width)
    beams = np.zeros((k, 1, 0), dtype=np.int64)
    scores = np.zeros((k, 1))
    if k == 0:
        return np.zeros((0, policy.horizon), dtype=np.int64)
    for h in range(policy.horizon):
        # Candidates are laid out (beam, token); beams are kept in lexicographic
        # order, so this flat order is lexicographic and a stable sort breaks ties by it.
        candidates = (scores[..., None] + policy._next_log_probs(x[:, None], beams)).reshape(k, -1)
        if h == policy.horizon - 1:
            # Final pick among all complete candidates (pruning first could drop a near-tie
            # that the mode's tie rule prefers).
            keep = first_near_max(candidates)[:, None]
        else:
            # Tied candidates (TIE_RTOL) share their group's leader value, so the stable sort
            # keeps the lexicographically smaller of them at the cut.
            keep = np.sort(
                np.argsort(-canonical_ties(candidates), axis=1, kind="stable")[:, :width], axis=1
            )
        parent, token = np.divmod(keep, vocab)
        beams = np.concatenate(
            [np.take_along_axis(beams, parent[..., None], axis=1), token[..., None]], axis=-1
        )
        scores = np.take_along_axis(candidates, keep, axis=1)
    return beams[:, 0]


#: Most numbers beam search holds at once: ``k·min(width, V**(H-1))·V`` candidates, each
#: a score and an ``H``-token prefix (``2**26`` numbers is 512 MiB).
MAX_BEAM_ENTRIES = 1 << 26


def _check_beam_size(k: int, vocab: int, horizon: int, width: int) -> None:
    """Raise ``ValueError`` (before allocating) when the candidate table would exceed :data:`MAX_BEAM_ENTRIES`."""
    beams = min(width, vocab ** max(horizon - 1, 0))  # beams never outnumber distinct prefixes
    entries = k * beams * vocab * (horizon + 1)
    if entries > MAX_BEAM_ENTRIES:
        raise ValueError(
            f"width = {width} needs {entries} numbers for {k} prompts ({beams} beams × {vocab} tokens × "
            f"(H + 1 = {horizon + 1})); at most MAX_BEAM_ENTRIES = {MAX_BEAM_ENTRIES}: use a smaller width "
            f"or fewer prompts per call (the exact mode is policy.mode(x))"
        )


def temperature_sample(policy, x, n: int, temperature: float, rng=None) -> np.ndarray:
    """Token-level temperature sampling: ``y_h ~ π_h(· | y_{<h}, x)^(1/T) / Z_h``.

    Not sequence-level power sampling: the law is
    :func:`token_temperature_law`, which differs from ``π^(1/T)/Z``
    (:func:`~sharpsim.power_law`) in general. As ``T → 0`` it tends to greedy decoding.

    Args:
      policy: an :class:`~sharpsim.AutoregressivePolicy`.
      x: int array ``[k]`` of prompts.
      n: samples per prompt (``>= 0``).
      temperature: ``T > 0``.
      rng: ``None``, an int seed or a ``numpy.random.Generator``.

    Returns:
      int64 array ``[k, n, H]``.

    Example:
      >>> import sharpsim as ss
      >>> ar = ss.JointAutoregressivePolicy([[0.0, 0.4, 0.35, 0.25]], 2, 2)
      >>> ss.temperature_sample(ar, [0], 5, temperature=0.5, rng=0).shape
      (1, 5, 2)
    """
    policy = _check_autoregressive(policy)
    x = policy._check_prompts(x)
    n = check_int(n, "n", minimum=0)
    tempered = _check_temperature(temperature)
    rng = check_rng(rng)
    seqs = policy._fresh_rollouts(np.repeat(x, n), rng, tempered)
    return seqs.reshape(x.shape[0], n, policy.horizon)


def token_temperature_law(
    policy, temperature: float, *, max_responses: int = MAX_ENUMERATION
) -> TabularPolicy:
    """Exact law of :func:`temperature_sample`, by enumeration of ``V**H`` sequences.

    ``q_T(y|x) = ∏_h π_h(y_h | y_{<h}, x)^(1/T) / Σ_v π_h(v | y_{<h}, x)^(1/T)``,
    computed in log space.

    Args:
      policy: an :class:`~sharpsim.AutoregressivePolicy`.
      temperature: ``T > 0``.
      max_responses: ``ValueError`` when ``V**H`` exceeds it.

    Returns:
      :class:`~sharpsim.TabularPolicy` ``[n_contexts, V**H]`` (mixed-radix order).

    Example:
      >>> import sharpsim as ss
      >>> ar = ss.JointAutoregressivePolicy([[0.0, 0.4, 0.35, 0.25]], 2, 2)
      >>> ss.token_temperature_law(ar, 0.5).probs.round(3).tolist()
      [[0.0, 0.308, 0.458, 0.234]]
    """
    policy = _check_autoregressive(policy)
    tempered = _check_temperature(temperature)
    log_probs = policy._enumerate(np.arange(policy.n_contexts), max_responses, tempered)
    return TabularPolicy.from_log_probs(log_probs)
