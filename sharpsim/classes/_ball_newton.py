"""Regularised Newton over the ball ``‖θ‖₂ ≤ B`` with exact trust-region subproblems.

For the low-dimensional problems of :class:`~sharpsim.LinearSoftmaxClass`
(``d`` parameters, smooth, possibly non-convex: XPO's optimism term is
concave). Each iteration minimises the quadratic model plus a proximal term,

    v = argmin_{‖v‖ ≤ B}  ⟨g, v − θ⟩ + ½ (v − θ)ᵀ H (v − θ) + ½ σ ‖v − θ‖²,

which is a trust-region subproblem centred at 0 with radius ``B``, solved
exactly on the eigendecomposition of ``H + σI`` (Moré & Sorensen 1983,
hard case included). The step is accepted when the objective decreases by a
fair share of the model's prediction; ``σ`` shrinks after good steps and grows
after rejected ones (Levenberg–Marquardt / adaptive-regularisation style). Near
a solution ``σ = 0`` and the iteration is Newton's: quadratic convergence, a
KKT point to machine precision in a few dozen evaluations where a quasi-Newton
SQP needs hundreds.

References:
  J. J. Moré and D. C. Sorensen, "Computing a trust region step", SIAM J. Sci.
  Stat. Comput. 4 (1983); Conn, Gould & Toint, *Trust-Region Methods* (2000).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import OptimizeResult

#: Eigenvalues within this fraction of the largest magnitude count as zero curvature.
_EIG_RTOL = 1e-12


_SQ_LOW, _SQ_HIGH = np.finfo(float).tiny / np.finfo(float).eps, np.finfo(float).max / 4


def _norm(v: np.ndarray) -> float:
    """``‖v‖₂``; the sum of squares directly when it neither underflows nor overflows, else rescaled."""
    sq = float(v @ v) if v.ndim == 1 else float(np.sum(v * v))
    if _SQ_LOW < sq < _SQ_HIGH:
        return float(np.sqrt(sq))
    top = np.max(np.abs(v), initial=0.0)
    return float(top * np.linalg.norm(v / top)) if 0.0 < top < np.inf else float(top)


def _secular_root(ct: np.ndarray, denom: np.ndarray, radius: float, hi: float) -> float:
    """Smallest ``λ ∈ (0, hi]`` with ``‖ct/(denom + λ)‖ = radius`` (``‖·‖ > radius`` near 0, ``≤`` at ``hi``).

    Moré–Sorensen Newton steps on ``1/‖v(λ)‖ − 1/radius`` (concave and
    increasing, so Newton from the left converges monotonically), safeguarded
    by bisection on the bracket.
    """
    lo, lam = 0.0, hi
    sq = ct * ct
    for _ in range(200):
        inv = 1.0 / (denom + lam)
        size = float(np.sqrt(sq @ (inv * inv)))
        if abs(size - radius) <= 1e-13 * radius:
            return lam
        if size > radius:
            lo = lam
        else:
            hi = lam
        # Newton on φ(λ) = 1/size − 1/radius, φ'(λ) = Σ c²/(d+λ)³ / size³.
        slope = float(sq @ (inv * inv * inv)) / size**3
        step = lam - (1.0 / size - 1.0 / radius) / slope if slope > 0 else np.nan
        lam = step if lo < step < hi else 0.5 * (lo + hi)
        if hi - lo <= 4 * np.finfo(float).eps * hi:
            return hi
    return hi


def ball_trust_region(M: np.ndarray, c: np.ndarray, radius: float) -> np.ndarray:
    """Global minimiser of ``½ vᵀMv + cᵀv`` over ``‖v‖₂ ≤ radius`` (``M`` symmetric ``[d, d]``).

    ``v(λ) = −(M + λI)⁻¹c`` with the smallest ``λ ≥ max(0, −λ_min(M))`` giving
    ``‖v(λ)‖ ≤ radius`` (equality when ``λ > 0``): the secular equation is
    solved by safeguarded Newton steps on the eigenbasis. In the hard case (``c`` has no
    component on the most negative eigenvector) that eigenvector is added to
    reach the sphere. Where ``M`` is singular and positive semi-definite, and
    ``c`` has no component on its null space, the minimum-norm minimiser is
    returned (non-identified directions stay at 0).

    Example:
      >>> import numpy as np
      >>> ball_trust_region(np.eye(2), np.array([-1.0, 2.0]), 5.0).tolist()   # interior: −M⁻¹c
      [1.0, -2.0]
      >>> ball_trust_region(-np.eye(2), np.array([-1.0, 0.0]), 2.0).round(12).tolist()  # concave: sphere
      [2.0, 0.0]
    """
    try:  # positive definite with the Newton point inside: no eigendecomposition needed
        chol = np.linalg.cholesky(M)
        v = -np.linalg.solve(chol.T, np.linalg.solve(chol, c))
        if _norm(v) <= radius and np.min(np.diag(chol)) ** 2 > 1e-8 * np.max(np.abs(np.diag(M))):
            return v
    except np.linalg.LinAlgError:
        pass
    lam, Q = np.linalg.eigh(M)
    ct = Q.T @ c
    scale = max(np.max(np.abs(lam), initial=0.0), np.finfo(float).tiny)
    lam = np.where(np.abs(lam) <= _EIG_RTOL * scale, 0.0, lam)
    # A component of c on a zero-curvature direction is rounding noise when it is this small.
    c_noise = 1e-12 * (_norm(c) + scale * radius)
    lo = max(0.0, -float(lam[0]))
    denom = lam + lo
    flat = denom <= 0.0
    ct = np.where(flat & (np.abs(ct) <= c_noise), 0.0, ct)
    if not np.any(flat & (ct != 0.0)):
        # At λ = lo every direction is either curved or carries no linear term.
        v_lo = np.divide(-ct, denom, out=np.zeros_like(ct), where=~flat)
        n_lo = _norm(v_lo)
        if n_lo <= radius:
            if lo > 0.0:  # hard case: move along negative curvature up to the sphere
                k = int(np.argmax(flat))
                v_lo[k] = np.sqrt(max(radius**2 - n_lo**2, 0.0))
            return Q @ v_lo
    hi = lo + _norm(ct) / radius  # ‖v(hi)‖ ≤ ‖c‖/(hi − lo) = radius
    shift = _secular_root(ct, denom, radius, hi - lo)
    if shift <= 0.0:
        shift = np.nextafter(0.0, 1.0)
    v = Q @ (-ct / (denom + shift))
    size = _norm(v)
    return v * (radius / size) if size > radius else v


def _kkt_residual(theta: np.ndarray, g: np.ndarray, radius: float) -> float:
    """``‖g + ν θ‖`` with the best multiplier ``ν ≥ 0`` on the sphere (``‖g‖`` inside)."""
    if _norm(theta) < radius * (1.0 - 1e-9):
        return _norm(g)
    nu = max(0.0, -float(g @ theta) / radius**2)
    return _norm(g + nu * theta)


def minimise_in_ball(
    value, value_grad_hess, theta0: np.ndarray, radius: float, maxiter: int
) -> OptimizeResult:
    """Regularised Newton for ``min f(θ)`` over ``‖θ‖ ≤ radius`` (see the module docstring).

    Args:
      value: ``θ → f(θ)``.
      value_grad_hess: ``θ → (f, ∇f [d], ∇²f [d, d])``.
      theta0: start ``[d]`` (moved onto the ball if outside).
      radius: ``B > 0``.
      maxiter: cap on evaluations of ``value_grad_hess``.

    Returns:
      ``OptimizeResult`` with ``x``, ``fun``, ``jac``, ``nit``, ``nfev``,
      ``kkt`` (the KKT residual at ``x``), ``success`` and ``message``.

    Example:
      >>> import numpy as np
      >>> f = lambda t: float(-t @ t)            # concave: any point of the sphere is a minimiser
      >>> fgh = lambda t: (f(t), -2 * t, -2 * np.eye(2))
      >>> res = minimise_in_ball(f, fgh, np.array([0.3, 0.4]), 2.0, 50)
      >>> round(float(np.linalg.norm(res.x)), 12), res.success
      (2.0, True)
    """
    theta = np.array(theta0, dtype=float)
    size = _norm(theta)
    if size > radius:
        theta *= radius / size
    f, g, H = value_grad_hess(theta)
    f_start, sigma, nfev, nit = f, 0.0, 1, 0
    eye = np.eye(theta.shape[0])
    message = "maximum number of evaluations reached"
    while nfev < maxiter:
        nit += 1
        M = H + sigma * eye
        v = ball_trust_region(M, g - M @ theta, radius)
        step = v - theta
        predicted = -float(g @ step + 0.5 * step @ (M @ step))
        level = max(abs(f), abs(f_start), np.finfo(float).tiny)  # the objective's rounding scale
        if _norm(step) <= 1e-15 * max(_norm(theta), 1.0):
            message = "step below rounding level"
            break
        if not predicted > 1e-13 * level:
            # Rounding regime (the exact subproblem never predicts an increase, so predicted ≤ 0 is
            # rounding too, e.g. of the radius on the sphere): f can no longer tell the points apart,
            # the KKT residual still can.
            f_new, g_new, H_new = value_grad_hess(v)
            nfev += 1
            if f_new <= f + 4 * np.finfo(float).eps * level and _kkt_residual(
                v, g_new, radius
            ) < _kkt_residual(theta, g, radius):
                theta, f, g, H = v, f_new, g_new, H_new
                continue
            message = "converged to rounding level"
            break
        f_new = value(v)
        nfev += 1
        ratio = (f - f_new) / predicted
        if f_new < f and ratio >= 1e-4:
            theta = v
            f, g, H = value_grad_hess(theta)
            nfev += 1
            if ratio >= 0.75:  # the model is trusted: towards pure Newton
                sigma = sigma / 8.0 if sigma > 1e-8 * _norm(H) else 0.0
            elif ratio < 0.25:
                sigma *= 2.0
        else:
            sigma = max(4.0 * sigma, 2.0 * _norm(g) / _norm(step))
    kkt = _kkt_residual(theta, g, radius)
    return OptimizeResult(
        x=theta,
        fun=f,
        jac=g,
        nit=nit,
        nfev=nfev,
        kkt=kkt,
        success=message != "maximum number of evaluations reached",
        message=message,
    )
