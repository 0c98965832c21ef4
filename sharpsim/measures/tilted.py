"""The KL-regularised optimum ``π*_β``, its objective ``J_β`` and the KL divergence (Eq. (3), Sec. 4.2)."""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from .._validation import check_mu
from ..policies.tabular import TabularPolicy, as_tabular
from ._common import (
    _by_row_blocks,
    _check_beta,
    _check_same_shape,
    _log_ratio,
    _reward_table,
    _weighted_sum,
)

__all__ = ["kl_divergence", "tilted", "regularized_objective"]


def kl_divergence(p, q, mu=None, per_prompt=False):
    """``E_{x~μ}[KL(p(·|x) ‖ q(·|x))]`` (the KL of Eq. 3), with ``0·log 0 = 0``.

    ``+inf`` wherever ``p`` has mass that ``q`` lacks. Each response
    contributes ``p·log(p/q) - p + q`` (``≥ 0`` term by term, summing to the
    KL for normalised rows), evaluated as ``p·(r + expm1(-r))`` with
    ``r = log(p/q)`` near ``r = 0`` so that rounding never makes the result
    negative and ``KL(p ‖ p) = 0`` exactly.

    Args:
      p, q: policies of the same shape ``[n_contexts, n_responses]``.
      mu: prompt distribution ``[n_contexts]``; ``None`` is uniform.
      per_prompt: if true, return the per-prompt divergences (``mu`` is then
        only validated).

    Returns:
      float in ``[0, inf]``, or float array ``[n_contexts]`` if ``per_prompt``.

    Example:
      >>> import sharpsim as ss
      >>> p = ss.TabularPolicy([[0.5, 0.5], [1.0, 0.0]])
      >>> q = ss.TabularPolicy([[0.25, 0.75], [0.5, 0.5]])
      >>> ss.kl_divergence(p, q, per_prompt=True).round(6).tolist()   # [0.5·ln(4/3), ln 2]
      [0.143841, 0.693147]
      >>> ss.kl_divergence(q, p, mu=[0.0, 1.0])
      inf
    """
    p_tab = as_tabular(p, "p")
    q_tab = as_tabular(q, "q")
    _check_same_shape(p_tab, q_tab, "p", "q")
    mu = check_mu(mu, p_tab.n_contexts)
    if not isinstance(per_prompt, (bool, np.bool_)):
        raise TypeError(f"per_prompt must be a bool; got {type(per_prompt).__name__}")
    per = _by_row_blocks(_kl_rows, p_tab.log_probs, q_tab.log_probs)
    if per_prompt:
        return per
    return _weighted_sum(per, mu)


def _kl_rows(log_p: np.ndarray, log_q: np.ndarray) -> np.ndarray:
    ratio = _log_ratio(log_p, log_q)  # -inf off the support of p, +inf where q = 0 < p
    p, q = np.exp(log_p), np.exp(log_q)
    with np.errstate(over="ignore", invalid="ignore"):
        # Near r = 0, p·(r + expm1(-r)) avoids the cancellation in p·r - p + q; for
        # r ≤ -1 (q ≥ e·p) or r = +inf the direct form is accurate and >= 0. Both are
        # evaluated everywhere and the unused (possibly NaN) branch is discarded.
        near = p * (ratio + np.expm1(-ratio))
        far = p * ratio - p + q
    terms = np.where(ratio > -1.0, np.where(ratio < np.inf, near, np.inf), far)
    terms = np.where(log_p > -np.inf, terms, q)  # off the support of p a response contributes q
    return np.sum(terms, axis=1)


def tilted(pi, beta, reward=None) -> TabularPolicy:
    """The KL-regularised optimum ``π*_β(y|x) ∝ π(y|x)·exp(r(x,y)/β)`` (Sec. 4.2, maximiser of Eq. 3).

    With ``reward=None`` the reward is ``r = log π`` (maximum-likelihood
    sharpening, Eq. 2), giving the power model ``π*_β ∝ π^(1+1/β)``, which
    tends to the uniform distribution on ``y*(x)`` as ``β → 0``. As ``β → ∞``,
    ``π*_β → π`` because ``r/β → 0`` on the support of ``π`` (for any bounded
    reward, ``|log π*_β - log π| ≤ (max r - min r)/β`` there).

    Computed in log space as ``(u - max u)/β`` with ``u = β·log π + r``, then
    normalised with log-sum-exp: the mode keeps log-weight 0, so ``β = 1e-12``
    and masses of ``1e-300`` give no underflow of the normaliser and no NaN.
    Responses with ``π(y|x) = 0`` stay at 0 whatever the reward.

    Args:
      pi: the base policy ``[n_contexts, n_responses]``.
      beta: regularisation ``β > 0``.
      reward: ``None`` (``log π``), a real array ``[n_contexts, n_responses]``,
        or an object with a ``table(base)`` method returning one (called with
        ``pi`` as passed). ``-inf`` is allowed and gives the response mass 0
        (a forbidden response); ``+inf`` and NaN are not. Values where
        ``π = 0`` are ignored. Every prompt needs a response with ``π > 0``
        and a finite reward.

    Returns:
      :class:`~sharpsim.TabularPolicy` with the same shape as ``pi``.

    Example:
      >>> import sharpsim as ss
      >>> pi = ss.TabularPolicy([[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]])
      >>> ss.tilted(pi, 1.0).probs.round(4).tolist()   # π² / Σ π²
      [[0.6579, 0.2368, 0.1053], [0.4444, 0.4444, 0.1111]]
      >>> ss.tilted(pi, 1e-12).probs.round(4).tolist()   # uniform on y*(x)
      [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]]
    """
    tab = as_tabular(pi, "pi")
    beta = _check_beta(beta)
    rewards = _reward_table(reward, pi, tab)
    log_probs = _by_row_blocks(lambda lp, r: _tilted_rows(lp, r, beta), tab.log_probs, rewards)
    if np.any(np.all(log_probs == -np.inf, axis=1)):
        row = int(np.argmax(np.all(log_probs == -np.inf, axis=1)))
        raise ValueError(f"reward is -inf on every response with positive mass in row {row}")
    return TabularPolicy.from_log_probs(log_probs)


def _tilted_rows(log_probs: np.ndarray, rewards: np.ndarray, beta: float) -> np.ndarray:
    if beta > 1.0:
        # β·log π could overflow for huge β; r/β cannot, and the same shift-and-normalise follows.
        return _tilted_rows(log_probs + rewards / beta, np.zeros(log_probs.shape), 1.0)
    # u = β·(log π + r/β); off the support log π = -inf gives -inf whatever r (r ≠ +inf).
    u = beta * log_probs + rewards
    top = np.max(u, axis=1, keepdims=True)
    dead = top[:, 0] == -np.inf
    top[dead] = 0.0  # rows with no admissible response: reported by the caller
    with np.errstate(over="ignore"):
        logits = (u - top) / beta  # <= 0, exactly 0 at the best response; may round to -inf
    norm = logsumexp(logits, axis=1, keepdims=True)
    norm[dead] = 0.0
    return logits - norm


def regularized_objective(pi, base, beta, reward=None, mu=None) -> float:
    """``J_β(π) = E_{x~μ, y~π}[r(x,y)] - β·E_{x~μ}[KL(π(·|x) ‖ π_base(·|x))]`` (Eq. 3).

    Its maximiser over all models is :func:`tilted` ``(base, beta, reward)``,
    and ``J_β(π*_β) - J_β(π) = β·KL(π ‖ π*_β)`` (proof of Theorem J.1).
    ``-inf`` when ``π`` puts mass where ``π_base`` has none or where the
    reward is ``-inf``.

    Args:
      pi: the model ``π`` evaluated, ``[n_contexts, n_responses]``.
      base: ``π_base``, same shape.
      beta: regularisation ``β > 0``.
      reward: ``None`` (``log π_base``), a real array ``[n_contexts, n_responses]``
        (``-inf`` allowed, no NaN/``+inf``), or an object with ``table(base)``.
      mu: prompt distribution ``[n_contexts]``; ``None`` is uniform.

    Returns:
      float in ``[-inf, inf)``.

    Example:
      >>> import sharpsim as ss
      >>> base = ss.TabularPolicy([[0.5, 0.5]])
      >>> round(ss.regularized_objective(base, base, beta=1.0), 6)   # E[log 0.5] - 0
      -0.693147
    """
    tab = as_tabular(pi, "pi")
    base_tab = as_tabular(base, "base")
    _check_same_shape(tab, base_tab, "pi", "base")
    beta = _check_beta(beta)
    rewards = _reward_table(reward, base, base_tab)
    mu = check_mu(mu, tab.n_contexts)
    expected_reward = _by_row_blocks(_expected_reward_rows, tab.log_probs, rewards)
    kl = _by_row_blocks(_kl_rows, tab.log_probs, base_tab.log_probs)
    # Both infinities push J the same way (to -inf), so no inf - inf can arise.
    return _weighted_sum(expected_reward - beta * kl, mu)


def _expected_reward_rows(log_probs: np.ndarray, rewards: np.ndarray) -> np.ndarray:
    on_support = log_probs > -np.inf
    terms = np.zeros(log_probs.shape)
    finite = on_support & (rewards > -np.inf)
    np.multiply(np.exp(log_probs), rewards, out=terms, where=finite)
    # A mass that underflows to 0 is still positive: a -inf reward there makes E[r] = -inf.
    terms[on_support & ~finite] = -np.inf
    return np.sum(terms, axis=1)
