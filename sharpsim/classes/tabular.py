"""The tabular class: every conditional ``π(·|x) ∈ Δ(Y)`` (Section 2.1, Eq. (4), Algorithm 1).

MLE by counts; the DPO regression exactly by a batched graph-Laplacian
pseudo-inverse; XPO and logistic DPO by L-BFGS-B on the row-softmax engine.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_int, check_real, check_rng
from ..policies.tabular import TabularPolicy, as_tabular
from ._pairs import _Pairs
from ._row_softmax import (
    _box_start,
    _BoxProblem,
    _check_anchor_support,
    _lbfgs_options,
    _RowSoftmax,
    restrict_to_data,
    rng_start,
)
from .base import _UNSEEN_RULES, ModelClass, _check_atol

__all__ = ["TabularClass"]


#: Largest ``prompts × m²`` dense Laplacian stack the exact tabular regression builds
#: (``m`` = most responses compared within one prompt); beyond it L-BFGS-B is used.
_EXACT_REGRESSION_ENTRIES = 1 << 22


def _min_norm_tabular_regression(anchor: np.ndarray, pairs: _Pairs) -> np.ndarray | None:
    """Exact minimum-norm ``U`` for the squared loss on a one-row-per-prompt class.

    ``log π(y) − log π(y') = A_y − A_y' + U_y − U_y'`` (the normaliser cancels),
    so each prompt's problem is least squares with the weighted graph
    Laplacian ``M_x = Σ_i w_i (e_y − e_y')(e_y − e_y')ᵀ`` over its compared
    responses; its pseudo-inverse, batched over prompts, returns 0 on every
    non-identified direction (and on responses never compared). ``None`` when
    the dense stack would exceed ``_EXACT_REGRESSION_ENTRIES``.
    """
    x, y, yr, w, beta = pairs.x, pairs.y, pairs.y_ref, pairs.weights, pairs.beta
    U = np.zeros_like(anchor)
    n, V = x.shape[0], anchor.shape[1]
    if n == 0:
        return U
    # Compress each prompt's compared responses to local indices 0..m_x-1.
    cells, inverse = np.unique(np.concatenate([x * V + y, x * V + yr]), return_inverse=True)
    seen, first, prompt_of = np.unique(cells // V, return_index=True, return_inverse=True)
    local = np.arange(cells.shape[0]) - first[prompt_of]
    m = int(local.max()) + 1
    if seen.shape[0] * m * m > _EXACT_REGRESSION_ENTRIES:
        return None
    xi, ly, lr = prompt_of[inverse[:n]], local[inverse[:n]], local[inverse[n:]]
    c = (pairs.offset - beta * (anchor[x, y] - anchor[x, yr])) / beta
    M = np.zeros((seen.shape[0], m, m))
    b = np.zeros((seen.shape[0], m))
    for a, bb, sign in ((ly, ly, 1.0), (lr, lr, 1.0), (ly, lr, -1.0), (lr, ly, -1.0)):
        np.add.at(M, (xi, a, bb), sign * w)
    np.add.at(b, (xi, ly), w * c)
    np.add.at(b, (xi, lr), -w * c)
    solution = np.einsum("xij,xj->xi", np.linalg.pinv(M, hermitian=True), b)
    U[cells // V, cells % V] = solution[prompt_of, local]
    return U


class TabularClass(ModelClass):
    """All conditionals ``π(·|x) ∈ Δ(Y)`` for every prompt (the tabular class).

    - ``fit_mle``: per-prompt empirical frequencies (weighted counts, one
      ``bincount``); exact. Prompts with no data (zero total weight) follow
      ``unseen``: ``"uniform"`` gives ``π(·|x) = 1/|Y|``; ``"base"`` keeps the
      given ``base`` row (the model is left where it started).
    - Pair objectives (DPO regression, XPO, logistic DPO) search
      ``π(y|x) ∝ π_anchor(y|x)·exp(u(x,y))`` with ``|u| ≤ logit_bound`` so that
      every argmin exists (XPO's ``α log π(y'|x)`` is unbounded below
      otherwise); ``π_anchor`` is the uniform law or ``base`` (per ``unseen``),
      whose zero-probability responses stay at zero. Only logit differences of
      compared responses are identified by the data: the rest (responses never
      compared, prompts never seen) stay at the anchor. The DPO regression is
      solved exactly — per-prompt weighted graph Laplacian over the compared
      responses, minimum-norm solution via a batched pseudo-inverse — whenever
      that solution lies in the box (and the dense stack has at most ``2**22``
      entries); otherwise, and for XPO and logistic DPO, by L-BFGS-B with
      analytic gradients on the weight-normalised objective plus a tiny ridge
      ``ridge·β²·‖u‖²`` (the unique minimiser; non-identified ``u`` stay 0).
      Only prompts with data enter the solve; the others stay at the anchor.
    - XPO is non-convex (``log π(y'|x)`` is concave in ``u``). Since
      ``max_v ≤ log Σ_v exp ≤ max_v + log|Y|``, replacing ``−log Σ_v exp(A+u)``
      by ``−(A_k + u_k)`` gives, for each response ``k``, a convex surrogate
      within ``α·Σ w·log|Y|`` of the objective; its minimiser is a start. The
      ``k`` tried in a prompt are its compared responses and one never-compared
      response (``J ≤ min(|Y|, 2·n_x + 1)`` surrogates). L-BFGS-B runs from
      those starts, ``u = 0`` (the anchor), the DPO regression solution,
      ``init`` if given and ``n_restarts`` random starts ``u ~ Uniform[−1, 1]``
      (``warm_start=True`` keeps only the regression solution and ``init``);
      as prompts do not interact, each prompt keeps its best local solution and
      the assembled point is polished once more (about ``2J + 4`` L-BFGS-B runs).

    Args:
      n_contexts, n_responses: the table's shape ``[X, Y]``.
      unseen: ``"uniform"`` (default) or ``"base"``; rule for unseen prompts and anchor.
      base: tabular policy ``[X, Y]``, required when ``unseen="base"``.
      logit_bound: ``L > 0`` (default 50, i.e. probability ratios up to ``e^100``
        against the anchor within a prompt).
      ridge: ``≥ 0`` (default ``1e-10``).
      n_restarts: random XPO restarts (default 2).
      random_state: seed of the XPO restarts (int or Generator); ``None`` (default)
        uses the ``rng`` handed to the fit (the sharpening algorithms pass one
        derived from their own), see :meth:`~ModelClass.restart_rng`.
      maxiter: L-BFGS-B iteration cap per start (default 5000).

    Attributes:
      anchor_log_probs: ``[X, Y]``; params_: the ``u`` ``[X, Y]`` of the last pair
      fit; solver_info_: scipy's result of the last iterative solve (``None``
      after an exact one).

    Example:
      >>> import sharpsim as ss
      >>> cls = ss.TabularClass(2, 3)
      >>> cls.fit_mle([0, 0, 0, 0], [2, 2, 1, 2]).probs.round(3).tolist()
      [[0.0, 0.25, 0.75], [0.333, 0.333, 0.333]]
    """

    def __init__(
        self,
        n_contexts: int,
        n_responses: int,
        *,
        unseen: str = "uniform",
        base=None,
        logit_bound: float = 50.0,
        ridge: float = 1e-10,
        n_restarts: int = 2,
        random_state=None,
        maxiter: int = 5000,
    ):
        self.n_contexts = check_int(n_contexts, "n_contexts", minimum=1)
        self.n_responses = check_int(n_responses, "n_responses", minimum=1)
        if unseen not in _UNSEEN_RULES:
            raise ValueError(f"unseen must be one of {_UNSEEN_RULES}; got {unseen!r}")
        self.unseen = unseen
        self.base = None if base is None else as_tabular(base, "base")
        if unseen == "base" and self.base is None:
            raise ValueError("base is required when unseen='base'")
        if self.base is not None and self.base.log_probs.shape != (
            self.n_contexts,
            self.n_responses,
        ):
            raise ValueError(
                f"base must have shape ({self.n_contexts}, {self.n_responses}); "
                f"got {self.base.log_probs.shape}"
            )
        self.logit_bound = check_real(logit_bound, "logit_bound", low=0.0, low_open=True)
        self.ridge = check_real(ridge, "ridge", low=0.0)
        self.n_restarts = check_int(n_restarts, "n_restarts", minimum=0)
        check_rng(random_state)  # validate now; a fresh generator is made per fit
        self.random_state = random_state
        self.maxiter = check_int(maxiter, "maxiter", minimum=1)
        self.solver_info_ = None
        self.params_: np.ndarray | None = None

    @property
    def anchor_log_probs(self) -> np.ndarray:
        """Log-probabilities ``[X, Y]`` of the uniform law or of ``base`` (per ``unseen``)."""
        if self.unseen == "base":
            assert self.base is not None  # the constructor requires it
            return self.base.log_probs
        return np.full((self.n_contexts, self.n_responses), -np.log(self.n_responses))

    def _fit_mle(self, x, y, w):
        counts = np.bincount(
            x * self.n_responses + y, weights=w, minlength=self.n_contexts * self.n_responses
        )
        counts = counts.reshape(self.n_contexts, self.n_responses)
        totals = counts.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore"):
            log_freq = np.log(counts) - np.log(np.where(totals > 0, totals, 1.0))
        return TabularPolicy.from_log_probs(np.where(totals > 0, log_freq, self.anchor_log_probs))

    def _fit_pairs(self, pairs: _Pairs, init, rng=None, warm_start=False):
        engine = _RowSoftmax(self.anchor_log_probs)
        data = (pairs.x[:, None], pairs.y[:, None], pairs.x[:, None], pairs.y_ref[:, None])
        _check_anchor_support(engine, data[0], data[1], "y")
        _check_anchor_support(engine, data[2], data[3], "y_ref")
        self.solver_info_ = None
        if pairs.loss == "squared":
            U = _min_norm_tabular_regression(engine.anchor, pairs)
            if U is None or not (pairs.alpha == 0 and np.max(np.abs(U)) <= self.logit_bound):
                start = (
                    None if U is None else np.clip(U, -self.logit_bound, self.logit_bound)
                )  # a start only
                U = self._iterate(engine, data, pairs, start, init, rng, warm_start)
        else:
            U = self._iterate(engine, data, pairs, None, init, rng, False)
        self.params_ = U
        return TabularPolicy.from_log_probs(engine.log_softmax(U))

    def _iterate(self, engine, data, pairs, regression_start, init, rng, warm_start):
        """L-BFGS-B from every start on the rows the data touch; ``U`` ``[X, Y]`` (0 on the other rows)."""
        xpo = pairs.alpha > 0
        warm = [] if regression_start is None else [regression_start]
        if xpo and init is not None:
            warm.append(self._start_from(init, engine))
        cold = not (warm_start and xpo and init is not None)
        sub, sub_data, active = restrict_to_data(engine, data)
        U = np.zeros((engine.R, engine.V))
        if active.shape[0] == 0:
            return U
        problem = _BoxProblem(
            sub, sub_data, pairs, self.logit_bound, self.ridge, _lbfgs_options(self.maxiter)
        )
        starts = [
            start[active] for start in ([np.zeros((engine.R, engine.V))] if cold else []) + warm
        ]
        if xpo and cold:
            gen = self.restart_rng(rng)
            starts += [rng_start(gen, sub, self.logit_bound) for _ in range(self.n_restarts)]
            starts += [problem.dominant_start(k) for k in problem.dominant_candidates()]
        results = problem.solve(starts)
        if len(results) > 1:
            # Prompts do not interact: keep each prompt's best row over all local solutions, then polish.
            candidates = np.stack([r.x.reshape(sub.R, sub.V) for r in results])
            best_rows = np.argmin(np.stack([problem.row_values(C) for C in candidates]), axis=0)
            results += problem.solve([candidates[best_rows, np.arange(sub.R)]])
        best = min(results, key=lambda r: r.fun)
        self.solver_info_ = best
        U[active] = best.x.reshape(sub.R, sub.V)
        return U

    def _start_from(self, init, engine) -> np.ndarray:
        lp = as_tabular(init, "init").log_probs
        if lp.shape != engine.anchor.shape:
            raise ValueError(f"init must have shape {engine.anchor.shape}; got {lp.shape}")
        return _box_start(lp, engine.anchor, self.logit_bound)

    def contains(self, policy, atol: float = 1e-8) -> bool:
        """Always ``True`` for a tabular policy of shape ``[X, Y]``: the class has every conditional.

        Example:
          >>> import sharpsim as ss
          >>> ss.TabularClass(1, 2).contains(ss.TabularPolicy([[1.0, 0.0]]))
          True
        """
        _check_atol(atol)
        lp = as_tabular(policy, "policy").log_probs
        return lp.shape == (self.n_contexts, self.n_responses)

    def __repr__(self) -> str:
        return (
            f"TabularClass(n_contexts={self.n_contexts}, n_responses={self.n_responses}, "
            f"unseen={self.unseen!r})"
        )
