"""Analytic-gradient objectives of the linear softmax class (Definition J.3), vectorised.

With ``log π_θ(y|x) = ⟨φ(x,y), θ⟩ − log Z_x(θ)`` every objective the class
solves has the form

    f(θ) = ℓ(Aθ − o) + ⟨c, θ⟩ + Σ_p κ_p log Z_p(θ),

where ``ℓ`` is the weighted squared or logistic loss of the pair margins
(``A = β(φ(x,y) − φ(x,y'))``: the normalisers cancel in ``Δ_π``), ``c`` a
linear term and ``κ_p`` a weight per prompt that appears in the data:

- DPO regression / XPO (Eq. (4), Algorithm 1): squared ``ℓ``,
  ``c = α Σ_i w_i φ(x_i, ỹ_i)``, ``κ_p = −α Σ_{i: x_i = p} w_i``;
- logistic DPO: logistic ``ℓ``, no ``log Z`` at all;
- MLE (negative log-likelihood): no ``ℓ``, ``c = −Σ_i w_i φ(x_i, y_i)``,
  ``κ_p = Σ_{i: x_i = p} w_i``.

One evaluation costs one ``exp`` over the prompts' responses and two batched
mat-vecs (logits, then the feature means ``∇ log Z_p = E_{π_θ(·|p)} φ``); the
Hessian adds one ``[d, Y]×[Y, d]`` product per prompt
(``∇² log Z_p = Cov_{π_θ(·|p)} φ``). Prompts absent from the data are never touched.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit


class _LinearObjective:
    """``f(θ) = ℓ(Aθ − o) + ⟨c, θ⟩ + Σ_p κ_p log Z_p(θ)`` and its gradient (see the module docstring)."""

    def __init__(
        self,
        features: np.ndarray,
        prompts: np.ndarray,
        kappa: np.ndarray,
        linear: np.ndarray,
        design: np.ndarray | None = None,
        offset: np.ndarray | None = None,
        weights: np.ndarray | None = None,
        loss: str = "squared",
    ):
        keep = kappa != 0
        self.prompts, self.kappa = prompts[keep], kappa[keep]
        self.table = np.ascontiguousarray(features[self.prompts].transpose(0, 2, 1))  # [p, d, Y]
        self.linear = linear
        self.design, self.offset, self.weights, self.loss = design, offset, weights, loss
        # The squared loss has a constant Hessian 2AᵀWA: computed once.
        self._pair_hessian = (
            2.0 * design.T @ (weights[:, None] * design)
            if design is not None and weights is not None and loss == "squared"
            else None
        )

    # ---- constructors -------------------------------------------------------

    @classmethod
    def for_pairs(cls, features: np.ndarray, pairs) -> _LinearObjective:
        """The pair objective of ``pairs`` (a validated ``_Pairs``): regression, XPO or logistic DPO."""
        x, w = pairs.x, pairs.weights
        ref = features[x, pairs.y_ref]
        design = pairs.beta * (features[x, pairs.y] - ref)
        prompts, inverse = np.unique(x, return_inverse=True)
        alpha = pairs.alpha if pairs.loss == "squared" else 0.0
        kappa = -alpha * np.bincount(inverse, weights=w, minlength=prompts.shape[0])
        return cls(features, prompts, kappa, alpha * (w @ ref), design, pairs.offset, w, pairs.loss)

    @classmethod
    def for_mle(
        cls, features: np.ndarray, x: np.ndarray, y: np.ndarray, w: np.ndarray
    ) -> _LinearObjective:
        """The negative weighted log-likelihood ``−Σ_i w_i log π_θ(y_i|x_i)``."""
        prompts, inverse = np.unique(x, return_inverse=True)
        kappa = np.bincount(inverse, weights=w, minlength=prompts.shape[0])
        return cls(features, prompts, kappa, -(w @ features[x, y]))

    # ---- evaluation ---------------------------------------------------------

    def _softmax(self, theta: np.ndarray):
        """Unnormalised weights ``[p, Y]``, their sums ``[p]`` and ``log Z_p`` ``[p]``."""
        logits = theta @ self.table  # [p, Y]
        top = logits.max(axis=1, keepdims=True)
        # Stability: with the row max subtracted every exp is ≤ 1 and the largest is 1 (no overflow, no 0 sum).
        weights = np.exp(logits - top)
        total = weights.sum(axis=1)
        return weights, total, top[:, 0] + np.log(total)

    def _margin_terms(self, theta: np.ndarray):
        """Loss value, per-pair first and second derivatives in the margin ``Aθ − o``."""
        assert self.design is not None and self.offset is not None and self.weights is not None
        margin = self.design @ theta - self.offset
        w = self.weights
        if self.loss == "logistic":
            p = expit(-margin)
            return float(w @ np.logaddexp(0.0, -margin)), -w * p, w * p * (1.0 - p)
        return float(w @ margin**2), 2.0 * w * margin, 2.0 * w

    def _has_pairs(self) -> bool:
        return self.design is not None and self.design.shape[0] > 0

    def value(self, theta: np.ndarray) -> float:
        """``f(θ)``."""
        value = float(self.linear @ theta)
        if self._has_pairs():
            value += self._margin_terms(theta)[0]
        if self.kappa.shape[0]:
            value += float(self.kappa @ self._softmax(theta)[2])
        return value

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """``(f(θ), ∇f(θ))`` with ``θ`` ``[d]``."""
        return self.value_grad_hess(theta, hessian=False)[:2]

    def value_grad_hess(self, theta: np.ndarray, hessian: bool = True):
        """``(f, ∇f [d], ∇²f [d, d])``; ``∇² log Z_p = Cov_{π_θ(·|p)}(φ)``. ``None`` for the Hessian if not asked."""
        value = float(self.linear @ theta)
        grad = np.array(self.linear, dtype=float)
        hess = np.zeros((grad.shape[0], grad.shape[0])) if hessian else None
        if self._has_pairs():
            loss, d1, d2 = self._margin_terms(theta)
            assert self.design is not None
            value += loss
            grad += d1 @ self.design
            if hessian:
                hess += (
                    self._pair_hessian
                    if self._pair_hessian is not None
                    else self.design.T @ (d2[:, None] * self.design)
                )
        if self.kappa.shape[0]:
            weights, total, log_z = self._softmax(theta)
            probs = weights / total[:, None]
            mean = np.matmul(self.table, probs[:, :, None])[:, :, 0]  # [p, d]
            value += float(self.kappa @ log_z)
            grad += self.kappa @ mean
            if hessian:
                if self.kappa.shape[0] == 1:  # one prompt (the common case): plain 2-d products
                    table = self.table[0]
                    second = (table * (self.kappa[0] * probs[0])) @ table.T
                else:
                    second = np.matmul(
                        self.table * (self.kappa[:, None, None] * probs[:, None, :]),
                        self.table.transpose(0, 2, 1),
                    ).sum(axis=0)
                hess += second - (self.kappa[:, None] * mean).T @ mean
        return value, grad, hess


def dominant_starts(objective: _LinearObjective, radius: float, count: int) -> list[np.ndarray]:
    """Starts for XPO from convex surrogates, one per (prompt, response) of the data's prompts.

    XPO's ``κ_p log Z_p(θ)`` (``κ_p < 0``) is what makes the problem
    non-convex. Since ``⟨φ(p,k), θ⟩ ≤ log Z_p(θ) ≤ max_k ⟨φ(p,k), θ⟩ + log|Y|``
    (``π_zero`` uniform), replacing ``log Z_p`` by ``⟨φ(p,k), θ⟩`` — and every
    other prompt's ``log Z_q`` by its tangent at ``θ = 0`` (a lower bound, as
    ``log Z_q`` is convex) — gives for each candidate ``(p, k)`` a convex
    quadratic upper bound on ``f``; its minimiser over the ball is a
    trust-region problem sharing one eigendecomposition with all the others,
    solved here by a vectorised secular equation (bisection). The ``count``
    candidates with the lowest surrogate minimum are returned (the analogue of
    the tabular class's dominant-response starts).
    """
    if (
        objective.design is None
        or objective.loss != "squared"
        or not objective.kappa.shape[0]
        or count <= 0
    ):
        return []
    w, A = objective.weights, objective.design
    assert w is not None and objective.offset is not None
    M = 2.0 * A.T @ (w[:, None] * A)
    table, kappa = objective.table, objective.kappa  # [p, d, Y], [p]
    d, n_y = table.shape[1], table.shape[2]
    mean0 = table.mean(axis=2)  # E_{π_0}φ: the uniform law
    base_linear = objective.linear - 2.0 * A.T @ (w * objective.offset) + kappa @ mean0
    lam, Q = np.linalg.eigh(M)
    lam = np.where(lam <= 1e-12 * max(lam.max(initial=0.0), np.finfo(float).tiny), 0.0, lam)
    best_values, best_points = np.empty(0), np.empty((d, 0))
    chunk = max(1, _CANDIDATE_ENTRIES // (d * n_y))  # prompts per block: bounded memory
    for lo_p in range(0, kappa.shape[0], chunk):
        block = slice(lo_p, lo_p + chunk)
        # Candidate (p, k): swap prompt p's tangent for the bound ⟨φ(p,k), θ⟩.
        C = base_linear[:, None] + (
            kappa[block, None, None] * (table[block] - mean0[block, :, None])
        ).transpose(1, 0, 2).reshape(d, -1)  # [d, block·Y]
        shift = np.repeat(
            -kappa[block] * np.log(n_y), n_y
        )  # constant −κ_p log Z_p(0) of candidate (p, ·)
        values, points = _surrogate_minima(lam, Q.T @ C, radius, shift)
        keep = np.argsort(np.concatenate([best_values, values]), kind="stable")[:count]
        best_values = np.concatenate([best_values, values])[keep]
        best_points = np.concatenate([best_points, points], axis=1)[:, keep]
    return [Q @ best_points[:, k] for k in range(best_points.shape[1])]


#: Largest ``d × candidates`` block :func:`dominant_starts` holds at once.
_CANDIDATE_ENTRIES = 1 << 22


def _surrogate_minima(lam: np.ndarray, Ct: np.ndarray, radius: float, shift: np.ndarray):
    """Minima and minimisers (eigenbasis) of ``½vᵀΛv + c̃ᵀv + shift`` over ``‖v‖ ≤ radius``, one per column."""
    hi = np.linalg.norm(Ct, axis=0) / radius + np.finfo(float).tiny
    lo = np.zeros_like(hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = np.all(lam[:, None] > 0, axis=0) & (
            np.linalg.norm(Ct / lam[:, None], axis=0) <= radius
        )
        for _ in range(100):  # bisection on ‖(Λ + λ)⁻¹c̃‖ = radius (decreasing in λ)
            mid = 0.5 * (lo + hi)
            big = np.linalg.norm(Ct / (lam[:, None] + mid), axis=0) > radius
            lo, hi = np.where(big, mid, lo), np.where(big, hi, mid)
        V = -Ct / (lam[:, None] + np.where(inside, 0.0, hi))
    V = np.where(np.isfinite(V), V, 0.0)
    values = 0.5 * np.einsum("ik,i,ik->k", V, lam, V) + np.einsum("ik,ik->k", Ct, V) + shift
    return values, V
