"""Model classes ``Π`` and the problems the sharpening algorithms solve over them.

A model class (SPEC §1) is configured in its constructor, scikit-learn style,
and fitted by methods that return a policy of the class:

- ``fit_mle(x, y, weights=None)``: ``argmax_{π∈Π} Σ_i w_i log π(y_i|x_i)``
  (SFT-Sharpening, Section 2.1).
- ``fit_regression(x, y, y_ref, target, beta, base, weights=None)``: the DPO
  regression of Eq. (4) / Eq. (8),
  ``argmin_{π∈Π} Σ_i w_i (Δ_π(x_i, y_i, y'_i) − target_i)²`` with
  ``Δ_π(x, y, y') = β log(π(y|x)/π_base(y|x)) − β log(π(y'|x)/π_base(y'|x))``
  and ``target_i = r(x_i, y_i) − r(x_i, y'_i)``.
- ``fit_xpo(x, y, y_ref, target, beta, alpha, base, weights=None)``: the XPO
  step of Algorithm 1, ``argmin α Σ_i w_i log π(y'_i|x_i) + (the regression
  loss)``; both terms are minimised (SPEC §7).
- ``fit_logistic_dpo(x, y_win, y_lose, beta, base, weights=None)``: the
  Bradley–Terry DPO loss ``Σ_i w_i log(1 + exp(−Δ_π(x_i, y_win_i, y_lose_i)))``.
- ``contains(policy, atol)``: whether the class represents ``policy``
  (realizability, e.g. Assumption J.3).

Data are prompts ``x`` ``[n]`` and responses ``y`` ``[n]`` (tabular classes) or
``[n, H]`` token arrays (autoregressive classes). ``base`` is either a policy,
evaluated only at the data pairs (whose likelihoods the sample-and-evaluate
oracle has already returned, Definition 3.2), or the pair of arrays
``(log π_base(y|x), log π_base(y'|x))`` ``[n]`` as the oracle returned them.
It must give every data response positive probability: otherwise the
log-ratio in Eq. (4) is undefined.

Exact where possible: tabular MLE (counts), finite classes (enumeration),
tabular and linear-softmax DPO regression (the normalisers cancel in ``Δ_π``,
leaving linear least squares). Elsewhere scipy with analytic gradients: the
linear-softmax MLE and logistic DPO (concave / convex), and XPO, whose
optimism term ``α log π(y'|x)`` is concave in the logits, so the minimised
objective is non-convex; it is solved from several starting points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, brentq, minimize
from scipy.special import expit, logsumexp

from ._validation import PROB_ATOL, check_index_array, check_int, check_real, check_rng
from .policies.autoregressive import JointAutoregressivePolicy, MarkovPolicy
from .policies.base import MAX_ENUMERATION, encode_sequences
from .policies.linear import (
    LinearSoftmaxPolicy,
    check_features,
    check_norm_bound,
    linear_log_probs,
)
from .policies.tabular import TabularPolicy, as_tabular

__all__ = ["ModelClass", "FiniteClass", "TabularClass", "LinearSoftmaxClass", "PrefixTreeClass", "MarkovClass"]

_UNSEEN_RULES = ("uniform", "base")


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class _Pairs:
    """Validated pair data. ``offset`` is what ``β(log π(y) − log π(y'))`` is compared with."""

    x: np.ndarray
    y: np.ndarray
    y_ref: np.ndarray
    offset: np.ndarray
    weights: np.ndarray
    beta: float
    alpha: float
    loss: str  # "squared" (Eq. (4), Algorithm 1) or "logistic" (Bradley-Terry DPO)


def _check_weights(weights, n: int) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    arr = _check_vector(weights, "weights", n)
    if np.any(arr < 0):
        i = int(np.argmin(arr))
        raise ValueError(f"weights must be non-negative; weights[{i}] = {arr[i]}")
    return arr


def _check_vector(values, name: str, n: int) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise TypeError(f"{name} must be a real array; got dtype {arr.dtype}")
    arr = arr.astype(float)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) like x; got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        i = int(np.argmax(~np.isfinite(arr)))
        raise ValueError(f"{name} must be finite; {name}[{i}] = {arr[i]}")
    return arr


def _wsum(weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``Σ_i w_i v_i`` over the last axis, skipping ``w_i = 0`` (so ``0·∞`` never makes NaN)."""
    terms = np.multiply(weights, values, out=np.zeros(np.broadcast_shapes(weights.shape, values.shape)),
                        where=weights > 0)
    return terms.sum(axis=-1)


def _log_gap(ell_a: np.ndarray, ell_b: np.ndarray, fill: float) -> np.ndarray:
    """``ell_a − ell_b`` where both are finite, ``fill`` elsewhere (no ``−∞ − (−∞)``)."""
    finite = np.isfinite(ell_a) & np.isfinite(ell_b)
    return np.subtract(ell_a, ell_b, out=np.full(np.broadcast_shapes(ell_a.shape, ell_b.shape), fill),
                       where=finite)


def _pair_objective(ell_y: np.ndarray, ell_ref: np.ndarray, pairs: _Pairs) -> np.ndarray:
    """The pair objective for log-likelihoods ``[..., n]`` (``−inf`` allowed); shape ``[...]``.

    A candidate giving zero probability to a data response has objective ``+inf``
    (its log-ratio is infinite), except the losing response of the logistic loss,
    where zero probability is the loss's infimum 0.
    """
    w = pairs.weights
    if pairs.loss == "logistic":
        # log π(y_w) − log π(y_l): −inf when π(y_w) = 0, +inf when only π(y_l) = 0.
        gap = np.subtract(ell_y, ell_ref, out=np.full(np.broadcast_shapes(ell_y.shape, ell_ref.shape), -np.inf),
                          where=np.isfinite(ell_y))
        margin = pairs.beta * gap - pairs.offset
        return _wsum(w, np.logaddexp(0.0, -margin))
    resid = pairs.beta * _log_gap(ell_y, ell_ref, np.inf) - pairs.offset
    value = _wsum(w, resid**2)
    if pairs.alpha > 0:
        # Where the squared term is finite, every weighted log π(y'|x) is finite too.
        optimism = _wsum(w, np.where(np.isfinite(ell_ref), ell_ref, 0.0))
        value = np.where(np.isfinite(value), value + pairs.alpha * optimism, value)
    return value


def _pair_value_and_coeffs(ell_y: np.ndarray, ell_ref: np.ndarray, pairs: _Pairs):
    """Objective at finite log-likelihoods ``[n]`` and its derivatives w.r.t. them."""
    w, beta = pairs.weights, pairs.beta
    margin = beta * (ell_y - ell_ref) - pairs.offset
    if pairs.loss == "logistic":
        g_y = -w * beta * expit(-margin)
        return float(w @ np.logaddexp(0.0, -margin)), g_y, -g_y
    g_y = 2.0 * w * beta * margin
    value = float(w @ margin**2 + pairs.alpha * (w @ ell_ref))
    return value, g_y, -g_y + pairs.alpha * w


# --------------------------------------------------------------------------- base class


class ModelClass:
    """What every model class offers; see the module docstring for the objectives.

    Subclasses set ``n_contexts``, ``n_responses`` and, for token sequences,
    ``vocab_size`` and ``horizon`` (``n_responses = vocab_size**horizon``), and
    implement ``_fit_mle`` and ``_fit_pairs`` on validated data.
    """

    n_contexts: int
    n_responses: int
    vocab_size: int | None = None
    horizon: int | None = None

    # ---- public solvers -------------------------------------------------

    def fit_mle(self, x, y, weights=None):
        """Maximum likelihood ``argmax_{π∈Π} Σ_i w_i log π(y_i|x_i)`` (Section 2.1).

        Args:
          x: int array ``[n]`` of prompts.
          y: responses, int array ``[n]`` (or ``[n, H]`` tokens for sequence classes).
          weights: non-negative float array ``[n]``; ``None`` means all ones.

        Returns:
          A policy of the class.
        """
        x, y, w = self._check_sample(x, y, weights)
        return self._fit_mle(x, y, w)

    def fit_regression(self, x, y, y_ref, target, beta, base, weights=None):
        """DPO regression, Eq. (4) / Eq. (8): ``argmin Σ_i w_i (Δ_π(x_i, y_i, y'_i) − target_i)²``.

        Args:
          x: int array ``[n]``; y, y_ref: responses ``[n]`` (or ``[n, H]``).
          target: float array ``[n]``, ``r(x_i, y_i) − r(x_i, y'_i)``.
          beta: KL-regularisation ``β > 0``.
          base: the reference policy ``π_base``, or ``(log π_base(y|x), log π_base(y'|x))``.
          weights: non-negative float array ``[n]`` (``None``: ones).

        Returns:
          A policy of the class.
        """
        pairs = self._check_pairs(x, y, y_ref, target, beta, 0.0, base, weights, "squared")
        return self._fit_pairs(pairs, None)

    def fit_xpo(self, x, y, y_ref, target, beta, alpha, base, weights=None, *, init=None):
        """XPO step (Algorithm 1): ``argmin α Σ_i w_i log π(y'_i|x_i) + Σ_i w_i (Δ_π − target_i)²``.

        The optimism term is concave in the logits, so the objective is
        non-convex; the solver keeps the best of several local solutions
        (see the class docstrings). ``y_ref`` holds the base samples ``ỹ``.

        Args:
          x, y, y_ref, target, beta, base, weights: as in :meth:`fit_regression`.
          alpha: optimism coefficient ``α ≥ 0`` (``0`` is the regression).
          init: optional policy of the class used as an extra starting point
            (e.g. the previous XPO iterate).

        Returns:
          A policy of the class.
        """
        alpha = check_real(alpha, "alpha", low=0.0)
        pairs = self._check_pairs(x, y, y_ref, target, beta, alpha, base, weights, "squared")
        return self._fit_pairs(pairs, init)

    def fit_logistic_dpo(self, x, y_win, y_lose, beta, base, weights=None):
        """Logistic (Bradley–Terry) DPO: ``argmin Σ_i w_i log(1 + exp(−Δ_π(x_i, y_win_i, y_lose_i)))``.

        Args:
          x: int array ``[n]``; y_win, y_lose: preferred and rejected responses.
          beta, base, weights: as in :meth:`fit_regression`.

        Returns:
          A policy of the class.
        """
        pairs = self._check_pairs(x, y_win, y_lose, None, beta, 0.0, base, weights, "logistic",
                                  names=("y_win", "y_lose"))
        return self._fit_pairs(pairs, None)

    def objective(self, policy, x, y, y_ref, target, beta, base, weights=None, *, alpha=0.0):
        """The regression (``alpha = 0``) or XPO objective of ``policy`` on the data (a float).

        ``+inf`` when ``policy`` gives a data response zero probability.

        Example:
          >>> import sharpsim as ss
          >>> base = ss.TabularPolicy([[0.5, 0.5]])
          >>> float(ss.TabularClass(1, 2).objective(base, [0], [0], [1], [1.0], 0.5, base))
          1.0
        """
        alpha = check_real(alpha, "alpha", low=0.0)
        pairs = self._check_pairs(x, y, y_ref, target, beta, alpha, base, weights, "squared")
        return float(_pair_objective(policy.log_prob(pairs.x, pairs.y), policy.log_prob(pairs.x, pairs.y_ref), pairs))

    # ---- validation -----------------------------------------------------

    def _check_prompts(self, x) -> np.ndarray:
        x = check_index_array(x, "x", self.n_contexts)
        if x.ndim != 1:
            raise ValueError(f"x must be 1-d; got shape {x.shape}")
        return x

    def _check_responses(self, y, name: str, n: int) -> np.ndarray:
        if self.horizon is None:
            arr = check_index_array(y, name, self.n_responses)
            want = (n,)
        else:
            arr = check_index_array(y, name, self.vocab_size)
            want = (n, self.horizon)
        if arr.shape != want:
            raise ValueError(f"{name} must have shape {want} to match x; got {arr.shape}")
        return arr

    def _check_sample(self, x, y, weights):
        x = self._check_prompts(x)
        return x, self._check_responses(y, "y", x.shape[0]), _check_weights(weights, x.shape[0])

    def _check_pairs(self, x, y, y_ref, target, beta, alpha, base, weights, loss, names=("y", "y_ref")):
        x = self._check_prompts(x)
        n = x.shape[0]
        y = self._check_responses(y, names[0], n)
        y_ref = self._check_responses(y_ref, names[1], n)
        beta = check_real(beta, "beta", low=0.0, low_open=True)
        w = _check_weights(weights, n)
        lb_y, lb_ref = self._base_log_probs(base, x, y, y_ref, names)
        gap = beta * (lb_y - lb_ref)
        offset = gap if loss == "logistic" else _check_vector(target, "target", n) + gap
        return _Pairs(x, y, y_ref, offset, w, beta, alpha, loss)

    def _base_log_probs(self, base, x, y, y_ref, names):
        n = x.shape[0]
        if isinstance(base, tuple):
            if len(base) != 2:
                raise ValueError(f"base given as log-likelihoods must be a pair of arrays; got {len(base)} items")
            lb = [np.asarray(b, dtype=float) for b in base]
            for b, name in zip(lb, names):
                if b.shape != (n,):
                    raise ValueError(f"base log-likelihoods of {name} must have shape ({n},); got {b.shape}")
        else:
            if not callable(getattr(base, "log_prob", None)):
                raise TypeError(f"base must be a policy with log_prob or a pair of arrays; got {type(base).__name__}")
            if getattr(base, "n_contexts", self.n_contexts) != self.n_contexts:
                raise ValueError(f"base has n_contexts={base.n_contexts}; the class has {self.n_contexts}")
            if self.horizon is None and getattr(base, "n_responses", self.n_responses) != self.n_responses:
                raise ValueError(f"base has n_responses={base.n_responses}; the class has {self.n_responses}")
            lb = [np.asarray(base.log_prob(x, y), dtype=float), np.asarray(base.log_prob(x, y_ref), dtype=float)]
        for b, name in zip(lb, names):
            bad = ~np.isfinite(b) | (b > PROB_ATOL)  # log 1 may round to a hair above 0
            if np.any(bad):
                i = int(np.argmax(bad))
                raise ValueError(
                    f"base must give every {name}[i] a probability in (0, 1] (the log-ratio of Eq. (4) is "
                    f"undefined otherwise); log π_base({name}[{i}]|x[{i}]) = {b[i]}"
                )
        return lb

    # ---- to implement ---------------------------------------------------

    def _fit_mle(self, x, y, w):  # pragma: no cover - abstract
        raise NotImplementedError

    def _fit_pairs(self, pairs: _Pairs, init):  # pragma: no cover - abstract
        raise NotImplementedError

    def contains(self, policy, atol: float = 1e-8) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_contexts={self.n_contexts}, n_responses={self.n_responses})"


def _same_law(a: TabularPolicy, b: TabularPolicy, atol: float) -> bool:
    """Equal supports and ``|log a − log b| ≤ atol`` on them."""
    if a.log_probs.shape != b.log_probs.shape:
        return False
    fa, fb = np.isfinite(a.log_probs), np.isfinite(b.log_probs)
    return bool(np.array_equal(fa, fb) and np.all(np.abs(a.log_probs[fa] - b.log_probs[fb]) <= atol))


def _check_atol(atol) -> float:
    return check_real(atol, "atol", low=0.0)


# --------------------------------------------------------------------------- finite class


class FiniteClass(ModelClass):
    """An explicit finite class ``Π = {π_1, …, π_K}``; every problem is solved by enumeration.

    The setting of Theorem 4.1 and Lemma F.1 (``log|Π|`` enters the bounds).
    Each objective is evaluated for all members at once (a ``[K, n]`` array of
    data log-likelihoods, gathered from a stacked ``[K, X, Y]`` table when the
    members are tabular) and the best member is returned itself; ties go to
    the first. A member that gives a data response zero probability has
    likelihood ``−inf`` and regression / XPO objective ``+inf``.

    Args:
      policies: a non-empty sequence of policies with the same ``n_contexts``
        and response space (all tabular with equal shapes, or all sequence
        policies with equal ``vocab_size`` and ``horizon``).

    Attributes:
      policies (tuple), size (``K``), log_size (``log K``), last_scores_
      (float array ``[K]``: each member's log-likelihood after ``fit_mle``,
      its objective after a pair fit).

    Example:
      >>> import sharpsim as ss
      >>> a, b = ss.TabularPolicy([[0.9, 0.1]]), ss.TabularPolicy([[0.2, 0.8]])
      >>> ss.FiniteClass([a, b]).fit_mle([0, 0, 0], [1, 1, 0]) is b
      True
    """

    def __init__(self, policies):
        if isinstance(policies, (str, bytes)) or not hasattr(policies, "__len__"):
            raise TypeError(f"policies must be a sequence of policies; got {type(policies).__name__}")
        self.policies = tuple(policies)
        if not self.policies:
            raise ValueError("policies must contain at least one policy")
        first = self.policies[0]
        for i, p in enumerate(self.policies):
            if not (callable(getattr(p, "log_prob", None)) and hasattr(p, "n_contexts")):
                raise TypeError(f"policies[{i}] must be a policy with log_prob; got {type(p).__name__}")
        self.n_contexts = int(first.n_contexts)
        self.horizon = getattr(first, "horizon", None)
        self.vocab_size = getattr(first, "vocab_size", None)
        self.n_responses = (self.vocab_size**self.horizon if self.horizon is not None
                            else int(first.n_responses))
        for i, p in enumerate(self.policies):
            space = (p.n_contexts, getattr(p, "horizon", None), getattr(p, "vocab_size", None),
                     getattr(p, "n_responses", self.n_responses) if self.horizon is None else None)
            want = (self.n_contexts, self.horizon, self.vocab_size,
                    self.n_responses if self.horizon is None else None)
            if space != want:
                raise ValueError(f"policies[{i}] has a different prompt or response space than policies[0]")
        tabular = all(isinstance(p, TabularPolicy) for p in self.policies)
        self._table = np.stack([p.log_probs for p in self.policies]) if tabular else None
        self.size = len(self.policies)
        self.log_size = float(np.log(self.size))
        self.last_scores_ = None

    def log_covering_number(self, eps: float) -> float:
        """``log N(Π, ε) ≤ log|Π|`` for every ``ε ≥ 0`` (the class is its own net, Definition J.2)."""
        check_real(eps, "eps", low=0.0)
        return self.log_size

    def _data_log_probs(self, x, y) -> np.ndarray:
        """``log π_k(y_i|x_i)`` for every member, ``[K, n]``."""
        if self._table is not None:
            return self._table[:, x, y]
        return np.stack([np.asarray(p.log_prob(x, y), dtype=float) for p in self.policies])

    def _fit_mle(self, x, y, w):
        scores = _wsum(w, self._data_log_probs(x, y))
        self.last_scores_ = scores
        return self.policies[int(np.argmax(scores))]

    def _fit_pairs(self, pairs: _Pairs, init):
        values = _pair_objective(self._data_log_probs(pairs.x, pairs.y),
                                 self._data_log_probs(pairs.x, pairs.y_ref), pairs)
        self.last_scores_ = values
        return self.policies[int(np.argmin(values))]

    def contains(self, policy, atol: float = 1e-8) -> bool:
        """Whether some member equals ``policy``: same support, log-probabilities within ``atol``.

        Example:
          >>> import sharpsim as ss
          >>> cls = ss.FiniteClass([ss.TabularPolicy([[0.5, 0.5]])])
          >>> cls.contains(ss.TabularPolicy([[0.5, 0.5]])), cls.contains(ss.TabularPolicy([[1.0, 0.0]]))
          (True, False)
        """
        atol = _check_atol(atol)
        if any(p is policy for p in self.policies):
            return True
        target = as_tabular(policy, "policy")
        return any(_same_law(as_tabular(p), target, atol) for p in self.policies)

    def __repr__(self) -> str:
        return f"FiniteClass(size={self.size}, n_contexts={self.n_contexts}, n_responses={self.n_responses})"


# --------------------------------------------------------------------------- row-softmax engine


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
        return Z - logsumexp(Z, axis=1, keepdims=True)

    @staticmethod
    def ell(logp: np.ndarray, rows: np.ndarray, toks: np.ndarray) -> np.ndarray:
        return logp[rows, toks].sum(axis=-1)

    def grad(self, logp: np.ndarray, rows: np.ndarray, toks: np.ndarray, g: np.ndarray) -> np.ndarray:
        """``Σ_i g_i ∇_U log π(y_i|x_i)``: one-hot minus softmax at each (row, token) pair."""
        gk = np.broadcast_to(g[:, None], rows.shape).ravel()
        hits = np.bincount((rows * self.V + toks).ravel(), weights=gk, minlength=self.R * self.V)
        mass = np.bincount(rows.ravel(), weights=gk, minlength=self.R)
        return hits.reshape(self.R, self.V) - mass[:, None] * np.exp(logp)


def _check_anchor_support(engine: _RowSoftmax, rows, toks, name: str) -> None:
    finite = np.isfinite(engine.anchor[rows, toks]).all(axis=-1)
    if not np.all(finite):
        i = int(np.argmin(finite))
        raise ValueError(f"{name}[{i}] has zero probability under the class's anchor (unseen='base'): "
                         "the class cannot give it positive mass")


class _BoxProblem:
    """The pair objective over ``U ∈ [−L, L]^{R×V}`` for a :class:`_RowSoftmax` class, solved by L-BFGS-B.

    The objective is normalised by the total weight and a ridge
    ``ridge·β²·‖U‖²`` makes the minimiser unique (non-identified logits stay at
    the anchor).
    """

    def __init__(self, engine: _RowSoftmax, data, pairs: _Pairs, bound: float, ridge: float, options: dict):
        self.engine, self.data, self.pairs = engine, data, pairs
        self.bound, self.options = bound, options
        self.scale = 1.0 / max(pairs.weights.sum(), np.finfo(float).tiny)
        self.lam = ridge * pairs.beta**2

    def fun(self, u: np.ndarray):
        engine, (rows_y, toks_y, rows_r, toks_r) = self.engine, self.data
        logp = engine.log_softmax(u.reshape(engine.R, engine.V))
        value, g_y, g_r = _pair_value_and_coeffs(engine.ell(logp, rows_y, toks_y),
                                                 engine.ell(logp, rows_r, toks_r), self.pairs)
        grad = engine.grad(logp, rows_y, toks_y, g_y) + engine.grad(logp, rows_r, toks_r, g_r)
        return self.scale * value + self.lam * (u @ u), self.scale * grad.ravel() + 2.0 * self.lam * u

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
        return self.scale * np.bincount(rows_y[:, 0], weights=terms, minlength=engine.R) + self.lam * (U**2).sum(axis=1)

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
        engine, (rows_y, toks_y, rows_r, toks_r), pairs = self.engine, self.data, self.pairs
        rows = np.arange(engine.R)
        active = np.isfinite(engine.anchor[rows, k])
        row_weight = np.bincount(rows_r[:, 0], weights=pairs.weights, minlength=engine.R) * active
        gap_pairs = _Pairs(pairs.x, pairs.y, pairs.y_ref, pairs.offset, pairs.weights, pairs.beta, 0.0, pairs.loss)
        optimism = np.zeros((engine.R, engine.V))
        np.add.at(optimism, (rows_r[:, 0], toks_r[:, 0]), pairs.alpha * pairs.weights)
        optimism[rows, k] -= pairs.alpha * row_weight

        def fun(u):
            U = u.reshape(engine.R, engine.V)
            logp = engine.log_softmax(U)
            value, g_y, g_r = _pair_value_and_coeffs(engine.ell(logp, rows_y, toks_y),
                                                     engine.ell(logp, rows_r, toks_r), gap_pairs)
            grad = engine.grad(logp, rows_y, toks_y, g_y) + engine.grad(logp, rows_r, toks_r, g_r) + optimism
            value += float(np.sum(optimism * U))
            return self.scale * value + self.lam * (u @ u), self.scale * grad.ravel() + 2.0 * self.lam * u

        return _minimise_in_box(fun, np.zeros(engine.R * engine.V), self.bound, self.options).x


def _minimise_in_box(fun, u0: np.ndarray, bound: float, options: dict, rounds: int = 8, gtol: float = 1e-10):
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


def _box_start(log_probs: np.ndarray, anchor: np.ndarray, bound: float) -> np.ndarray:
    """``u`` with ``softmax(anchor + u) ≈ exp(log_probs)`` row by row, moved into the box (a start only)."""
    finite = np.isfinite(log_probs) & np.isfinite(anchor)
    u = np.where(finite, log_probs - np.where(finite, anchor, 0.0), -np.inf)
    top = np.max(u, axis=1, keepdims=True)
    u = np.where(finite, u - np.where(np.isfinite(top), top, 0.0), -bound)
    return np.clip(u, -bound, bound)


def _lbfgs_options(maxiter: int) -> dict:
    return {"maxiter": maxiter, "maxfun": 4 * maxiter, "ftol": 1e-15, "gtol": 1e-11, "maxcor": 30}


# --------------------------------------------------------------------------- tabular class


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
    - XPO is non-convex (``log π(y'|x)`` is concave in ``u``). Since
      ``max_v ≤ log Σ_v exp ≤ max_v + log|Y|``, replacing ``−log Σ_v exp(A+u)``
      by ``−(A_k + u_k)`` gives, for each response ``k``, a convex surrogate
      within ``α·Σ w·log|Y|`` of the objective; its minimiser is a start. The
      ``k`` tried in a prompt are its compared responses and one never-compared
      response (``J ≤ min(|Y|, 2·n_x + 1)`` surrogates). L-BFGS-B runs from
      those starts, ``u = 0`` (the anchor), the DPO regression solution,
      ``init`` if given and ``n_restarts`` random starts ``u ~ Uniform[−1, 1]``;
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
      random_state: seed of the XPO restarts (``None``, int or Generator).
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

    def __init__(self, n_contexts: int, n_responses: int, *, unseen: str = "uniform", base=None,
                 logit_bound: float = 50.0, ridge: float = 1e-10, n_restarts: int = 2,
                 random_state=None, maxiter: int = 5000):
        self.n_contexts = check_int(n_contexts, "n_contexts", minimum=1)
        self.n_responses = check_int(n_responses, "n_responses", minimum=1)
        if unseen not in _UNSEEN_RULES:
            raise ValueError(f"unseen must be one of {_UNSEEN_RULES}; got {unseen!r}")
        self.unseen = unseen
        self.base = None if base is None else as_tabular(base, "base")
        if unseen == "base" and self.base is None:
            raise ValueError("base is required when unseen='base'")
        if self.base is not None and self.base.log_probs.shape != (self.n_contexts, self.n_responses):
            raise ValueError(f"base must have shape ({self.n_contexts}, {self.n_responses}); "
                             f"got {self.base.log_probs.shape}")
        self.logit_bound = check_real(logit_bound, "logit_bound", low=0.0, low_open=True)
        self.ridge = check_real(ridge, "ridge", low=0.0)
        self.n_restarts = check_int(n_restarts, "n_restarts", minimum=0)
        check_rng(random_state)  # validate now; a fresh generator is made per fit
        self.random_state = random_state
        self.maxiter = check_int(maxiter, "maxiter", minimum=1)
        self.solver_info_ = self.params_ = None

    @property
    def anchor_log_probs(self) -> np.ndarray:
        """Log-probabilities ``[X, Y]`` of the uniform law or of ``base`` (per ``unseen``)."""
        if self.unseen == "base":
            return self.base.log_probs
        return np.full((self.n_contexts, self.n_responses), -np.log(self.n_responses))

    def _fit_mle(self, x, y, w):
        counts = np.bincount(x * self.n_responses + y, weights=w, minlength=self.n_contexts * self.n_responses)
        counts = counts.reshape(self.n_contexts, self.n_responses)
        totals = counts.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore"):
            log_freq = np.log(counts) - np.log(np.where(totals > 0, totals, 1.0))
        return TabularPolicy.from_log_probs(np.where(totals > 0, log_freq, self.anchor_log_probs))

    def _fit_pairs(self, pairs: _Pairs, init):
        engine = _RowSoftmax(self.anchor_log_probs)
        data = (pairs.x[:, None], pairs.y[:, None], pairs.x[:, None], pairs.y_ref[:, None])
        _check_anchor_support(engine, data[0], data[1], "y")
        _check_anchor_support(engine, data[2], data[3], "y_ref")
        self.solver_info_ = None
        if pairs.loss == "squared":
            U = _min_norm_tabular_regression(engine.anchor, pairs)
            if U is None or not (pairs.alpha == 0 and np.max(np.abs(U)) <= self.logit_bound):
                start = None if U is None else np.clip(U, -self.logit_bound, self.logit_bound)  # a start only
                U = self._iterate(engine, data, pairs, start, init)
        else:
            U = self._iterate(engine, data, pairs, None, init)
        self.params_ = U
        return TabularPolicy.from_log_probs(engine.log_softmax(U))

    def _iterate(self, engine, data, pairs, regression_start, init):
        problem = _BoxProblem(engine, data, pairs, self.logit_bound, self.ridge, _lbfgs_options(self.maxiter))
        starts = [np.zeros((engine.R, engine.V))]
        if regression_start is not None:
            starts.append(regression_start)
        if pairs.alpha > 0:
            if init is not None:
                starts.append(self._start_from(init, engine))
            rng = check_rng(self.random_state)
            starts += [rng.uniform(-1.0, 1.0, (engine.R, engine.V)) * min(self.logit_bound, 1.0)
                       for _ in range(self.n_restarts)]
            starts += [problem.dominant_start(k) for k in problem.dominant_candidates()]
        results = problem.solve(starts)
        if len(results) > 1:
            # Prompts do not interact: keep each prompt's best row over all local solutions, then polish.
            candidates = np.stack([r.x.reshape(engine.R, engine.V) for r in results])
            best_rows = np.argmin(np.stack([problem.row_values(U) for U in candidates]), axis=0)
            results += problem.solve([candidates[best_rows, np.arange(engine.R)]])
        best = min(results, key=lambda r: r.fun)
        self.solver_info_ = best
        return best.x.reshape(engine.R, engine.V)

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
        return (f"TabularClass(n_contexts={self.n_contexts}, n_responses={self.n_responses}, "
                f"unseen={self.unseen!r})")


# --------------------------------------------------------------------------- linear softmax class


class _LinearEngine:
    """``log π_θ(y|x) = ⟨φ(x,y), θ⟩ − log Σ_y' exp⟨φ(x,y'), θ⟩`` and its gradient in ``θ``."""

    def __init__(self, features: np.ndarray):
        self.features = features
        self.n_contexts = features.shape[0]

    def log_softmax(self, theta: np.ndarray) -> np.ndarray:
        return linear_log_probs(self.features, theta)

    def grad(self, logp: np.ndarray, x: np.ndarray, y: np.ndarray, g: np.ndarray) -> np.ndarray:
        """``Σ_i g_i (φ(x_i, y_i) − E_{π_θ(·|x_i)} φ)``, aggregated per prompt."""
        mass = np.bincount(x, weights=g, minlength=self.n_contexts)
        mean_features = np.einsum("xy,xyd->xd", np.exp(logp), self.features)
        return g @ self.features[x, y] - mass @ mean_features


def _uniform_in_ball(rng: np.random.Generator, dim: int, radius: float) -> np.ndarray:
    direction = rng.standard_normal(dim)
    direction /= max(np.linalg.norm(direction), np.finfo(float).tiny)
    return radius * rng.random() ** (1.0 / dim) * direction


def _ball_constrained_least_squares(A: np.ndarray, b: np.ndarray, radius: float) -> np.ndarray:
    """``argmin ‖Aθ − b‖²`` over ``‖θ‖ ≤ radius``: the minimum-norm solution, exactly.

    If the minimum-norm least-squares solution is in the ball it is returned;
    otherwise the solution is ``θ(λ) = (AᵀA + λI)⁻¹Aᵀb`` with the unique
    ``λ > 0`` giving ``‖θ(λ)‖ = radius`` (the secular equation, solved with
    Brent's method on the SVD).
    """
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    keep = s > s.max(initial=0.0) * max(A.shape) * np.finfo(float).eps
    s, c, Vt = s[keep], (U.T @ b)[keep], Vt[keep]
    if np.linalg.norm(c / s) <= radius:  # ‖θ_ls‖, as the rows of Vt are orthonormal
        return Vt.T @ (c / s)

    def excess(lam):
        return np.linalg.norm(s * c / (s**2 + lam)) - radius

    lam_hi = 2.0 * np.linalg.norm(s * c) / radius  # ‖θ(λ)‖ ≤ ‖Aᵀb‖/λ = radius/2 there
    lam = brentq(excess, 0.0, lam_hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500)
    return Vt.T @ (s * c / (s**2 + lam))


class LinearSoftmaxClass(ModelClass):
    """Linear softmax models ``Π_{φ,B} = {π_θ : ‖θ‖₂ ≤ B}`` (Definition J.3).

    - ``fit_mle``: the log-likelihood is concave in ``θ``; SLSQP with analytic
      gradients and the constraint ``‖θ‖² ≤ B²`` (a convex problem, so the KKT
      point found is the global maximiser).
    - ``fit_regression``: ``Δ_{π_θ}(x, y, y') = β⟨φ(x,y) − φ(x,y'), θ⟩`` (the
      normalisers cancel), so the DPO regression is linear least squares in
      ``θ``, solved exactly: the minimum-norm solution when it satisfies the
      bound (non-identified directions, orthogonal to every observed feature
      difference, are 0), else the boundary solution of the secular equation.
      With ``target = log π_base(y) − log π_base(y')`` and ``π_base = π_θ*``
      this is the projection of ``(1 + 1/β)θ*`` on the span of the observed
      feature differences (``π*_β`` itself when they span ``R^d``).
    - ``fit_logistic_dpo``: convex; SLSQP from ``θ = 0``.
    - ``fit_xpo``: non-convex (``α log π_θ(y'|x)`` is concave in ``θ``): SLSQP
      from ``θ = 0``, the regression solution, ``init`` and ``n_restarts``
      points uniform in the ball; the best objective is kept.

    SLSQP's last iterate may overshoot the bound by its constraint tolerance
    (``~1e-10``); it is then rescaled onto the sphere ``‖θ‖ = B``.

    Args:
      features: ``φ`` ``[n_contexts, n_responses, d]``, ``‖φ(x,y)‖₂ ≤ 1``.
      B: the norm bound ``> 0``.
      n_restarts: random XPO restarts (default 4).
      random_state: seed of the XPO restarts.
      maxiter: SLSQP iteration cap per start (default 1000).

    Attributes:
      features, B, dim, solver_info_ (scipy's result of the last iterative solve).

    Example:
      >>> import numpy as np, sharpsim as ss
      >>> phi = np.eye(3)[None] * 0.5               # one prompt, three responses, d = 3
      >>> cls = ss.LinearSoftmaxClass(phi, B=10.0)
      >>> pi = cls.fit_mle([0, 0, 0, 0], [0, 0, 1, 2])
      >>> pi.probs.round(4).tolist()
      [[0.5, 0.25, 0.25]]
    """

    def __init__(self, features, B: float, *, n_restarts: int = 4, random_state=None, maxiter: int = 1000):
        self.features = check_features(features)
        self.B = check_norm_bound(B)
        self.n_contexts, self.n_responses, self.dim = self.features.shape
        self.n_restarts = check_int(n_restarts, "n_restarts", minimum=0)
        check_rng(random_state)
        self.random_state = random_state
        self.maxiter = check_int(maxiter, "maxiter", minimum=1)
        self.solver_info_ = None
        self._engine = _LinearEngine(self.features)

    def policy(self, theta) -> LinearSoftmaxPolicy:
        """The member ``π_θ`` (raises ``ValueError`` if ``‖θ‖ > B``)."""
        return LinearSoftmaxPolicy(self.features, theta, B=self.B)

    def log_covering_number(self, eps: float) -> float:
        """``log N(Π, ε) ≤ d·log(6B/ε)`` in the max log-ratio metric (Lemma J.4); 0 when ``ε ≥ 6B``."""
        eps = check_real(eps, "eps", low=0.0, low_open=True)
        return float(self.dim * max(np.log(6.0 * self.B / eps), 0.0))

    # ---- solvers ----------------------------------------------------------

    def _fit_mle(self, x, y, w):
        def fun(theta):
            logp = self._engine.log_softmax(theta)
            return -float(w @ logp[x, y]), -self._engine.grad(logp, x, y, w)

        return self.policy(self._slsqp(fun, [np.zeros(self.dim)], w.sum()))

    def _regression_theta(self, pairs: _Pairs) -> np.ndarray:
        diff = self.features[pairs.x, pairs.y] - self.features[pairs.x, pairs.y_ref]
        root_w = np.sqrt(pairs.weights)
        return _ball_constrained_least_squares(pairs.beta * root_w[:, None] * diff, root_w * pairs.offset, self.B)

    def _fit_pairs(self, pairs: _Pairs, init):
        self.solver_info_ = None
        if pairs.loss == "squared" and pairs.alpha == 0:
            return self.policy(self._feasible(self._regression_theta(pairs)))
        x, y, yr = pairs.x, pairs.y, pairs.y_ref

        def fun(theta):
            logp = self._engine.log_softmax(theta)
            value, g_y, g_r = _pair_value_and_coeffs(logp[x, y], logp[x, yr], pairs)
            return value, self._engine.grad(logp, x, y, g_y) + self._engine.grad(logp, x, yr, g_r)

        starts = [np.zeros(self.dim)]
        if pairs.loss == "squared":  # XPO
            starts.append(self._regression_theta(pairs))
            if init is not None:
                starts.append(self._start_from(init))
            rng = check_rng(self.random_state)
            starts += [_uniform_in_ball(rng, self.dim, self.B) for _ in range(self.n_restarts)]
        return self.policy(self._slsqp(fun, starts, pairs.weights.sum()))

    def _start_from(self, init) -> np.ndarray:
        if not isinstance(init, LinearSoftmaxPolicy) or init.features.shape != self.features.shape:
            raise TypeError("init must be a LinearSoftmaxPolicy with the class's features")
        return self._feasible(np.array(init.theta))

    def _feasible(self, theta: np.ndarray) -> np.ndarray:
        norm = np.linalg.norm(theta)
        # A solver's constraint slack (~1e-10 relative) is undone by rescaling onto the sphere.
        return theta * (self.B / norm) if norm > self.B else theta

    def _slsqp(self, fun, starts, total_weight: float) -> np.ndarray:
        """Minimise ``fun`` (value, grad) over ``‖θ‖ ≤ B`` from each start; the best feasible point."""
        scale = 1.0 / max(total_weight, np.finfo(float).tiny)
        B2 = self.B**2

        def scaled(theta):
            value, grad = fun(theta)
            return scale * value, scale * grad

        constraint = {"type": "ineq", "fun": lambda t: (B2 - t @ t) / B2, "jac": lambda t: -2.0 * t / B2}
        best, best_value = None, np.inf
        for theta0 in starts:
            res = minimize(scaled, self._feasible(np.asarray(theta0, dtype=float)), jac=True, method="SLSQP",
                           constraints=[constraint], options={"maxiter": self.maxiter, "ftol": 1e-15})
            theta = self._feasible(res.x)
            value = scaled(theta)[0]
            if best is None or value < best_value:
                best, best_value, self.solver_info_ = theta, value, res
        return best

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
        """
        lp = np.asarray(log_probs, dtype=float)
        if lp.shape != (self.n_contexts, self.n_responses) or not np.all(np.isfinite(lp)):
            raise ValueError(f"log_probs must be finite with shape ({self.n_contexts}, {self.n_responses})")
        target = (lp - lp.mean(axis=1, keepdims=True)).ravel()
        design = (self.features - self.features.mean(axis=1, keepdims=True)).reshape(-1, self.dim)
        theta = self._feasible(_ball_constrained_least_squares(design, target, self.B))
        return theta, float(np.max(np.abs(design @ theta - target)))

    def __repr__(self) -> str:
        return (f"LinearSoftmaxClass(n_contexts={self.n_contexts}, n_responses={self.n_responses}, "
                f"dim={self.dim}, B={self.B})")


# --------------------------------------------------------------------------- autoregressive classes


def _check_unseen(unseen: str) -> str:
    if unseen not in _UNSEEN_RULES:
        raise ValueError(f"unseen must be one of {_UNSEEN_RULES}; got {unseen!r}")
    return unseen


class PrefixTreeClass(ModelClass):
    """Every autoregressive model over ``V^H``: one free next-token law per (prompt, prefix).

    A full prefix tree realises any joint law over sequences, so this class is
    the tabular class over the ``V**H`` sequences, seen autoregressively. The
    MLE is the empirical joint per prompt, whose conditionals are the
    empirical next-token frequencies after each observed prefix (prefixes never
    observed carry no mass). Every fit delegates to a :class:`TabularClass`
    over encoded sequences (same ``unseen`` rule, anchor, logit box and
    solvers) and returns a :class:`~sharpsim.JointAutoregressivePolicy`.

    Args:
      n_contexts, vocab_size, horizon: ``|X|``, ``V``, ``H`` (``V**H`` at most
        ``MAX_ENUMERATION``).
      unseen, base, logit_bound, ridge, n_restarts, random_state, maxiter: as in
        :class:`TabularClass`; ``base`` may be any enumerable sequence policy.

    Example:
      >>> import sharpsim as ss
      >>> cls = ss.PrefixTreeClass(1, 2, 2)
      >>> pi = cls.fit_mle([0, 0, 0, 0], [[0, 1], [0, 1], [1, 0], [1, 1]])
      >>> pi.to_tabular().probs.tolist()
      [[0.0, 0.5, 0.25, 0.25]]
    """

    def __init__(self, n_contexts: int, vocab_size: int, horizon: int, *, unseen: str = "uniform", base=None,
                 **solver_options):
        self.vocab_size = check_int(vocab_size, "vocab_size", minimum=1)
        self.horizon = check_int(horizon, "horizon", minimum=1)
        if self.vocab_size**self.horizon > MAX_ENUMERATION:
            raise ValueError(f"vocab_size**horizon = {self.vocab_size**self.horizon} exceeds "
                             f"MAX_ENUMERATION = {MAX_ENUMERATION}")
        self.n_responses = self.vocab_size**self.horizon
        self._tabular = TabularClass(n_contexts, self.n_responses, unseen=unseen,
                                     base=None if base is None else as_tabular(base, "base"), **solver_options)
        self.n_contexts = self._tabular.n_contexts
        self.unseen = unseen

    @property
    def solver_info_(self):
        """scipy's result of the last iterative solve (``None`` after an exact one)."""
        return self._tabular.solver_info_

    def _wrap(self, table: TabularPolicy) -> JointAutoregressivePolicy:
        return JointAutoregressivePolicy(table, self.vocab_size, self.horizon)

    def _fit_mle(self, x, y, w):
        return self._wrap(self._tabular._fit_mle(x, encode_sequences(y, self.vocab_size), w))

    def _fit_pairs(self, pairs: _Pairs, init):
        encoded = _Pairs(pairs.x, encode_sequences(pairs.y, self.vocab_size),
                         encode_sequences(pairs.y_ref, self.vocab_size), pairs.offset, pairs.weights,
                         pairs.beta, pairs.alpha, pairs.loss)
        return self._wrap(self._tabular._fit_pairs(encoded, init))

    def contains(self, policy, atol: float = 1e-8) -> bool:
        """Always ``True`` for a policy over ``[n_contexts, V**H]`` (a prefix tree realises any joint)."""
        _check_atol(atol)
        return as_tabular(policy, "policy").log_probs.shape == (self.n_contexts, self.n_responses)

    def __repr__(self) -> str:
        return (f"PrefixTreeClass(n_contexts={self.n_contexts}, vocab_size={self.vocab_size}, "
                f"horizon={self.horizon}, unseen={self.unseen!r})")


class MarkovClass(ModelClass):
    """Position-dependent first-order Markov models (:class:`~sharpsim.MarkovPolicy`).

    ``π(y|x) = p(y_1|x) ∏_{h≥2} P_h(y_h | y_{h−1}, x)``: one free next-token law
    per *state* (prompt, position, previous token), not per prefix. A joint
    whose next token depends on more than the previous one is not in the
    class, so fitting it loses mass on the sequence mode — the representational
    gap behind Proposition E.2.

    - ``fit_mle``: exact; the log-likelihood splits over states, each solved by
      its empirical transition frequencies (one ``bincount``). States never
      visited (zero total weight) follow ``unseen``: ``"uniform"`` rows, or the
      rows of ``base`` (a :class:`~sharpsim.MarkovPolicy`).
    - Pair objectives: ``log π(y) − log π(y')`` no longer cancels the
      normalisers (different states), so even the DPO regression is
      non-convex. Logits ``π_h(·|s) ∝ π_anchor(·|s)·exp(u(s, ·))`` with
      ``|u| ≤ logit_bound``, a ridge ``ridge·β²·‖u‖²`` (non-identified logits
      stay at the anchor), L-BFGS-B with analytic gradients from ``u = 0``,
      ``init`` and ``n_restarts`` random starts ``u ~ Uniform[−1, 1]``; the best
      local solution is kept.

    Args:
      n_contexts, vocab_size, horizon: ``|X|``, ``V``, ``H``.
      unseen: ``"uniform"`` (default) or ``"base"``.
      base: :class:`~sharpsim.MarkovPolicy`, required when ``unseen="base"``.
      logit_bound, ridge, n_restarts, random_state, maxiter: as in :class:`TabularClass`.

    Example:
      >>> import sharpsim as ss
      >>> cls = ss.MarkovClass(1, 2, 2)
      >>> pi = cls.fit_mle([0, 0, 0, 0], [[0, 1], [0, 1], [1, 0], [1, 1]])
      >>> pi.initial.tolist(), pi.transition[0, 0].tolist()
      ([[0.5, 0.5]], [[0.0, 1.0], [0.5, 0.5]])
    """

    def __init__(self, n_contexts: int, vocab_size: int, horizon: int, *, unseen: str = "uniform", base=None,
                 logit_bound: float = 50.0, ridge: float = 1e-10, n_restarts: int = 2, random_state=None,
                 maxiter: int = 5000):
        self.n_contexts = check_int(n_contexts, "n_contexts", minimum=1)
        self.vocab_size = check_int(vocab_size, "vocab_size", minimum=1)
        self.horizon = check_int(horizon, "horizon", minimum=1)
        self.n_responses = self.vocab_size**self.horizon
        self.unseen = _check_unseen(unseen)
        if base is not None and not isinstance(base, MarkovPolicy):
            raise TypeError(f"base must be a MarkovPolicy; got {type(base).__name__}")
        if unseen == "base" and base is None:
            raise ValueError("base is required when unseen='base'")
        if base is not None and (base.n_contexts, base.vocab_size, base.horizon) != (
                self.n_contexts, self.vocab_size, self.horizon):
            raise ValueError("base must have the class's n_contexts, vocab_size and horizon")
        self.base = base
        self.logit_bound = check_real(logit_bound, "logit_bound", low=0.0, low_open=True)
        self.ridge = check_real(ridge, "ridge", low=0.0)
        self.n_restarts = check_int(n_restarts, "n_restarts", minimum=0)
        check_rng(random_state)
        self.random_state = random_state
        self.maxiter = check_int(maxiter, "maxiter", minimum=1)
        self.solver_info_ = self.params_ = None

    # ---- states ------------------------------------------------------------
    # Row x is the first-token law of prompt x; row X + (x·(H−1) + h)·V + v the
    # law of token h+1 after token v at position h (0-based).

    @property
    def n_states(self) -> int:
        """Number of next-token laws, ``X·(1 + (H−1)·V)``."""
        return self.n_contexts * (1 + (self.horizon - 1) * self.vocab_size)

    def _states(self, x: np.ndarray, seqs: np.ndarray) -> np.ndarray:
        """State index ``[n, H]`` in which each token of ``seqs [n, H]`` is emitted."""
        X, H, V = self.n_contexts, self.horizon, self.vocab_size
        h = np.arange(H - 1)
        later = X + ((x[:, None] * (H - 1) + h) * V + seqs[:, :-1])
        return np.concatenate([x[:, None], later], axis=1)

    def anchor_log_probs(self) -> np.ndarray:
        """``[n_states, V]`` log next-token laws of the uniform model or of ``base``."""
        if self.unseen == "uniform":
            return np.full((self.n_states, self.vocab_size), -np.log(self.vocab_size))
        with np.errstate(divide="ignore"):
            return np.concatenate([np.log(self.base.initial),
                                   np.log(self.base.transition).reshape(-1, self.vocab_size)])

    def _policy(self, log_probs: np.ndarray) -> MarkovPolicy:
        X, H, V = self.n_contexts, self.horizon, self.vocab_size
        probs = np.exp(log_probs)
        return MarkovPolicy(probs[:X], probs[X:].reshape(X, H - 1, V, V))

    # ---- solvers -----------------------------------------------------------

    def _fit_mle(self, x, y, w):
        states = self._states(x, y)
        V = self.vocab_size
        counts = np.bincount((states * V + y).ravel(), weights=np.repeat(w, self.horizon),
                             minlength=self.n_states * V).reshape(self.n_states, V)
        totals = counts.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore"):
            log_freq = np.log(counts) - np.log(np.where(totals > 0, totals, 1.0))
        return self._policy(np.where(totals > 0, log_freq, self.anchor_log_probs()))

    def _fit_pairs(self, pairs: _Pairs, init):
        engine = _RowSoftmax(self.anchor_log_probs())
        data = (self._states(pairs.x, pairs.y), pairs.y, self._states(pairs.x, pairs.y_ref), pairs.y_ref)
        _check_anchor_support(engine, data[0], data[1], "y")
        _check_anchor_support(engine, data[2], data[3], "y_ref")
        starts = [np.zeros((engine.R, engine.V))]
        if init is not None:
            starts.append(self._start_from(init, engine))
        rng = check_rng(self.random_state)
        starts += [rng.uniform(-1.0, 1.0, (engine.R, engine.V)) * min(self.logit_bound, 1.0)
                   for _ in range(self.n_restarts)]
        problem = _BoxProblem(engine, data, pairs, self.logit_bound, self.ridge, _lbfgs_options(self.maxiter))
        self.solver_info_ = min(problem.solve(starts), key=lambda r: r.fun)
        U = self.params_ = self.solver_info_.x.reshape(engine.R, engine.V)
        return self._policy(engine.log_softmax(U))

    def _start_from(self, init, engine) -> np.ndarray:
        if not isinstance(init, MarkovPolicy) or (init.n_contexts, init.vocab_size, init.horizon) != (
                self.n_contexts, self.vocab_size, self.horizon):
            raise TypeError("init must be a MarkovPolicy with the class's shape")
        with np.errstate(divide="ignore"):
            rows = np.concatenate([np.log(init.initial), np.log(init.transition).reshape(-1, self.vocab_size)])
        return _box_start(rows, engine.anchor, self.logit_bound)

    def contains(self, policy, atol: float = 1e-8) -> bool:
        """Whether ``policy`` is first-order Markov: its joint equals ``m_1(y_1) ∏_h P(y_{h+1} | y_h)``.

        The conditionals are the policy's own pairwise ones; a joint is a
        position-dependent Markov chain exactly when this product reproduces it
        (equal supports, log-probabilities within ``atol``). Needs ``V**H`` small
        enough to enumerate.

        Example:
          >>> import sharpsim as ss
          >>> joint = ss.JointAutoregressivePolicy([[0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5]], 2, 3)
          >>> ss.MarkovClass(1, 2, 3).contains(joint)
          True
          >>> ss.MarkovClass(1, 2, 3).contains(ss.JointAutoregressivePolicy([[0.5, 0, 0, 0, 0, 0.5, 0, 0]], 2, 3))
          False
        """
        atol = _check_atol(atol)
        table = as_tabular(policy, "policy")
        if table.log_probs.shape != (self.n_contexts, self.n_responses):
            return False
        markov = _markov_projection(table.log_probs, self.vocab_size, self.horizon)
        return _same_law(table, TabularPolicy.from_log_probs(markov, atol=1e-6), atol)

    def __repr__(self) -> str:
        return (f"MarkovClass(n_contexts={self.n_contexts}, vocab_size={self.vocab_size}, "
                f"horizon={self.horizon}, unseen={self.unseen!r})")


def _markov_projection(log_joint: np.ndarray, vocab: int, horizon: int) -> np.ndarray:
    """``log m_1(y_1) + Σ_h log P(y_{h+1}|y_h)`` ``[X, V**H]`` from a joint's own marginals."""
    X = log_joint.shape[0]
    if horizon == 1:
        return log_joint
    cube = log_joint.reshape((X,) + (vocab,) * horizon)
    axes = tuple(range(1, horizon + 1))
    with np.errstate(divide="ignore"):
        single = [logsumexp(cube, axis=tuple(a for a in axes if a != h + 1)) for h in range(horizon)]
        out = single[0].reshape((X, vocab) + (1,) * (horizon - 1))
        for h in range(horizon - 1):
            pair = logsumexp(cube, axis=tuple(a for a in axes if a not in (h + 1, h + 2)))  # [X, V, V]
            reachable = np.isfinite(single[h])[..., None]
            # Unreachable previous tokens get -inf (their mass is 0 under both laws).
            cond = np.where(reachable, pair - np.where(reachable, single[h][..., None], 0.0), -np.inf)
            shape = (X,) + (1,) * h + (vocab, vocab) + (1,) * (horizon - h - 2)
            out = out + cond.reshape(shape)
    return out.reshape(X, -1)
