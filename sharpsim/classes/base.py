"""The model-class interface :class:`ModelClass` and the pair objectives its classes solve.

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

What the concrete classes share lives beside it: validated pair data, weight
checks, the pair objective and its derivatives in :mod:`._pairs`; the law
comparison used by ``contains`` here.
"""

from __future__ import annotations

import numpy as np

from .._validation import PROB_ATOL, check_index_array, check_real, check_rng
from ..policies.tabular import TabularPolicy
from ._pairs import _check_vector, _check_weights, _fit_weights, _pair_objective, _Pairs, _rescaled

__all__ = ["ModelClass"]

_UNSEEN_RULES = ("uniform", "base")


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

        Example:
          >>> import sharpsim as ss
          >>> ss.TabularClass(1, 3).fit_mle([0, 0, 0, 0], [0, 0, 1, 2]).probs.tolist()
          [[0.5, 0.25, 0.25]]
        """
        x, y, w = self._check_sample(x, y, weights)
        return self._fit_mle(x, y, _fit_weights(w))

    def fit_regression(self, x, y, y_ref, target, beta, base, weights=None, *, rng=None):
        """DPO regression, Eq. (4) / Eq. (8): ``argmin Σ_i w_i (Δ_π(x_i, y_i, y'_i) − target_i)²``.

        Args:
          x: int array ``[n]``; y, y_ref: responses ``[n]`` (or ``[n, H]``).
          target: float array ``[n]``, ``r(x_i, y_i) − r(x_i, y'_i)``.
          beta: KL-regularisation ``β > 0``.
          base: the reference policy ``π_base``, or ``(log π_base(y|x), log π_base(y'|x))``.
          weights: non-negative float array ``[n]`` (``None``: ones).
          rng: seed of the solver's random restarts (classes that need them, e.g.
            :class:`MarkovClass`); see :meth:`restart_rng`.

        Returns:
          A policy of the class.

        Example:
          With ``r = log π_base`` and ``β = 1`` the fit matches ``π*_β ∝ π_base²`` on
          the compared pair: ``π̂(0)/π̂(1) = (0.5/0.25)² = 4``.

          >>> import numpy as np, sharpsim as ss
          >>> base = ss.TabularPolicy([[0.5, 0.25, 0.25]])
          >>> pi = ss.TabularClass(1, 3).fit_regression([0], [0], [1], [np.log(2.0)], 1.0, base)
          >>> round(float(pi.probs[0, 0] / pi.probs[0, 1]), 6)
          4.0
        """
        pairs = self._check_pairs(x, y, y_ref, target, beta, 0.0, base, weights, "squared")
        return self._fit_pairs(_rescaled(pairs), None, rng, False)

    def fit_xpo(
        self,
        x,
        y,
        y_ref,
        target,
        beta,
        alpha,
        base,
        weights=None,
        *,
        init=None,
        rng=None,
        warm_start=False,
    ):
        """XPO step (Algorithm 1): ``argmin α Σ_i w_i log π(y'_i|x_i) + Σ_i w_i (Δ_π − target_i)²``.

        The optimism term is concave in the logits, so the objective is
        non-convex; the solver keeps the best of several local solutions
        (see the class docstrings). ``y_ref`` holds the base samples ``ỹ``.

        Args:
          x, y, y_ref, target, beta, base, weights: as in :meth:`fit_regression`.
          alpha: optimism coefficient ``α ≥ 0`` (``0`` is the regression).
          init: optional policy of the class used as an extra starting point
            (e.g. the previous XPO iterate).
          rng: seed of the random restarts (``None``, int or Generator); see
            :meth:`restart_rng`.
          warm_start: if ``True`` and ``init`` is given, start only from ``init``
            and the DPO regression solution (no cold or random starts): several
            times faster, but a local solution near the previous iterate may be
            kept where a cold start would find a better one. Default ``False``.

        Returns:
          A policy of the class.

        Example:
          ``alpha = 0`` is the DPO regression (:meth:`fit_regression`).

          >>> import numpy as np, sharpsim as ss
          >>> base, cls = ss.TabularPolicy([[0.5, 0.25, 0.25]]), ss.TabularClass(1, 3)
          >>> xpo = cls.fit_xpo([0], [0], [1], [np.log(2.0)], 1.0, 0.0, base)
          >>> bool(np.allclose(xpo.probs, cls.fit_regression([0], [0], [1], [np.log(2.0)], 1.0, base).probs))
          True
        """
        alpha = check_real(alpha, "alpha", low=0.0)
        pairs = self._check_pairs(x, y, y_ref, target, beta, alpha, base, weights, "squared")
        if not isinstance(warm_start, (bool, np.bool_)):
            raise TypeError(f"warm_start must be a bool; got {type(warm_start).__name__}")
        return self._fit_pairs(_rescaled(pairs), init, rng, bool(warm_start))

    def fit_logistic_dpo(self, x, y_win, y_lose, beta, base, weights=None, *, rng=None):
        """Logistic (Bradley–Terry) DPO: ``argmin Σ_i w_i log(1 + exp(−Δ_π(x_i, y_win_i, y_lose_i)))``.

        Args:
          x: int array ``[n]``; y_win, y_lose: preferred and rejected responses.
          beta, base, weights, rng: as in :meth:`fit_regression`.

        Returns:
          A policy of the class.

        Example:
          Response 0 beats 1 in two of three comparisons, so at ``β = 1`` the
          implicit reward gap ``log 2`` adds to the base's: ``π̂(0)/π̂(1) = 2·2 = 4``.

          >>> import sharpsim as ss
          >>> base = ss.TabularPolicy([[0.5, 0.25, 0.25]])
          >>> pi = ss.TabularClass(1, 3).fit_logistic_dpo([0, 0, 0], [0, 0, 1], [1, 1, 0], 1.0, base)
          >>> round(float(pi.probs[0, 0] / pi.probs[0, 1]), 4)
          4.0
        """
        pairs = self._check_pairs(
            x, y_win, y_lose, None, beta, 0.0, base, weights, "logistic", names=("y_win", "y_lose")
        )
        return self._fit_pairs(_rescaled(pairs), None, rng, False)

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
        return float(
            _pair_objective(
                policy.log_prob(pairs.x, pairs.y), policy.log_prob(pairs.x, pairs.y_ref), pairs
            )
        )

    def restart_rng(self, rng=None) -> np.random.Generator:
        """The generator of a fit's random restarts.

        The class's own ``random_state`` when it was given explicitly (not
        ``None``); otherwise the ``rng`` of the call (``None``, int or
        Generator). The sharpening algorithms pass a generator derived from
        their own ``rng``, so a run with a seed is reproducible byte for byte.

        Example:
          >>> import sharpsim as ss
          >>> a = ss.TabularClass(1, 2).restart_rng(7).random()
          >>> b = ss.TabularClass(1, 2, random_state=7).restart_rng(3).random()
          >>> a == b
          True
        """
        own = getattr(self, "random_state", None)
        return check_rng(own if own is not None else rng)

    # ---- validation -----------------------------------------------------

    def _check_prompts(self, x) -> np.ndarray:
        x = check_index_array(x, "x", self.n_contexts)
        if x.ndim != 1:
            raise ValueError(f"x must be 1-d; got shape {x.shape}")
        return x

    def _check_responses(self, y, name: str, n: int) -> np.ndarray:
        want: tuple[int, ...]
        if self.horizon is None:
            assert self.n_responses is not None
            arr = check_index_array(y, name, self.n_responses)
            want = (n,)
        else:
            assert self.vocab_size is not None
            arr = check_index_array(y, name, self.vocab_size)
            want = (n, self.horizon)
        if arr.shape != want:
            raise ValueError(f"{name} must have shape {want} to match x; got {arr.shape}")
        return arr

    def _check_sample(self, x, y, weights):
        x = self._check_prompts(x)
        return x, self._check_responses(y, "y", x.shape[0]), _check_weights(weights, x.shape[0])

    def _check_pairs(
        self, x, y, y_ref, target, beta, alpha, base, weights, loss, names=("y", "y_ref")
    ):
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
                raise ValueError(
                    f"base given as log-likelihoods must be a pair of arrays; got {len(base)} items"
                )
            lb = [np.asarray(b, dtype=float) for b in base]
            for b, name in zip(lb, names):
                if b.shape != (n,):
                    raise ValueError(
                        f"base log-likelihoods of {name} must have shape ({n},); got {b.shape}"
                    )
        else:
            if not callable(getattr(base, "log_prob", None)):
                raise TypeError(
                    f"base must be a policy with log_prob or a pair of arrays; got {type(base).__name__}"
                )
            if getattr(base, "n_contexts", self.n_contexts) != self.n_contexts:
                raise ValueError(
                    f"base has n_contexts={base.n_contexts}; the class has {self.n_contexts}"
                )
            if (
                self.horizon is None
                and getattr(base, "n_responses", self.n_responses) != self.n_responses
            ):
                raise ValueError(
                    f"base has n_responses={base.n_responses}; the class has {self.n_responses}"
                )
            lb = [
                np.asarray(base.log_prob(x, y), dtype=float),
                np.asarray(base.log_prob(x, y_ref), dtype=float),
            ]
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

    def _fit_pairs(
        self, pairs: _Pairs, init, rng=None, warm_start=False
    ):  # pragma: no cover - abstract
        raise NotImplementedError

    def contains(self, policy, atol: float = 1e-8) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n_contexts={self.n_contexts}, n_responses={self.n_responses})"
        )


def _same_law(a: TabularPolicy, b: TabularPolicy, atol: float) -> bool:
    """Equal supports and ``|log a − log b| ≤ atol`` on them."""
    if a.log_probs.shape != b.log_probs.shape:
        return False
    fa, fb = np.isfinite(a.log_probs), np.isfinite(b.log_probs)
    return bool(
        np.array_equal(fa, fb) and np.all(np.abs(a.log_probs[fa] - b.log_probs[fb]) <= atol)
    )


def _check_atol(atol) -> float:
    return check_real(atol, "atol", low=0.0)
