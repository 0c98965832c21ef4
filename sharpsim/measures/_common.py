"""Shared helpers of the measures: argument checks, row blocks, log-space means."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

from .._validation import check_real
from ..policies.tabular import TabularPolicy

#: Rows are processed in blocks of about this many table entries.
_BLOCK_ELEMENTS = 1 << 22


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


def _weighted_sum(per_prompt: np.ndarray, mu: np.ndarray) -> float:
    """``Σ_x μ(x)·v(x)`` over the support of ``μ`` (no ``0·inf``)."""
    on_support = mu > 0
    return float(np.dot(mu[on_support], per_prompt[on_support]))
