"""How hard a world is to sharpen: coverage ``C_cov``, ``C_cov,γ,p``, ``C̄_cov``, margin, concentrability.

Eq. (6), App. D and App. H (coverage), Assumption 4.2 / J.2 (margin), Eq. (9)
(concentrability), all exact, in log space.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy.special import logsumexp

from .._validation import check_mu, check_real
from ..policies.tabular import as_tabular
from ._common import (
    _by_row_blocks,
    _check_beta,
    _check_gamma,
    _check_same_shape,
    _exp,
    _log_mean,
    _log_power_mean,
    _log_ratio,
)
from .modes import _log_mode_mass_rows, _mode_mask, log_mode_mass

__all__ = ["coverage", "adaptive_coverage", "margin", "concentrability"]

_MARGIN_ASSUMPTIONS = ("4.2", "J.2")


def _check_p(p) -> float:
    if isinstance(p, numbers.Real) and not isinstance(p, bool) and p == math.inf:
        return math.inf
    return check_real(p, "p", low=1.0)


def coverage(pi, mu=None, gamma=0.0, p=1) -> float:
    """Coverage ``C_cov,γ,p(π) = (E_{x~μ}[π(y*_γ(x)|x)^(-p)])^(1/p)`` (Eq. 6, App. F.1, App. H).

    ``gamma = 0, p = 1`` is the coverage coefficient ``C_cov = E_x[1/π(y*(x)|x)]``
    of Eq. (6); ``p = inf`` gives ``max_{x ∈ supp μ} 1/π(y*_γ(x)|x)``. The
    power mean is taken in log space (log-sum-exp of ``-p·log π(y*_γ|x)``), so
    tiny mode masses do not overflow early; the result is ``inf`` only when
    the true value exceeds the largest double (about ``1.8e308``).

    Args:
      pi: a policy ``[n_contexts, n_responses]``.
      mu: prompt distribution ``[n_contexts]``; ``None`` is uniform.
      gamma: approximation level in ``[0, 1)``.
      p: moment ``p ≥ 1``, or ``math.inf``.

    Returns:
      float ``≥ 1`` (up to rounding of the row sums).

    Example:
      >>> import sharpsim as ss
      >>> pi = ss.TabularPolicy([[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]])
      >>> round(ss.coverage(pi, mu=[0.25, 0.75]), 6)   # 0.25/0.5 + 0.75/0.8
      1.4375
      >>> round(ss.coverage(pi, mu=[0.25, 0.75], gamma=0.55), 6)   # 0.25/0.8 + 0.75/1
      1.0625
      >>> round(ss.coverage(pi, p=float("inf")), 6)
      2.0
    """
    tab = as_tabular(pi, "pi")
    mu = check_mu(mu, tab.n_contexts)
    gamma = _check_gamma(gamma)
    p = _check_p(p)
    neg_log_mass = -log_mode_mass(tab, gamma)
    return _exp(_log_power_mean(neg_log_mass, mu, p))


def adaptive_coverage(pi, mu=None) -> float:
    """Adaptive coverage ``C̄_cov = E_{x~μ}[1 / max_y π(y|x)]`` (App. D, Theorem D.1).

    Since ``π(y*(x)|x) = |y*(x)|·max_y π(y|x)``, ``C̄_cov ≥ C_cov``, with
    equality exactly when every prompt in the support of ``μ`` has a unique
    mode (the paper calls it "a somewhat stronger coverage coefficient").

    Args:
      pi: a policy ``[n_contexts, n_responses]``.
      mu: prompt distribution ``[n_contexts]``; ``None`` is uniform.

    Returns:
      float ``≥ 1``.

    Example:
      >>> import sharpsim as ss
      >>> pi = ss.TabularPolicy([[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]])
      >>> round(ss.adaptive_coverage(pi, mu=[0.25, 0.75]), 6)   # 0.25/0.5 + 0.75/0.4
      2.375
    """
    tab = as_tabular(pi, "pi")
    mu = check_mu(mu, tab.n_contexts)
    neg_log_top = -np.max(tab.log_probs, axis=1)
    return _exp(_log_mean(neg_log_top, mu))


def margin(pi, mu=None, gamma=0.0, *, assumption="4.2") -> float:
    """The margin ``γ_margin`` of Assumption 4.2 / Assumption J.2.

    The largest ``γ_margin`` with ``A(x) ≥ (1 + γ_margin)·π(y'|x)`` for every
    ``y' ∉ y*_γ(x)`` and every ``x`` in the support of ``μ``, that is
    ``min_x A(x) / max_{y' ∉ y*_γ(x)} π(y'|x) - 1``, where

    * ``assumption="4.2"`` (default, Assumption 4.2, used by Theorems 4.2,
      4.3 and J.2): ``A(x) = max_y π(y|x)``;
    * ``assumption="J.2"`` (Assumption J.2): ``A(x) = π(y*_γ(x)|x)``, the mass
      of the whole set.

    The two agree when ``y*_γ(x)`` is a single response (for ``γ = 0``: the
    mode is unique). A prompt whose every positive-mass response lies in
    ``y*_γ(x)`` imposes no constraint, so the result is ``+inf`` when no
    prompt does. Computed as ``expm1`` of a log-ratio.

    Args:
      pi: a policy ``[n_contexts, n_responses]``.
      mu: prompt distribution ``[n_contexts]``; only its support matters.
      gamma: approximation level in ``[0, 1)``.
      assumption: ``"4.2"`` or ``"J.2"``.

    Returns:
      float in ``(0, inf]`` (for ``γ = 0``; for ``γ > 0`` it exceeds
      ``γ/(1-γ)``).

    Example:
      >>> import sharpsim as ss
      >>> pi = ss.TabularPolicy([[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]])
      >>> round(ss.margin(pi), 6)   # min(0.5/0.3, 0.4/0.2) - 1
      0.666667
      >>> round(ss.margin(pi, mu=[0.0, 1.0], assumption="J.2"), 6)   # 0.8/0.2 - 1
      3.0
      >>> ss.margin(ss.TabularPolicy([[0.5, 0.5, 0.0]]))
      inf
    """
    tab = as_tabular(pi, "pi")
    mu = check_mu(mu, tab.n_contexts)
    gamma = _check_gamma(gamma)
    if assumption not in _MARGIN_ASSUMPTIONS:
        raise ValueError(f"assumption must be one of {_MARGIN_ASSUMPTIONS}; got {assumption!r}")
    use_set_mass = assumption == "J.2"
    per_prompt = _by_row_blocks(
        lambda lp: _log_margin_ratio(lp, gamma, use_set_mass), tab.log_probs
    )
    return float(np.expm1(np.min(per_prompt[mu > 0])))


def _log_margin_ratio(log_probs: np.ndarray, gamma: float, use_set_mass: bool) -> np.ndarray:
    """``log(A(x) / max_{y' ∉ y*_γ} π(y'|x))`` per row; ``+inf`` when nothing lies outside."""
    mask = _mode_mask(log_probs, gamma)
    numerator = _log_mode_mass_rows(log_probs, gamma) if use_set_mass else np.max(log_probs, axis=1)
    runner_up = np.max(np.where(mask, -np.inf, log_probs), axis=1)
    return numerator - runner_up


def concentrability(pi, ref, mu=None, power=1.0) -> float:
    """Concentrability ``C_{π/π';β} = E_{x~μ, y~π(·|x)}[(π(y|x)/π'(y|x))^β]`` (Eq. 9).

    With ``ref = π_base`` and ``power = 1`` this is ``C_π`` of Eq. (9); Lemma 4.1
    bounds ``C_{π*_β} ≤ C_cov`` and ``C_{π_base/π*_β; β} ≤ |Y|``. The value is
    ``+inf`` when ``π`` puts mass where ``ref`` has none.

    Args:
      pi: the policy ``π`` the expectation is taken under, ``[n_contexts, n_responses]``.
      ref: the reference policy ``π'``, same shape.
      mu: prompt distribution ``[n_contexts]``; ``None`` is uniform.
      power: the exponent ``β > 0``.

    Returns:
      float in ``(0, inf]``.

    Example:
      >>> import sharpsim as ss
      >>> pi = ss.TabularPolicy([[0.5, 0.5]])
      >>> ref = ss.TabularPolicy([[0.8, 0.2]])
      >>> round(ss.concentrability(pi, ref), 6)   # 0.5·(0.5/0.8) + 0.5·(0.5/0.2)
      1.5625
    """
    tab = as_tabular(pi, "pi")
    ref_tab = as_tabular(ref, "ref")
    _check_same_shape(tab, ref_tab, "pi", "ref")
    mu = check_mu(mu, tab.n_contexts)
    power = _check_beta(power, "power")
    per_prompt = _by_row_blocks(
        lambda lp, lr: _log_concentrability_rows(lp, lr, power), tab.log_probs, ref_tab.log_probs
    )
    return _exp(_log_mean(per_prompt, mu))


def _log_concentrability_rows(log_p: np.ndarray, log_ref: np.ndarray, power: float) -> np.ndarray:
    with np.errstate(over="ignore"):  # an astronomical power: ±inf is the right limit of each term
        terms = log_p + power * _log_ratio(log_p, log_ref)
    unbounded = np.any(terms == np.inf, axis=1)
    out = logsumexp(np.where(terms == np.inf, -np.inf, terms), axis=1)
    out[unbounded] = np.inf
    return out
