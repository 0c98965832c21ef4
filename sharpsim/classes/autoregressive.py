"""Autoregressive classes over token sequences ``V^H``: prefix trees and first-order Markov models.

:class:`PrefixTreeClass` realises every joint law (a :class:`TabularClass` over
encoded sequences); :class:`MarkovClass` keeps one next-token law per state,
the representational gap behind Proposition E.2.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import logsumexp

from .._validation import check_int, check_real, check_rng
from ..policies.autoregressive import JointAutoregressivePolicy, MarkovPolicy
from ..policies.base import MAX_ENUMERATION, encode_sequences
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
from .base import _UNSEEN_RULES, ModelClass, _check_atol, _same_law
from .tabular import TabularClass

__all__ = ["PrefixTreeClass", "MarkovClass"]


#: Keyword arguments :class:`PrefixTreeClass` hands to its :class:`TabularClass`.
_SOLVER_OPTIONS = ("logit_bound", "ridge", "n_restarts", "random_state", "maxiter")


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

    vocab_size: int
    horizon: int

    def __init__(
        self,
        n_contexts: int,
        vocab_size: int,
        horizon: int,
        *,
        unseen: str = "uniform",
        base=None,
        **solver_options,
    ):
        self.vocab_size = check_int(vocab_size, "vocab_size", minimum=1)
        self.horizon = check_int(horizon, "horizon", minimum=1)
        if self.vocab_size**self.horizon > MAX_ENUMERATION:
            raise ValueError(
                f"vocab_size**horizon = {self.vocab_size**self.horizon} exceeds "
                f"MAX_ENUMERATION = {MAX_ENUMERATION}"
            )
        self.n_responses = self.vocab_size**self.horizon
        unknown = sorted(set(solver_options) - set(_SOLVER_OPTIONS))
        if unknown:
            raise TypeError(
                f"PrefixTreeClass got unexpected keyword argument(s) {unknown}; "
                f"solver options are {list(_SOLVER_OPTIONS)}"
            )
        self._tabular = TabularClass(
            n_contexts,
            self.n_responses,
            unseen=unseen,
            base=None if base is None else as_tabular(base, "base"),
            **solver_options,
        )
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

    def _fit_pairs(self, pairs: _Pairs, init, rng=None, warm_start=False):
        encoded = _Pairs(
            pairs.x,
            encode_sequences(pairs.y, self.vocab_size),
            encode_sequences(pairs.y_ref, self.vocab_size),
            pairs.offset,
            pairs.weights,
            pairs.beta,
            pairs.alpha,
            pairs.loss,
        )
        return self._wrap(self._tabular._fit_pairs(encoded, init, rng, warm_start))

    def contains(self, policy, atol: float = 1e-8) -> bool:
        """Always ``True`` for a policy over ``[n_contexts, V**H]`` (a prefix tree realises any joint)."""
        _check_atol(atol)
        return as_tabular(policy, "policy").log_probs.shape == (self.n_contexts, self.n_responses)

    def __repr__(self) -> str:
        return (
            f"PrefixTreeClass(n_contexts={self.n_contexts}, vocab_size={self.vocab_size}, "
            f"horizon={self.horizon}, unseen={self.unseen!r})"
        )


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
      ``init`` and ``n_restarts`` random starts ``u ~ Uniform[−1, 1]`` (from
      :meth:`~ModelClass.restart_rng`; ``warm_start=True`` keeps only ``init``);
      the best local solution is kept. Only states the data visit enter the
      solve; the others stay at the anchor.

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

    vocab_size: int
    horizon: int
    base: MarkovPolicy | None

    def __init__(
        self,
        n_contexts: int,
        vocab_size: int,
        horizon: int,
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
        self.vocab_size = check_int(vocab_size, "vocab_size", minimum=1)
        self.horizon = check_int(horizon, "horizon", minimum=1)
        self.n_responses = self.vocab_size**self.horizon
        self.unseen = _check_unseen(unseen)
        if base is not None and not isinstance(base, MarkovPolicy):
            raise TypeError(f"base must be a MarkovPolicy; got {type(base).__name__}")
        if unseen == "base" and base is None:
            raise ValueError("base is required when unseen='base'")
        if base is not None and (base.n_contexts, base.vocab_size, base.horizon) != (
            self.n_contexts,
            self.vocab_size,
            self.horizon,
        ):
            raise ValueError("base must have the class's n_contexts, vocab_size and horizon")
        self.base = base
        self.logit_bound = check_real(logit_bound, "logit_bound", low=0.0, low_open=True)
        self.ridge = check_real(ridge, "ridge", low=0.0)
        self.n_restarts = check_int(n_restarts, "n_restarts", minimum=0)
        check_rng(random_state)
        self.random_state = random_state
        self.maxiter = check_int(maxiter, "maxiter", minimum=1)
        self.solver_info_: Any = None
        self.params_: np.ndarray | None = None

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
        assert self.base is not None  # the constructor requires it for unseen="base"
        with np.errstate(divide="ignore"):
            return np.concatenate(
                [
                    np.log(self.base.initial),
                    np.log(self.base.transition).reshape(-1, self.vocab_size),
                ]
            )

    def _policy(self, log_probs: np.ndarray) -> MarkovPolicy:
        X, H, V = self.n_contexts, self.horizon, self.vocab_size
        probs = np.exp(log_probs)
        return MarkovPolicy(probs[:X], probs[X:].reshape(X, H - 1, V, V))

    # ---- solvers -----------------------------------------------------------

    def _fit_mle(self, x, y, w):
        states = self._states(x, y)
        V = self.vocab_size
        counts = np.bincount(
            (states * V + y).ravel(),
            weights=np.repeat(w, self.horizon),
            minlength=self.n_states * V,
        ).reshape(self.n_states, V)
        totals = counts.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore"):
            log_freq = np.log(counts) - np.log(np.where(totals > 0, totals, 1.0))
        return self._policy(np.where(totals > 0, log_freq, self.anchor_log_probs()))

    def _fit_pairs(self, pairs: _Pairs, init, rng=None, warm_start=False):
        engine = _RowSoftmax(self.anchor_log_probs())
        data = (
            self._states(pairs.x, pairs.y),
            pairs.y,
            self._states(pairs.x, pairs.y_ref),
            pairs.y_ref,
        )
        _check_anchor_support(engine, data[0], data[1], "y")
        _check_anchor_support(engine, data[2], data[3], "y_ref")
        warm = [] if init is None else [self._start_from(init, engine)]
        cold = not (warm_start and warm)
        sub, sub_data, active = restrict_to_data(engine, data)
        U = np.zeros((engine.R, engine.V))
        self.solver_info_ = None
        if active.shape[0]:
            starts = [start[active] for start in ([U] if cold else []) + warm]
            if cold:
                gen = self.restart_rng(rng)
                starts += [rng_start(gen, sub, self.logit_bound) for _ in range(self.n_restarts)]
            problem = _BoxProblem(
                sub, sub_data, pairs, self.logit_bound, self.ridge, _lbfgs_options(self.maxiter)
            )
            self.solver_info_ = min(problem.solve(starts), key=lambda r: r.fun)
            U[active] = self.solver_info_.x.reshape(sub.R, sub.V)
        self.params_ = U
        return self._policy(engine.log_softmax(U))

    def _start_from(self, init, engine) -> np.ndarray:
        if not isinstance(init, MarkovPolicy) or (
            init.n_contexts,
            init.vocab_size,
            init.horizon,
        ) != (self.n_contexts, self.vocab_size, self.horizon):
            raise TypeError("init must be a MarkovPolicy with the class's shape")
        with np.errstate(divide="ignore"):
            rows = np.concatenate(
                [np.log(init.initial), np.log(init.transition).reshape(-1, self.vocab_size)]
            )
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
        return (
            f"MarkovClass(n_contexts={self.n_contexts}, vocab_size={self.vocab_size}, "
            f"horizon={self.horizon}, unseen={self.unseen!r})"
        )


def _markov_projection(log_joint: np.ndarray, vocab: int, horizon: int) -> np.ndarray:
    """``log m_1(y_1) + Σ_h log P(y_{h+1}|y_h)`` ``[X, V**H]`` from a joint's own marginals."""
    X = log_joint.shape[0]
    if horizon == 1:
        return log_joint
    cube = log_joint.reshape((X,) + (vocab,) * horizon)
    axes = tuple(range(1, horizon + 1))
    with np.errstate(divide="ignore"):
        single = [
            logsumexp(cube, axis=tuple(a for a in axes if a != h + 1)) for h in range(horizon)
        ]
        out = single[0].reshape((X, vocab) + (1,) * (horizon - 1))
        for h in range(horizon - 1):
            pair = logsumexp(
                cube, axis=tuple(a for a in axes if a not in (h + 1, h + 2))
            )  # [X, V, V]
            reachable = np.isfinite(single[h])[..., None]
            # Unreachable previous tokens get -inf (their mass is 0 under both laws).
            cond = np.where(
                reachable, pair - np.where(reachable, single[h][..., None], 0.0), -np.inf
            )
            shape = (X,) + (1,) * h + (vocab, vocab) + (1,) * (horizon - h - 2)
            out = out + cond.reshape(shape)
    return out.reshape(X, -1)
