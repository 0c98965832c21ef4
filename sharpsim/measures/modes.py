"""Modes: the approximate-mode sets ``y*_γ(x)`` and their mass (Def. 3.1, App. F.1).

The sets follow the package's tie rule (CONTRIBUTING.md, "Ties"): tie groups
formed from the top, never split by ``γ``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

from ..policies.base import canonical_ties, tie_threshold
from ..policies.tabular import as_tabular
from ._common import _by_row_blocks, _check_gamma

__all__ = ["mode_mask", "log_mode_mass", "mode_mass"]

#: Table entries per block in ``mode_mask`` (2 MB of float64: stays in cache).
_MASK_BLOCK_ELEMENTS = 1 << 18


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
