"""Linear softmax class ``Π_{φ,B} = {π_θ : ‖θ‖₂ ≤ B}`` (Definition J.3, Lemma J.4).

Exact ball-constrained least squares for the DPO regression; a regularised
Newton method over the ball (exact trust-region subproblems, analytic gradients
and Hessians) for the MLE, logistic DPO and XPO.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from .._validation import check_int, check_real, check_rng
from ..policies.linear import (
    LinearSoftmaxPolicy,
    check_features,
    check_norm_bound,
)
from ..policies.tabular import as_tabular
from ._ball_newton import minimise_in_ball
from ._linear_objective import _LinearObjective, dominant_starts
from ._pairs import _Pairs
from .base import ModelClass, _check_atol

__all__ = ["LinearSoftmaxClass"]


def _uniform_in_ball(rng: np.random.Generator, dim: int, radius: float) -> np.ndarray:
    direction = rng.standard_normal(dim)
    direction /= max(np.linalg.norm(direction), np.finfo(float).tiny)
    return radius * rng.random() ** (1.0 / dim) * direction


def _norm(v: np.ndarray) -> float:
    """``‖v‖₂`` without overflow of the squares (entries up to the float maximum)."""
    top = np.max(np.abs(v), initial=0.0)
    return float(top * np.linalg.norm(v / top)) if 0.0 < top < np.inf else float(top)


def _ball_constrained_least_squares(A: np.ndarray, b: np.ndarray, radius: float) -> np.ndarray:
    """``argmin ‖Aθ − b‖²`` over ``‖θ‖ ≤ radius``: the minimum-norm solution, exactly.

    If the minimum-norm least-squares solution is in the ball it is returned;
    otherwise the solution is ``θ(λ) = (AᵀA + λI)⁻¹Aᵀb`` with the unique
    ``λ > 0`` giving ``‖θ(λ)‖ = radius`` (the secular equation, solved with
    Brent's method on the SVD).
    """
    scale = np.max(np.abs(A), initial=0.0)
    if (
        scale > 0.0
    ):  # (A, b) and (A, b)/scale have the same minimiser; tiny A (tiny β) no longer underflows s²
        A, b = A / scale, b / scale
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    keep = s > s.max(initial=0.0) * max(A.shape) * np.finfo(float).eps
    s, c, Vt = s[keep], (U.T @ b)[keep], Vt[keep]

    def excess(lam):
        return _norm(s * c / (s**2 + lam)) - radius

    # ‖θ_ls‖ (the rows of Vt are orthonormal) inside the ball; `excess(0)` too: on the sphere the two
    # roundings of ‖θ_ls‖ can disagree by an ulp, and then θ_ls is the answer (no sign change for Brent).
    if _norm(c / s) <= radius or excess(0.0) <= 0.0:
        return Vt.T @ (c / s)

    lam_hi = 2.0 * _norm(s * c) / radius  # ‖θ(λ)‖ ≤ ‖Aᵀb‖/λ = radius/2 there
    lam = brentq(excess, 0.0, lam_hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500)
    return Vt.T @ (s * c / (s**2 + lam))


class LinearSoftmaxClass(ModelClass):
    """Linear softmax models ``Π_{φ,B} = {π_θ : ‖θ‖₂ ≤ B}`` (Definition J.3).

    - ``fit_mle``: the log-likelihood is concave in ``θ``; regularised Newton
      over the ball from ``θ = 0`` (a convex problem, so the KKT point found is
      the global maximiser).
    - ``fit_regression``: ``Δ_{π_θ}(x, y, y') = β⟨φ(x,y) − φ(x,y'), θ⟩`` (the
      normalisers cancel), so the DPO regression is linear least squares in
      ``θ``, solved exactly: the minimum-norm solution when it satisfies the
      bound (non-identified directions, orthogonal to every observed feature
      difference, are 0), else the boundary solution of the secular equation.
      With ``target = log π_base(y) − log π_base(y')`` and ``π_base = π_θ*``
      this is the projection of ``(1 + 1/β)θ*`` on the span of the observed
      feature differences (``π*_β`` itself when they span ``R^d``).
    - ``fit_logistic_dpo``: convex; regularised Newton from ``θ = 0``.
    - ``fit_xpo``: non-convex (``α log π_θ(y'|x)`` is concave in ``θ``):
      regularised Newton from ``θ = 0``, the regression solution, ``init``,
      ``n_restarts`` points uniform in the ball (drawn from
      :meth:`~ModelClass.restart_rng`) and the ``n_dominant`` best
      dominant-response surrogate minimisers (``log Z`` replaced by one
      response's logit, a convex upper bound solved exactly, see
      :func:`~sharpsim.classes._linear_objective.dominant_starts`); the best
      objective is kept. ``warm_start=True`` keeps only the regression
      solution and ``init``.

    Every iterative solve uses the vectorised analytic objective of
    :mod:`~sharpsim.classes._linear_objective` (one ``exp`` over the data's
    prompts and two mat-vecs per evaluation, plus one ``[d, Y]×[Y, d]``
    product for the Hessian) and the solver of
    :mod:`~sharpsim.classes._ball_newton` (Newton steps from exact
    trust-region subproblems: quadratic convergence to a KKT point).

    Args:
      features: ``φ`` ``[n_contexts, n_responses, d]``, ``‖φ(x,y)‖₂ ≤ 1``.
      B: the norm bound ``> 0``.
      n_restarts: random XPO restarts (default 1; 0.1.0 used 4 with SLSQP). On
        the Example J.1 and verify instances (520 XPO fits) a dominant-response
        start always reached the best objective and random restarts never
        improved on the deterministic starts (benchmarks/bench_xpo.py).
      random_state: seed of the XPO restarts; ``None`` (default) uses the ``rng``
        handed to the fit (the sharpening algorithms pass one derived from theirs).
      maxiter: cap on objective evaluations per start (default 1000).
      n_dominant: dominant-response surrogate starts for XPO (default 4).

    Attributes:
      features, B, dim, solver_info_ (``scipy.optimize.OptimizeResult`` of the
      best start of the last iterative solve: ``x``, ``fun``, ``kkt``, ``nfev``).

    Example:
      >>> import numpy as np, sharpsim as ss
      >>> phi = np.eye(3)[None] * 0.5               # one prompt, three responses, d = 3
      >>> cls = ss.LinearSoftmaxClass(phi, B=10.0)
      >>> pi = cls.fit_mle([0, 0, 0, 0], [0, 0, 1, 2])
      >>> pi.probs.round(4).tolist()
      [[0.5, 0.25, 0.25]]
    """

    def __init__(
        self,
        features,
        B: float,
        *,
        n_restarts: int = 1,
        random_state=None,
        maxiter: int = 1000,
        n_dominant: int = 4,
    ):
        self.features = check_features(features)
        self.B = check_norm_bound(B)
        self.n_contexts, self.n_responses, self.dim = self.features.shape
        self.n_restarts = check_int(n_restarts, "n_restarts", minimum=0)
        check_rng(random_state)
        self.random_state = random_state
        self.maxiter = check_int(maxiter, "maxiter", minimum=1)
        self.n_dominant = check_int(n_dominant, "n_dominant", minimum=0)
        self.solver_info_ = None

    def policy(self, theta) -> LinearSoftmaxPolicy:
        """The member ``π_θ`` (raises ``ValueError`` if ``‖θ‖ > B``); ``theta`` is ``[d]``.

        Example:
          >>> import numpy as np, sharpsim as ss
          >>> ss.LinearSoftmaxClass(np.eye(2)[None] * 0.5, B=4.0).policy([1.0, -1.0]).probs.round(4).tolist()
          [[0.7311, 0.2689]]
        """
        return LinearSoftmaxPolicy(self.features, theta, B=self.B)

    def log_covering_number(self, eps: float) -> float:
        """``log N(Π, ε) ≤ d·log(6B/ε)`` in the max log-ratio metric (Lemma J.4); 0 when ``ε ≥ 6B``.

        Example:
          >>> import numpy as np, sharpsim as ss
          >>> round(ss.LinearSoftmaxClass(np.eye(2)[None] * 0.5, B=4.0).log_covering_number(0.1), 4)  # 2·log 240
          10.9613
        """
        eps = check_real(eps, "eps", low=0.0, low_open=True)
        return float(self.dim * max(np.log(6.0 * self.B / eps), 0.0))

    # ---- solvers ----------------------------------------------------------

    def _fit_mle(self, x, y, w):
        fun = _LinearObjective.for_mle(self.features, x, y, w)
        return self.policy(self._solve(fun, [np.zeros(self.dim)], w.sum()))

    def _regression_theta(self, pairs: _Pairs) -> np.ndarray:
        diff = self.features[pairs.x, pairs.y] - self.features[pairs.x, pairs.y_ref]
        root_w = np.sqrt(pairs.weights)
        return _ball_constrained_least_squares(
            pairs.beta * root_w[:, None] * diff, root_w * pairs.offset, self.B
        )

    def _fit_pairs(self, pairs: _Pairs, init, rng=None, warm_start=False):
        self.solver_info_ = None
        if pairs.loss == "squared" and pairs.alpha == 0:
            return self.policy(self._feasible(self._regression_theta(pairs)))
        fun = _LinearObjective.for_pairs(self.features, pairs)
        if pairs.loss == "logistic":  # convex: one start
            return self.policy(self._solve(fun, [np.zeros(self.dim)], pairs.weights.sum()))
        warm = [self._regression_theta(pairs)] + ([] if init is None else [self._start_from(init)])
        if warm_start and init is not None:
            starts = warm
        else:
            gen = self.restart_rng(rng)
            starts = (
                [np.zeros(self.dim)]
                + warm
                + [_uniform_in_ball(gen, self.dim, self.B) for _ in range(self.n_restarts)]
            )
            starts += dominant_starts(fun, self.B, self.n_dominant)
        return self.policy(self._solve(fun, starts, pairs.weights.sum()))

    def _start_from(self, init) -> np.ndarray:
        if not isinstance(init, LinearSoftmaxPolicy) or init.features.shape != self.features.shape:
            raise TypeError("init must be a LinearSoftmaxPolicy with the class's features")
        return self._feasible(np.array(init.theta))

    def _feasible(self, theta: np.ndarray) -> np.ndarray:
        norm = np.linalg.norm(theta)
        # A solver's constraint slack (~1e-10 relative) is undone by rescaling onto the sphere.
        return theta * (self.B / norm) if norm > self.B else theta

    def _solve(self, objective: _LinearObjective, starts, total_weight: float) -> np.ndarray:
        """Minimise ``objective`` over ``‖θ‖ ≤ B`` from each start; the best point (regularised Newton)."""
        scale = 1.0 / max(total_weight, np.finfo(float).tiny)

        def value(theta):
            return scale * objective.value(theta)

        def value_grad_hess(theta):
            f, g, H = objective.value_grad_hess(theta)
            return scale * f, scale * g, scale * H

        best = None
        for theta0 in starts:
            res = minimise_in_ball(
                value,
                value_grad_hess,
                self._feasible(np.asarray(theta0, dtype=float)),
                self.B,
                self.maxiter,
            )
            if best is None or res.fun < best.fun:
                best = res
        assert best is not None, "minimise_in_ball needs at least one start"
        self.solver_info_ = best
        return self._feasible(best.x)

    def contains(self, policy, atol: float = 1e-8) -> bool:
        """Whether ``policy = π_θ`` for some ``‖θ‖ ≤ B``, judged by a least-squares fit of logits.

        Within each prompt ``log π(y|x) − ⟨φ(x,y), θ⟩`` must be constant; the
        best ``θ`` of the ball in the row-centred least-squares sense is taken
        (:meth:`logit_fit`) and ``policy`` is contained when every residual is
        ``≤ atol``. Zero probabilities are never representable.

        Example:
          >>> import numpy as np, sharpsim as ss
          >>> phi = np.eye(2)[None] * 0.5
          >>> cls = ss.LinearSoftmaxClass(phi, B=4.0)
          >>> cls.contains(cls.policy([1.0, -1.0])), cls.contains(ss.TabularPolicy([[0.999, 0.001]]))
          (True, False)
        """
        atol = _check_atol(atol)
        lp = as_tabular(policy, "policy").log_probs
        if lp.shape != (self.n_contexts, self.n_responses) or not np.all(np.isfinite(lp)):
            return False
        return self.logit_fit(lp)[1] <= atol

    def logit_fit(self, log_probs) -> tuple[np.ndarray, float]:
        """The member closest to ``log_probs`` ``[X, Y]`` in centred logits, and its largest residual.

        Solves ``min_{‖θ‖ ≤ B} Σ_{x,y} (⟨φ(x,y) − φ̄(x), θ⟩ − (log π(y|x) − mean_y log π(y|x)))²``
        exactly (minimum-norm least squares, or the secular equation on the
        sphere); ``π_θ`` is defined up to a per-prompt shift of the logits.

        Returns:
          ``(θ [d], max |residual|)``.

        Example:
          >>> import numpy as np, sharpsim as ss
          >>> theta, residual = ss.LinearSoftmaxClass(np.eye(2)[None] * 0.5, B=4.0).logit_fit(np.log([[0.75, 0.25]]))
          >>> theta.round(4).tolist(), bool(residual < 1e-12)   # ±log 3: logits ±0.5·log 3
          ([1.0986, -1.0986], True)
        """
        lp = np.asarray(log_probs, dtype=float)
        if lp.shape != (self.n_contexts, self.n_responses) or not np.all(np.isfinite(lp)):
            raise ValueError(
                f"log_probs must be finite with shape ({self.n_contexts}, {self.n_responses})"
            )
        target = (lp - lp.mean(axis=1, keepdims=True)).ravel()
        design = (self.features - self.features.mean(axis=1, keepdims=True)).reshape(-1, self.dim)
        theta = self._feasible(_ball_constrained_least_squares(design, target, self.B))
        return theta, float(np.max(np.abs(design @ theta - target)))

    def __repr__(self) -> str:
        return (
            f"LinearSoftmaxClass(n_contexts={self.n_contexts}, n_responses={self.n_responses}, "
            f"dim={self.dim}, B={self.B})"
        )
