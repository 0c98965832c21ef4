"""Validated pair data and the pair objective every class solves (Eq. (4) / Eq. (8), Algorithm 1, SPEC §7).

``_Pairs`` holds prompts, responses, reference responses, targets, weights and
the observed base log-likelihoods of a DPO/XPO dataset; the objective
``Σ_i w_i (Δ_π − target_i)²`` (plus the optimism term) and its coefficients
are evaluated here once for every class.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy.special import expit


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


#: Weights above this are divided by their maximum before a fit, so that ``Σ w·log π`` stays finite.
_WEIGHT_RESCALE = 1e100


def _fit_weights(weights: np.ndarray) -> np.ndarray:
    """``weights / max(weights)`` when they are huge (every fit is invariant to a positive rescaling)."""
    top = np.max(weights, initial=0.0)
    return weights / top if top > _WEIGHT_RESCALE else weights


def _rescaled(pairs: _Pairs) -> _Pairs:
    return dataclasses.replace(pairs, weights=_fit_weights(pairs.weights))


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
    terms = np.multiply(
        weights,
        values,
        out=np.zeros(np.broadcast_shapes(weights.shape, values.shape)),
        where=weights > 0,
    )
    return terms.sum(axis=-1)


def _log_gap(ell_a: np.ndarray, ell_b: np.ndarray, fill: float) -> np.ndarray:
    """``ell_a − ell_b`` where both are finite, ``fill`` elsewhere (no ``−∞ − (−∞)``)."""
    finite = np.isfinite(ell_a) & np.isfinite(ell_b)
    return np.subtract(
        ell_a, ell_b, out=np.full(np.broadcast_shapes(ell_a.shape, ell_b.shape), fill), where=finite
    )


def _pair_objective(ell_y: np.ndarray, ell_ref: np.ndarray, pairs: _Pairs) -> np.ndarray:
    """The pair objective for log-likelihoods ``[..., n]`` (``−inf`` allowed); shape ``[...]``.

    A candidate giving zero probability to a data response has objective ``+inf``
    (its log-ratio is infinite), except the losing response of the logistic loss,
    where zero probability is the loss's infimum 0.
    """
    w = pairs.weights
    if pairs.loss == "logistic":
        # log π(y_w) − log π(y_l): −inf when π(y_w) = 0, +inf when only π(y_l) = 0.
        gap = np.subtract(
            ell_y,
            ell_ref,
            out=np.full(np.broadcast_shapes(ell_y.shape, ell_ref.shape), -np.inf),
            where=np.isfinite(ell_y),
        )
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
