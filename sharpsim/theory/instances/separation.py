"""Example J.1: a linear softmax world where XPO needs ``poly(d)`` queries and SFT ``exp(Ω(d))``.

One prompt; the responses are a ``1/4``-packing ``Y`` of the unit sphere in
``R^d`` (pairwise distances ``≥ 1/4``), ``φ(x, y) = y`` and ``θ* = y*`` for one
chosen ``y* ∈ Y``. For unit vectors ``‖y - y*‖² = 2 - 2⟨y, y*⟩``, so every
``y ≠ y*`` has ``⟨y* - y, y*⟩ = ‖y - y*‖²/2 ≥ 1/32`` and

* the margin is a constant: ``π(y*)/π(y) = exp⟨y* - y, y*⟩ ≥ e^(1/32)``;
* the coverage is huge: ``π(y*)/π(y) ≤ e²``, so ``C_cov = 1/π(y*) ≥ |Y|/e²``.

SFT-sharpening therefore needs about ``|Y| = exp(Θ(d))`` responses per prompt,
while Theorem J.3 (XPO) needs ``poly(d)`` once the class radius
``B = C·d·log d`` is large enough for ``‖θ*‖ = 1 ≤ γ_margin B / (3 log(2|Y|/δ))``.

Greedy packing sizes (``separation=1/4``, ``patience=2000``, seed 0, no cap):
``|Y| = 19, 132, 746, 3966, 19415`` for ``d = 2..6`` (saturated), and more
than ``2·10^4`` for ``d >= 8``. The default cap ``max_size=4096`` therefore
binds from ``d = 6`` on, where ``|Y| = max_size`` exactly; raise it (cost
``O(|Y|·d)`` per candidate) to see the ``exp(Θ(d))`` growth further.
"""

from __future__ import annotations

import math

import numpy as np

from ..._validation import check_int, check_real, check_rng
from ...classes import LinearSoftmaxClass
from ...measures import coverage, margin
from ...policies.linear import LinearSoftmaxPolicy
from ._instance import Instance

#: Candidates drawn per round of the greedy packing.
_PACKING_BATCH = 512


def sphere_packing(d, separation=0.25, *, max_size=4096, patience=2000, rng=None) -> np.ndarray:
    """A random greedy ``separation``-packing of the unit sphere in ``R^d`` (Example J.1's ``Y``).

    Uniform random directions are proposed in batches; a candidate is kept if
    it lies at distance ``≥ separation`` from every point kept so far and from
    every earlier candidate of its batch. The construction stops at
    ``max_size`` points, or once ``patience`` consecutive candidates have all
    been rejected (the sphere is then nearly covered: a fresh uniform point
    lands in the uncovered part with probability about ``1/patience``).

    Args:
      d: dimension (``>= 2``).
      separation: minimal pairwise Euclidean distance, in ``(0, 2)``.
      max_size: cap on the number of points (``>= 1``).
      patience: consecutive rejections that end the construction (``>= 1``).
      rng: ``None``, an int seed or a ``numpy.random.Generator``.

    Returns:
      float array ``[K, d]`` of unit vectors, pairwise distances ``>= separation``.

    Example:
      >>> Y = sphere_packing(3, rng=0, max_size=50)
      >>> Y.shape, bool(np.allclose(np.linalg.norm(Y, axis=1), 1.0))
      ((50, 3), True)
    """
    d = check_int(d, "d", minimum=2)
    separation = check_real(
        separation, "separation", low=0.0, high=2.0, low_open=True, high_open=True
    )
    max_size = check_int(max_size, "max_size", minimum=1)
    patience = check_int(patience, "patience", minimum=1)
    rng = check_rng(rng)
    # ‖u - v‖ >= s  <=>  ⟨u, v⟩ <= 1 - s²/2 for unit vectors.
    max_cosine = 1.0 - separation**2 / 2.0
    points = np.empty((0, d))
    rejected_in_a_row = 0
    while points.shape[0] < max_size and rejected_in_a_row < patience:
        candidates = rng.standard_normal((_PACKING_BATCH, d))
        candidates /= np.linalg.norm(candidates, axis=1, keepdims=True)
        free = np.max(candidates @ points.T, axis=1, initial=-np.inf) <= max_cosine
        survivors = candidates[free]
        clash = np.tril(
            survivors @ survivors.T > max_cosine, k=-1
        )  # clash with an earlier survivor
        kept = survivors[~clash.any(axis=1)][: max_size - points.shape[0]]
        rejected_in_a_row = _count_trailing_rejections(free, clash, rejected_in_a_row)
        points = np.concatenate([points, kept])
    return points


def _count_trailing_rejections(free: np.ndarray, clash: np.ndarray, previous: int) -> int:
    """Rejections since the last accepted candidate, carried across batches."""
    accepted = np.zeros(free.shape[0], dtype=bool)
    accepted[np.flatnonzero(free)] = ~clash.any(axis=1)
    if not accepted.any():
        return previous + free.shape[0]
    return free.shape[0] - 1 - int(np.flatnonzero(accepted)[-1])


def separation_instance(
    d, rng=None, B=None, *, C=1.0, mode_index=0, separation=0.25, max_size=4096, patience=2000
) -> Instance:
    """Example J.1: constant margin, coverage ``Ω(|Y|) = exp(Ω(d))``, linear softmax base.

    Args:
      d: feature dimension (``>= 2``).
      rng: seeds the packing.
      B: class radius; ``None`` gives ``B = C·d·log d`` (the paper's choice,
        with its constant ``C`` exposed, default 1). Must be ``>= 1 = ‖θ*‖``.
      C: the constant in ``B = C·d·log d``.
      mode_index: which packing point is ``y*`` (``θ* = y*``).
      separation, max_size, patience: see :func:`sphere_packing`.

    Returns:
      :class:`Instance` with ``base`` a :class:`~sharpsim.LinearSoftmaxPolicy`
      ``[1, |Y|]``, ``model_class`` the :class:`~sharpsim.LinearSoftmaxClass`
      ``(features, B)``, and claims ``n_responses`` (``|Y|``), ``min_distance``
      (checked ``>= separation``), ``gamma_margin`` (exact, Assumption 4.2),
      ``margin_lower_bound`` (``expm1(separation²/2)``), ``coverage`` (exact
      ``1/π(y*)``), ``coverage_lower_bound`` (``|Y|/e²``), ``theta_norm``,
      ``B`` and ``thm_j3_min_delta`` (the smallest ``δ`` with
      ``‖θ*‖ ≤ γ_margin B / (3 log(2|Y|/δ))``, i.e. ``2|Y|·exp(-γ_margin B/3)``;
      Theorem J.3 applies for ``δ`` above it — above 1 means ``C`` is too small).

    Example:
      >>> inst = separation_instance(3, rng=0, max_size=40)
      >>> inst.claims["n_responses"], inst.claims["gamma_margin"] >= inst.claims["margin_lower_bound"]
      (40, True)
    """
    d = check_int(d, "d", minimum=2)
    C = check_real(C, "C", low=0.0, low_open=True)
    B = C * d * math.log(d) if B is None else check_real(B, "B", low=0.0, low_open=True)
    if B < 1.0:
        raise ValueError(f"B must be >= ‖θ*‖ = 1 so the base lies in the class; got B = {B:.6g}")
    points = sphere_packing(d, separation, max_size=max_size, patience=patience, rng=rng)
    mode_index = check_int(mode_index, "mode_index", minimum=0, maximum=points.shape[0] - 1)
    features = points[None, :, :]
    base = LinearSoftmaxPolicy(features, points[mode_index], B=B)
    return Instance(
        "separation_instance",
        base,
        np.ones(1),
        LinearSoftmaxClass(features, B),
        _separation_claims(base, points, mode_index, separation, B),
        "Example J.1",
        {"points": points, "mode_index": mode_index, "features": features, "C": C},
    )


def _separation_claims(base, points, mode_index, separation, B) -> dict:
    gram = points @ points.T
    np.fill_diagonal(gram, -np.inf)
    min_distance = (
        math.sqrt(max(0.0, 2.0 - 2.0 * float(gram.max()))) if points.shape[0] > 1 else math.inf
    )
    gamma_margin = margin(base)
    K = points.shape[0]
    return {
        "n_responses": K,
        "min_distance": min_distance,
        "gamma_margin": gamma_margin,
        "margin_lower_bound": math.expm1(separation**2 / 2.0),
        "coverage": coverage(base),
        "coverage_lower_bound": K * math.exp(-2.0),
        "theta_norm": float(np.linalg.norm(points[mode_index])),
        "B": B,
        "thm_j3_min_delta": 2.0 * K * math.exp(-gamma_margin * B / 3.0),
    }
