"""The lower-bound family of Theorem 3.1′ (proof in Appendix H): the construction and its coverage.

The construction (SPEC §9): prompts ``X = {x_0..x_d}``, responses
``Y = {y_0..y_M}``, ``μ = (1-Δ)·δ_{x_0} + (Δ/d)·Σ_i δ_{x_i}``. Prompt ``x_0``
always answers ``y_0``; prompt ``x_i`` answers with ``P_{j_i}``, which puts
``1/((1-γ)M)`` on its mode ``y_{j_i}`` and ``(1/M)(1 - γ/((M-1)(1-γ)))`` on
each other ``y_j``, ``j ∈ [M]``. The hidden index ``I = (j_1..j_d) ∈ [M]^d``
picks the model ``π^I``; the class is ``Π = {π^I}``, ``log|Π| = d log M``.

Why it is hard: the likelihood of a sampled response only says whether *that*
response is the mode. Until the mode itself is drawn, the posterior over
``j_i`` is uniform on the responses not yet seen, so about ``M`` draws per hard
prompt, i.e. ``m ≍ dM/Δ`` in total, are needed (Lemma H.3). That posterior,
the Bayes-optimal learner, its exact expected error as a function of
``(n, N)`` and its simulation live in :mod:`.lower_bound_bayes`.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..._validation import check_index_array, check_int, check_real, check_rng
from ...classes import FiniteClass
from ...policies.tabular import TabularPolicy
from ._instance import Instance

#: The lower-bound family world of the ``sft_error`` experiment and its figure: d = 2 hard
#: prompts, M = 8 responses (a realizable finite class of 64 best-of-N laws), mass Δ = 0.4 on
#: the hard prompts, sharpness level δ = 0.1.
SFT_WORLD = {"d": 2, "M": 8, "Delta": 0.4, "delta": 0.1}

#: Largest ``M**d`` for which the class ``Π = {π^I}`` is built as an explicit list.
MAX_CLASS_SIZE = 4096


def _check_delta(Delta) -> float:
    return check_real(Delta, "Delta", low=0.0, high=1.0, low_open=True, high_open=True)


def _check_shape(d, M, gamma) -> tuple[int, int, float]:
    """Validate ``(d, M, γ)``: ``d >= 1``, ``M >= 3``, ``γ ∈ (0, 1)`` leaving the non-modes positive mass."""
    d = check_int(d, "d", minimum=1)
    M = check_int(M, "M", minimum=3)
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0, low_open=True, high_open=True)
    if (M - 1) * (1.0 - gamma) <= gamma:
        raise ValueError(
            f"gamma={gamma} is too large for M={M}: the non-mode responses need positive mass, "
            f"i.e. (M-1)(1-gamma) > gamma"
        )
    return d, M, gamma


def _log_masses(M: int, gamma: float) -> tuple[float, float]:
    """``(log P_i(y_i), log P_i(y_j))`` for ``j ≠ i``: the mode and every other response."""
    log_mode = -math.log1p(-gamma) - math.log(M)
    log_other = -math.log(M) + math.log1p(-gamma / ((M - 1) * (1.0 - gamma)))
    return log_mode, log_other


def _family_log_probs(M: int, gamma: float, index: np.ndarray) -> np.ndarray:
    """``log π^I(y|x)``, shape ``[d+1, M+1]``, for a validated index ``I`` (entries in ``1..M``)."""
    d = index.shape[0]
    log_mode, log_other = _log_masses(M, gamma)
    table = np.full((d + 1, M + 1), log_other)
    table[:, 0] = -np.inf
    table[0, :] = -np.inf
    table[0, 0] = 0.0
    table[np.arange(1, d + 1), index] = log_mode
    return table


def _check_index(index, d: int, M: int) -> np.ndarray:
    index = check_index_array(index, "index", M + 1)
    if index.shape != (d,):
        raise ValueError(
            f"index must have shape ({d},) (one mode per hard prompt); got {index.shape}"
        )
    if np.any(index < 1):
        raise ValueError(
            f"index entries must be in [1, {M}] (y_0 is never a hard prompt's mode); got 0"
        )
    return index


def lower_bound_coverage(M: int, Delta: float, p: float = 1, gamma: float = 0.5) -> float:
    """``C_cov,γ,p(π) = ((1-Δ) + (M(1-γ))^p Δ)^(1/p)`` for every ``π ∈ Π`` (proof of Theorem 3.1′).

    Example:
      >>> lower_bound_coverage(10, 0.1)
      1.4
    """
    M = check_int(M, "M", minimum=3)
    p = check_real(p, "p", low=1.0)
    Delta = _check_delta(Delta)
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0, low_open=True, high_open=True)
    try:
        return float(((1.0 - Delta) + (M * (1.0 - gamma)) ** p * Delta) ** (1.0 / p))
    except OverflowError:  # (M(1-γ))^p alone overflows for large p; its p-th root is moderate
        log_sum = np.logaddexp(
            math.log1p(-Delta), p * math.log(M * (1.0 - gamma)) + math.log(Delta)
        )
        return float(np.exp(log_sum / p))


def lower_bound_family_parameters(
    epsilon: float, C: float, p: float = 1, *, M_scale: float = 1.0
) -> dict:
    """``(M, Δ)`` as the proof of Theorem 3.1′ chooses them from ``(ε, C, p)``.

    ``Δ = 16ε`` (so ``ε < 1/16``) and ``M ≍ 1 + C ε^(-1/p)``; the hidden constant
    is ``M_scale`` (default 1), and ``M ≥ 8`` as Lemma H.3 requires.

    Returns:
      ``{"M": int, "Delta": float}``.

    Example:
      >>> lower_bound_family_parameters(0.01, 1.0)
      {'M': 101, 'Delta': 0.16}
    """
    epsilon = check_real(epsilon, "epsilon", low=0.0, high=1.0 / 16, low_open=True, high_open=True)
    C = check_real(C, "C", low=1.0)
    p = check_real(p, "p", low=1.0)
    M_scale = check_real(M_scale, "M_scale", low=0.0, low_open=True)
    M = max(8, math.ceil(M_scale * (1.0 + C * epsilon ** (-1.0 / p)) - 1e-12))
    return {"M": int(M), "Delta": 16.0 * epsilon}


def lower_bound_family(
    d, M, Delta, p=1, gamma=0.5, index=None, rng=None, *, build_class=None
) -> Instance:
    """The hard family of the proof of Theorem 3.1′ (Appendix H; Theorem 3.1 is ``p = 1``).

    Args:
      d: number of hard prompts ``x_1..x_d`` (``>= 1``).
      M: number of candidate modes ``y_1..y_M`` (``>= 3``; Lemma H.3 uses ``M >= 8``).
      Delta: mass ``Δ ∈ (0, 1)`` that ``μ`` puts on the hard prompts together.
      p: order of the coverage coefficient ``C_cov,γ,p`` (``>= 1``).
      gamma: ``γ ∈ (0, 1)`` (the paper's ``1/2``); ``y*_γ(x)`` is a singleton.
      index: the hidden ``I = (j_1..j_d)`` with entries in ``1..M``; drawn
        uniformly from ``rng`` when ``None``.
      rng: ``None``, an int seed or a ``numpy.random.Generator``.
      build_class: build ``Π = {π^I : I ∈ [M]^d}`` as a ``FiniteClass``?
        ``None`` (default) builds it when ``M**d <= MAX_CLASS_SIZE`` and
        leaves ``model_class=None`` otherwise; ``True`` raises ``ValueError``
        past that size; ``False`` never builds it.

    Returns:
      :class:`Instance` with ``base = π^I`` (tabular, ``[d+1, M+1]``), ``mu``
      ``[d+1]``, and claims ``coverage`` (``C_cov,γ,p``), ``log_class_size``
      (``d log M``), ``class_size``, ``mode_mass`` (``1/((1-γ)M)``),
      ``other_mass``, ``modes`` (``[d+1]`` response index of each prompt's
      unique ``y*_γ``) and ``sample_scale`` (``dM/Δ``, where Lemma H.3 puts
      the transition).

    Example:
      >>> inst = lower_bound_family(2, 4, 0.2, index=[3, 1])
      >>> inst.base.probs.round(3).tolist()
      [[1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.167, 0.167, 0.5, 0.167], [0.0, 0.5, 0.167, 0.167, 0.167]]
      >>> round(inst.claims["coverage"], 12), inst.model_class is not None
      (1.2, True)
    """
    d, M, gamma = _check_shape(d, M, gamma)
    Delta = _check_delta(Delta)
    p = check_real(p, "p", low=1.0)
    if index is None:
        index = check_rng(rng).integers(1, M + 1, size=d)
    index = _check_index(index, d, M)
    base = TabularPolicy.from_log_probs(_family_log_probs(M, gamma, index))
    mu = np.r_[1.0 - Delta, np.full(d, Delta / d)]
    log_mode, log_other = _log_masses(M, gamma)
    claims = {
        "coverage": lower_bound_coverage(M, Delta, p, gamma),
        "log_class_size": d * math.log(M),
        "class_size": M**d,
        "mode_mass": math.exp(log_mode),
        "other_mass": math.exp(log_other),
        "modes": np.r_[0, index],
        "sample_scale": d * M / Delta,
    }
    details = {"index": index, "d": d, "M": M, "Delta": Delta, "p": p, "gamma": gamma}
    model_class = _build_class(d, M, gamma, build_class)
    return Instance(
        "lower_bound_family",
        base,
        mu,
        model_class,
        claims,
        "Theorem 3.1′ (proof, Appendix H)",
        details,
    )


def _build_class(d: int, M: int, gamma: float, build_class):
    size = M**d
    if build_class is False or (build_class is None and size > MAX_CLASS_SIZE):
        return None
    if size > MAX_CLASS_SIZE:
        raise ValueError(
            f"the class has M**d = {size} models, more than MAX_CLASS_SIZE = {MAX_CLASS_SIZE}; "
            "pass build_class=None or False"
        )
    members = [
        TabularPolicy.from_log_probs(_family_log_probs(M, gamma, np.array(I)))
        for I in itertools.product(range(1, M + 1), repeat=d)
    ]
    return FiniteClass(members)
