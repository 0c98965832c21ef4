"""Exact quantities of a world: modes, coverage, margin, the tilted model, sharpening error.

Everything the theory talks about that can be computed from the full table
``π(y|x)`` lives here (SPEC §2, §4, §5): the approximate-mode sets
``y*_γ(x)`` (App. F.1), the coverage coefficients ``C_cov``, ``C_cov,γ,p`` and
``C̄_cov`` (Eq. 6, App. D, App. H), the margin ``γ_margin`` (Assumption 4.2 /
J.2), concentrability (Eq. 9), KL divergence, the KL-regularised optimum
``π*_β`` and objective ``J_β`` (Eq. 3, Sec. 4.2), and the sharpening error of
Definition 3.1 / F.1.

Every function accepts a :class:`~sharpsim.TabularPolicy` or anything with
``to_tabular()`` (autoregressive policies are enumerated), takes the prompt
law ``mu`` (``None`` = uniform), works in log space, and never returns NaN.
Tables are processed in blocks of rows so temporaries stay bounded.

References:
  Huang et al., "Self-Improvement in Language Models: The Sharpening
  Mechanism", ICLR 2025 (arXiv 2412.01951).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy.special import logsumexp

from ._validation import check_mu, check_real
from .policies.base import canonical_ties, reach_threshold, tie_threshold
from .policies.tabular import TabularPolicy, as_tabular

__all__ = [
    "mode_mask",
    "log_mode_mass",
    "mode_mass",
    "coverage",
    "adaptive_coverage",
    "margin",
    "concentrability",
    "kl_divergence",
    "tilted",
    "regularized_objective",
    "sharpening_error",
    "is_sharpened",
]

#: Rows are processed in blocks of about this many table entries.
_BLOCK_ELEMENTS = 1 << 22
#: Table entries per block in ``mode_mask`` (2 MB of float64: stays in cache).
_MASK_BLOCK_ELEMENTS = 1 << 18

_MARGIN_ASSUMPTIONS = ("4.2", "J.2")


# --------------------------------------------------------------------------- helpers


def _by_row_blocks(kernel, *tables):
    """Apply a row-wise ``kernel`` to blocks of rows and concatenate (bounded temporaries)."""
    n_rows, n_cols = tables[0].shape
    step = max(1, _BLOCK_ELEMENTS // n_cols)
    if step >= n_rows:
        return kernel(*tables)
    return np.concatenate(
        [kernel(*(t[i : i + step] for t in tables)) for i in range(0, n_rows, step)]
    )


def _check_gamma(gamma) -> float:
    return check_real(gamma, "gamma", low=0.0, high=1.0, high_open=True)


def _check_beta(beta, name: str = "beta") -> float:
    return check_real(beta, name, low=0.0, low_open=True)


def _check_same_shape(a: TabularPolicy, b: TabularPolicy, name_a: str, name_b: str) -> None:
    shape_a = (a.n_contexts, a.n_responses)
    shape_b = (b.n_contexts, b.n_responses)
    if shape_a != shape_b:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape; got {shape_a} and {shape_b}"
        )


def _log_mean(log_values: np.ndarray, mu: np.ndarray) -> float:
    """``log E_{x~μ}[exp(log_values[x])]`` over the support of ``μ`` (+inf if any term is)."""
    on_support = mu > 0
    values = log_values[on_support]
    if np.any(values == np.inf):
        return math.inf
    return float(logsumexp(values + np.log(mu[on_support])))


def _log_power_mean(log_values: np.ndarray, mu: np.ndarray, p: float) -> float:
    """``log (E_μ[exp(p·v)])^(1/p)``; ``p = inf`` gives the max of ``v`` over the support of ``μ``."""
    top = float(np.max(log_values[mu > 0]))
    if p == math.inf:
        return top
    # Shift by the max so p·(v - top) <= 0: no overflow however large p or -v is.
    with np.errstate(over="ignore"):
        scaled = p * (log_values - top)
    return top + _log_mean(scaled, mu) / p


def _exp(log_value: float) -> float:
    """``exp`` of a float, returning ``inf`` (no warning) when it overflows double."""
    with np.errstate(over="ignore"):
        return float(np.exp(log_value))


def _log_ratio(log_p: np.ndarray, log_q: np.ndarray) -> np.ndarray:
    """``log(p/q)`` on the support of ``p`` (``+inf`` where ``q = 0 < p``), ``-inf`` elsewhere."""
    out = np.full(log_p.shape, -np.inf)
    np.subtract(log_p, log_q, out=out, where=log_p > -np.inf)
    return out


def _reward_table(reward, base, tab: TabularPolicy) -> np.ndarray:
    """The reward as a float array ``[X, Y]``; ``None`` is ``log π_base`` (Eq. 2)."""
    if reward is None:
        return tab.log_probs
    if hasattr(reward, "table"):
        reward = reward.table(base)
    arr = np.asarray(reward)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(
            f"reward must be a real array [n_contexts, n_responses]; got dtype {arr.dtype}"
        )
    arr = arr.astype(float, copy=False)
    if arr.shape != tab.log_probs.shape:
        raise ValueError(f"reward must have shape {tab.log_probs.shape}; got {arr.shape}")
    if np.any(np.isnan(arr)) or np.any(arr == np.inf):
        raise ValueError("reward must not contain NaN or +inf")
    return arr


# --------------------------------------------------------------------------- modes


def mode_mask(pi, gamma=0.0) -> np.ndarray:
    """The approximate mode sets ``y*_γ(x) = {y : π(y|x) ≥ (1-γ)·max_y' π(y'|x)}`` (App. F.1).

    With ``γ = 0`` this is the argmax set ``y*(x)`` of Section 2, ties allowed.
    The comparison follows the package's one tie rule (CONTRIBUTING.md, "Ties";
    :data:`sharpsim.policies.base.TIE_RTOL` ``= 1e-10``, shared with
    ``AutoregressivePolicy.mode``, the decoders, the reward tables and best-of-N):
    a response is in the set when its tie group's leader (largest member) satisfies
    ``log π ≥ t - TIE_RTOL·max(1, |t|)`` with ``t = max_y' log π(y'|x) + log(1-γ)``.
    Mathematically equal probabilities computed along different paths (an
    enumerated autoregressive model's products of conditionals) differ by a few
    ulps and tie; a tie group is never split. Zero-probability responses are
    never in the set.

    Args:
      pi: a policy ``[n_contexts, n_responses]`` (tabular, or with ``to_tabular()``).
      gamma: approximation level ``γ`` in ``[0, 1)``.

    Returns:
      bool array ``[n_contexts, n_responses]``; every row has at least one ``True``.

    Example:
      >>> import sharpsim as ss
      >>> pi = ss.TabularPolicy([[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]])
      >>> ss.mode_mask(pi).astype(int).tolist()
      [[1, 0, 0], [1, 1, 0]]
      >>> ss.mode_mask(pi, gamma=0.55).astype(int).tolist()
      [[1, 1, 0], [1, 1, 1]]
    """
    tab = as_tabular(pi, "pi")
    gamma = _check_gamma(gamma)
    return _mode_mask(tab.log_probs, gamma)


def _mode_mask(log_probs: np.ndarray, gamma: float) -> np.ndarray:
    n_rows, n_cols = log_probs.shape
    step = max(1, _MASK_BLOCK_ELEMENTS // n_cols)
    if step >= n_rows:
        return _mode_mask_rows(log_probs, gamma)
    # Blocks of rows small enough for the CPU cache: the comparisons below stream
    # over the table several times, which costs memory bandwidth on wide tables.
    mask = np.empty(log_probs.shape, dtype=bool)
    for start in range(0, n_rows, step):
        mask[start : start + step] = _mode_mask_rows(log_probs[start : start + step], gamma)
    return mask


def _mode_mask_rows(log_probs: np.ndarray, gamma: float) -> np.ndarray:
    top = np.max(log_probs, axis=1, keepdims=True)  # finite: every row has mass
    cut = tie_threshold(top + math.log1p(-gamma))
    mask = log_probs >= cut
    if gamma == 0.0:
        return mask  # the top tie group itself
    # A tie group whose leader reaches the cut is in the set whole: only entries just
    # below the cut (within one more tolerance) can belong to such a group.
    near = np.any(~mask & (log_probs >= tie_threshold(cut)), axis=1)
    if near.any():
        mask[near] = canonical_ties(log_probs[near]) >= cut[near]
    return mask


def log_mode_mass(pi, gamma=0.0) -> np.ndarray:
    """``log π(y*_γ(x)|x)``, the log-mass ``π`` puts on its own approximate mode set (App. F.1).

    Args:
      pi: a policy ``[n_contexts, n_responses]``.
      gamma: approximation level in ``[0, 1)``.

    Returns:
      float array ``[n_contexts]`` (finite, ``≤ 0`` up to rounding).

    Example:
      >>> import sharpsim as ss
      >>> pi = ss.TabularPolicy([[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]])
      >>> np.exp(ss.log_mode_mass(pi)).round(6).tolist()
      [0.5, 0.8]
    """
    tab = as_tabular(pi, "pi")
    gamma = _check_gamma(gamma)
    return _by_row_blocks(lambda lp: _log_mode_mass_rows(lp, gamma), tab.log_probs)


def _log_mode_mass_rows(log_probs: np.ndarray, gamma: float) -> np.ndarray:
    top = np.max(log_probs, axis=1)
    mask = _mode_mask(log_probs, gamma)
    rows = np.flatnonzero(mask) // mask.shape[1]  # much faster than np.nonzero on 2-d masks
    # Every member is within a factor (1-γ) of the row max, so exp(lp - top) lies in
    # [1-γ, 1]: summing only the members is exact enough without a log-sum-exp.
    sums = np.bincount(rows, weights=np.exp(log_probs[mask] - top[rows]), minlength=len(top))
    return top + np.log(sums)


def _log_mass_on(log_probs: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return logsumexp(np.where(mask, log_probs, -np.inf), axis=1)


def mode_mass(pi, gamma=0.0) -> np.ndarray:
    """``π(y*_γ(x)|x)`` for every prompt: ``exp`` of :func:`log_mode_mass`, shape ``[n_contexts]``.

    Example:
      >>> import sharpsim as ss
      >>> ss.mode_mass(ss.TabularPolicy([[0.5, 0.3, 0.2]]), gamma=0.5).round(6).tolist()
      [0.8]
    """
    return np.exp(log_mode_mass(pi, gamma))


# --------------------------------------------------------------------------- coverage


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


# --------------------------------------------------------------------------- margin


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


# --------------------------------------------------------------------------- divergences


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


def _weighted_sum(per_prompt: np.ndarray, mu: np.ndarray) -> float:
    """``Σ_x μ(x)·v(x)`` over the support of ``μ`` (no ``0·inf``)."""
    on_support = mu > 0
    return float(np.dot(mu[on_support], per_prompt[on_support]))


# --------------------------------------------------------------------------- KL-regularised objective


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


# --------------------------------------------------------------------------- sharpening


def sharpening_error(model, base, delta, mu=None, gamma=0.0) -> float:
    """The sharpening error ``P_{x~μ}[model(y*_γ(x)|x) < 1 - δ]`` (Definition 3.1 / F.1).

    ``y*_γ(x)`` is the approximate mode set of ``base`` (:func:`mode_mask`).
    The comparison is the package's threshold rule (CONTRIBUTING.md, "Ties"):
    the computed mass reaches ``1-δ`` when ``log model(y*_γ|x) ≥ tie_threshold(log(1-δ))``,
    so a mass equal to ``1-δ`` up to rounding is no error.

    Args:
      model: the sharpened model ``π̂``, ``[n_contexts, n_responses]``.
      base: ``π_base``, same shape.
      delta: mass tolerance ``δ`` in ``(0, 1)``.
      mu: prompt distribution ``[n_contexts]``; ``None`` is uniform.
      gamma: approximation level in ``[0, 1)``.

    Returns:
      float in ``[0, 1]``.

    Example:
      >>> import sharpsim as ss
      >>> base = ss.TabularPolicy([[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]])
      >>> ss.sharpening_error(base, base, delta=0.3, mu=[0.25, 0.75])   # only 0.5 < 0.7
      0.25
      >>> ss.sharpening_error(ss.tilted(base, 1e-3), base, delta=0.01)
      0.0
    """
    model_tab = as_tabular(model, "model")
    base_tab = as_tabular(base, "base")
    _check_same_shape(model_tab, base_tab, "model", "base")
    delta = check_real(delta, "delta", low=0.0, high=1.0, low_open=True, high_open=True)
    mu = check_mu(mu, base_tab.n_contexts)
    gamma = _check_gamma(gamma)

    def log_mass_rows(lp_model, lp_base):
        return _log_mass_on(lp_model, _mode_mask(lp_base, gamma))

    log_mass = _by_row_blocks(log_mass_rows, model_tab.log_probs, base_tab.log_probs)
    failed = log_mass < reach_threshold(1.0 - delta)  # a mass within TIE_RTOL of 1 - δ reaches it
    return _weighted_sum(failed.astype(float), mu)


def is_sharpened(model, base, epsilon, delta, mu=None, gamma=0.0) -> bool:
    """Whether ``model`` is ``(ε, δ)``- (or ``(ε, δ, γ)``-) sharpened (Definition 3.1 / F.1).

    That is ``P_{x~μ}[model(y*_γ(x)|x) ≥ 1 - δ] ≥ 1 - ε``, equivalently
    :func:`sharpening_error` ``≤ ε``.

    Args:
      model, base: policies of the same shape ``[n_contexts, n_responses]``.
      epsilon: prompt-failure tolerance ``ε`` in ``[0, 1]``.
      delta: mass tolerance ``δ`` in ``(0, 1)``.
      mu: prompt distribution ``[n_contexts]``; ``None`` is uniform.
      gamma: approximation level in ``[0, 1)``.

    Example:
      >>> import sharpsim as ss
      >>> base = ss.TabularPolicy([[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]])
      >>> ss.is_sharpened(base, base, epsilon=0.5, delta=0.3)
      True
      >>> ss.is_sharpened(base, base, epsilon=0.4, delta=0.3)
      False
    """
    epsilon = check_real(epsilon, "epsilon", low=0.0, high=1.0)
    return sharpening_error(model, base, delta, mu=mu, gamma=gamma) <= epsilon
