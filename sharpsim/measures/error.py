"""The sharpening error of a model (Definition 3.1 / F.1): how much prompt mass it leaves unsharpened."""

from __future__ import annotations

from .._validation import check_mu, check_real
from ..policies.base import reach_threshold
from ..policies.tabular import as_tabular
from ._common import _by_row_blocks, _check_gamma, _check_same_shape, _weighted_sum
from .modes import _log_mass_on, _mode_mask

__all__ = ["sharpening_error", "is_sharpened"]


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
