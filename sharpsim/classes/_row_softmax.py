"""Row-softmax engine and its box-constrained L-BFGS-B solver (SPEC §7).

Shared by :class:`~sharpsim.TabularClass` (one row per prompt) and
:class:`~sharpsim.MarkovClass` (one row per prompt, position and previous
token): logits ``π(·|row) ∝ π_anchor(·|row)·exp(U[row])`` with ``|U| ≤ L``.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import Bounds, minimize

from ._pairs import _pair_value_and_coeffs, _Pairs


class _RowSoftmax:
    """``log π(y|x) = Σ_k log softmax(A[r_k] + U[r_k])[t_k]`` with ``U ∈ [−L, L]^{R×V}``.

    ``A`` ``[R, V]`` are the anchor's log-probabilities (``−inf`` allowed, kept
    at zero mass); a response is a list of ``K`` (row, token) pairs. One row per
    prompt is the tabular class; one row per (prompt, position, previous token)
    a first-order Markov class.
    """

    def __init__(self, anchor: np.ndarray):
        self.anchor = anchor
        self.R, self.V = anchor.shape

    def log_softmax(self, U: np.ndarray) -> np.ndarray:
        Z = self.anchor + U
        top = np.max(Z, axis=1, keepdims=True)
        top = np.where(np.isfinite(top), top, 0.0)
        # Stability: exp of the max-subtracted logits is ≤ 1, and the row's largest term is 1 (no 0 sum).
        with np.errstate(divide="ignore"):
            return Z - (top + np.log(np.exp(Z - top).sum(axis=1, keepdims=True)))

    @staticmethod
    def ell(logp: np.ndarray, rows: np.ndarray, toks: np.ndarray) -> np.ndarray:
        return logp[rows, toks].sum(axis=-1)

    def grad(
        self, logp: np.ndarray, rows: np.ndarray, toks: np.ndarray, g: np.ndarray
    ) -> np.ndarray:
        """``Σ_i g_i ∇_U log π(y_i|x_i)``: one-hot minus softmax at each (row, token) pair."""
        gk = np.broadcast_to(g[:, None], rows.shape).ravel()
        hits = np.bincount((rows * self.V + toks).ravel(), weights=gk, minlength=self.R * self.V)
        mass = np.bincount(rows.ravel(), weights=gk, minlength=self.R)
        return hits.reshape(self.R, self.V) - mass[:, None] * np.exp(logp)


def _check_anchor_support(engine: _RowSoftmax, rows, toks, name: str) -> None:
    finite = np.isfinite(engine.anchor[rows, toks]).all(axis=-1)
    if not np.all(finite):
        i = int(np.argmin(finite))
        raise ValueError(
            f"{name}[{i}] has zero probability under the class's anchor (unseen='base'): "
            "the class cannot give it positive mass"
        )


class _BoxProblem:
    """The pair objective over ``U ∈ [−L, L]^{R×V}`` for a :class:`_RowSoftmax` class, solved by L-BFGS-B.

    The objective is normalised by the total weight and a ridge
    ``ridge·β²·‖U‖²`` makes the minimiser unique (non-identified logits stay at
    the anchor).
    """

    def __init__(
        self, engine: _RowSoftmax, data, pairs: _Pairs, bound: float, ridge: float, options: dict
    ):
        self.engine, self.data, self.pairs = engine, data, pairs
        self.bound, self.options = bound, options
        self.scale = 1.0 / max(pairs.weights.sum(), np.finfo(float).tiny)
        self.lam = ridge * pairs.beta**2

    def fun(self, u: np.ndarray):
        engine, (rows_y, toks_y, rows_r, toks_r) = self.engine, self.data
        logp = engine.log_softmax(u.reshape(engine.R, engine.V))
        value, g_y, g_r = _pair_value_and_coeffs(
            engine.ell(logp, rows_y, toks_y), engine.ell(logp, rows_r, toks_r), self.pairs
        )
        grad = engine.grad(logp, rows_y, toks_y, g_y) + engine.grad(logp, rows_r, toks_r, g_r)
        return self.scale * value + self.lam * (
            u @ u
        ), self.scale * grad.ravel() + 2.0 * self.lam * u

    def solve(self, starts) -> list:
        """One (restarted) L-BFGS-B run per start; the list of scipy results."""
        return [_minimise_in_box(self.fun, np.ravel(U0), self.bound, self.options) for U0 in starts]

    def row_values(self, U: np.ndarray) -> np.ndarray:
        """Each row's share ``[R]`` of the objective, for one-row-per-response classes (``K = 1``)."""
        engine, (rows_y, toks_y, rows_r, toks_r), pairs = self.engine, self.data, self.pairs
        logp = engine.log_softmax(U)
        ell_r = engine.ell(logp, rows_r, toks_r)
        margin = pairs.beta * (engine.ell(logp, rows_y, toks_y) - ell_r) - pairs.offset
        terms = pairs.weights * (margin**2 + pairs.alpha * ell_r)
        return self.scale * np.bincount(
            rows_y[:, 0], weights=terms, minlength=engine.R
        ) + self.lam * (U**2).sum(axis=1)

    def dominant_candidates(self) -> np.ndarray:
        """``[J, R]``: the ``j``-th dominant response tried in each row (one-row-per-response classes).

        A row's candidates are its compared responses plus its best never-compared
        one (all never-compared responses are interchangeable up to the anchor);
        rows with fewer than ``J`` candidates cycle through theirs.
        """
        engine, (rows_y, toks_y, rows_r, toks_r) = self.engine, self.data
        mask = np.zeros((engine.R, engine.V), dtype=bool)
        mask[rows_y[:, 0], toks_y[:, 0]] = mask[rows_r[:, 0], toks_r[:, 0]] = True
        free = np.where(~mask & np.isfinite(engine.anchor), engine.anchor, -np.inf)
        has_free = np.isfinite(free).any(axis=1)
        mask[np.flatnonzero(has_free), np.argmax(free[has_free], axis=1)] = True
        order = np.argsort(~mask, axis=1, kind="stable")  # candidates first, in index order
        count = np.maximum(mask.sum(axis=1), 1)
        rows = np.arange(engine.R)
        return np.stack([order[rows, j % count] for j in range(int(count.max()))])

    def dominant_start(self, k: np.ndarray) -> np.ndarray:
        """Minimiser of the convex surrogate in which each row's ``−log Σ_v exp(A+U)`` (optimism
        term) is replaced by ``−(A_k + U_k)`` for that row's response ``k [R]`` (rows with finite ``A_k``)."""
        return _minimise_in_box(
            self.surrogate(k), np.zeros(self.engine.R * self.engine.V), self.bound, self.options
        ).x

    def surrogate(self, k: np.ndarray):
        """The surrogate objective of :meth:`dominant_start`: ``u ↦ (value, gradient)``, analytic."""
        engine, (rows_y, toks_y, rows_r, toks_r), pairs = self.engine, self.data, self.pairs
        rows = np.arange(engine.R)
        active = np.isfinite(engine.anchor[rows, k])
        row_weight = np.bincount(rows_r[:, 0], weights=pairs.weights, minlength=engine.R) * active
        gap_pairs = _Pairs(
            pairs.x, pairs.y, pairs.y_ref, pairs.offset, pairs.weights, pairs.beta, 0.0, pairs.loss
        )
        optimism = np.zeros((engine.R, engine.V))
        np.add.at(optimism, (rows_r[:, 0], toks_r[:, 0]), pairs.alpha * pairs.weights)
        optimism[rows, k] -= pairs.alpha * row_weight

        def fun(u):
            U = u.reshape(engine.R, engine.V)
            logp = engine.log_softmax(U)
            value, g_y, g_r = _pair_value_and_coeffs(
                engine.ell(logp, rows_y, toks_y), engine.ell(logp, rows_r, toks_r), gap_pairs
            )
            grad = (
                engine.grad(logp, rows_y, toks_y, g_y)
                + engine.grad(logp, rows_r, toks_r, g_r)
                + optimism
            )
            value += float(np.sum(optimism * U))
            return self.scale * value + self.lam * (
                u @ u
            ), self.scale * grad.ravel() + 2.0 * self.lam * u

        return fun


def _minimise_in_box(
    fun, u0: np.ndarray, bound: float, options: dict, rounds: int = 8, gtol: float = 1e-10
):
    """L-BFGS-B, restarted from its own solution until the projected gradient is ``≤ gtol``.

    L-BFGS-B may stop on a stalled relative decrease while a coordinate is still
    creeping towards a bound; a restart discards the stale curvature pairs. The
    rounds also end as soon as one of them no longer lowers the objective.
    """
    box = Bounds(-bound, bound)
    res = minimize(fun, u0, jac=True, method="L-BFGS-B", bounds=box, options=options)
    for _ in range(rounds - 1):
        if np.max(np.abs(np.clip(res.x - res.jac, -bound, bound) - res.x), initial=0.0) <= gtol:
            break
        again = minimize(fun, res.x, jac=True, method="L-BFGS-B", bounds=box, options=options)
        improved = again.fun < res.fun - 1e-15 * max(1.0, abs(res.fun))
        res = again if again.fun <= res.fun else res
        if not improved:
            break
    return res


def _box_start(log_probs: np.ndarray, anchor: np.ndarray, bound: float) -> np.ndarray:
    """``u`` with ``softmax(anchor + u) ≈ exp(log_probs)`` row by row, moved into the box (a start only)."""
    finite = np.isfinite(log_probs) & np.isfinite(anchor)
    u = np.where(finite, log_probs - np.where(finite, anchor, 0.0), -np.inf)
    top = np.max(u, axis=1, keepdims=True)
    u = np.where(finite, u - np.where(np.isfinite(top), top, 0.0), -bound)
    return np.clip(u, -bound, bound)


def rng_start(gen: np.random.Generator, engine: _RowSoftmax, bound: float) -> np.ndarray:
    """A random start ``u ~ Uniform[−1, 1]`` ``[R, V]``, scaled into the box when ``L < 1``."""
    return gen.uniform(-1.0, 1.0, (engine.R, engine.V)) * min(bound, 1.0)


def restrict_to_data(engine: _RowSoftmax, data):
    """The engine and data on the rows the data touch, and those rows ``[R_a]`` (sorted).

    Rows without data are acted on by the ridge only, so their minimiser is
    ``u = 0`` (the anchor) whatever the start: they are left out of the solve,
    which keeps it small and keeps random starts from moving laws the data
    never saw.
    """
    rows_y, toks_y, rows_r, toks_r = data
    active = np.unique(np.concatenate([rows_y.ravel(), rows_r.ravel()]))
    local = (np.searchsorted(active, rows_y), toks_y, np.searchsorted(active, rows_r), toks_r)
    return _RowSoftmax(engine.anchor[active]), local, active


def _lbfgs_options(maxiter: int) -> dict:
    return {"maxiter": maxiter, "maxfun": 4 * maxiter, "ftol": 1e-15, "gtol": 1e-11, "maxcor": 30}
