"""Input validation shared by every public entry point.

Public functions check their inputs once, here, and raise ``ValueError`` or
``TypeError`` naming the argument, what was expected and what came. Internals
trust validated data. Nothing is silently renormalised, clipped or truncated.
"""

from __future__ import annotations

import numbers

import numpy as np

#: Rows of a probability table must sum to 1 within this absolute tolerance.
PROB_ATOL = 1e-8


def check_rng(rng) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` from ``None``, an int seed or a Generator."""
    if rng is None or isinstance(rng, (numbers.Integral, np.random.SeedSequence)):
        if isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and rng < 0:
            raise ValueError(f"rng seed must be non-negative; got {rng}")
        if isinstance(rng, bool):
            raise TypeError("rng must be None, an int seed or a numpy.random.Generator; got bool")
        return np.random.default_rng(rng)  # type: ignore[arg-type]  # an Integral is an int seed
    if isinstance(rng, np.random.Generator):
        return rng
    raise TypeError(
        f"rng must be None, an int seed or a numpy.random.Generator; got {type(rng).__name__}"
    )


def check_int(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as a Python int, checking type and bounds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {type(value).__name__}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}; got {value}")
    return value


def check_real(
    value,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a finite float in the stated interval."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        bracket = "(" if low_open else "["
        raise ValueError(
            f"{name} must be in {bracket}{low}, {high if high is not None else 'inf'}{')' if high is None or high_open else ']'}; got {value}"
        )
    if high is not None and (value > high or (high_open and value == high)):
        bracket = ")" if high_open else "]"
        raise ValueError(
            f"{name} must be in {'(' if low is None or low_open else '['}{low if low is not None else '-inf'}, {high}{bracket}; got {value}"
        )
    return value


def check_index_array(values, name: str, size: int) -> np.ndarray:
    """Return ``values`` as an int64 array with every entry in ``[0, size)``."""
    arr = np.asarray(values)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        raise TypeError(f"{name} must be an integer array; got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and (arr.min() < 0 or arr.max() >= size):
        bad = arr[(arr < 0) | (arr >= size)].ravel()[0]
        raise ValueError(f"{name} entries must be in [0, {size}); got {bad}")
    return arr


def as_real_array(values, name: str) -> np.ndarray:
    """``values`` as a float ndarray, refusing strings, complex numbers and ragged lists by ``name``.

    numpy's own messages (``could not convert string to float``, ``inhomogeneous
    shape``) name no argument; these do. An object array of real numbers
    (``Fraction``, ``Decimal``) is converted.

    Example:
      >>> as_real_array([[1, 2]], "probs").dtype
      dtype('float64')
      >>> as_real_array([[0.5], [0.2, 0.8]], "probs")
      Traceback (most recent call last):
      ...
      ValueError: probs must be a rectangular array (nested lists of equal lengths); got ragged nested sequences
    """
    if isinstance(values, np.ndarray):
        arr = values
    else:
        try:
            arr = np.asarray(values)
        except ValueError:  # numpy refuses ragged nested sequences
            raise ValueError(
                f"{name} must be a rectangular array (nested lists of equal lengths); got ragged nested sequences"
            ) from None
    if arr.dtype == object and all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) for v in arr.flat
    ):
        return arr.astype(
            float
        )  # exact numbers (Fraction, Decimal); None would become NaN: refused below
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise TypeError(f"{name} must be a real array; got dtype {arr.dtype}")
    return arr.astype(float, copy=False)


def check_prob_rows(probs, name: str, *, atol: float = PROB_ATOL, ndim: int = 2) -> np.ndarray:
    """Validate a table whose last axis holds probability distributions."""
    arr = as_real_array(probs, name)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions; got shape {arr.shape}")
    if arr.shape[-1] == 0 or arr.size == 0:
        raise ValueError(f"{name} must be non-empty; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(
            f"{name} must be finite; found {np.count_nonzero(~np.isfinite(arr))} non-finite entries"
        )
    if np.any(arr < 0):
        idx = np.unravel_index(np.argmin(arr), arr.shape)
        raise ValueError(
            f"{name} must be non-negative; entry {tuple(int(i) for i in idx)} is {arr[idx]}"
        )
    sums = arr.sum(axis=-1)
    bad = np.abs(sums - 1.0) > atol
    if np.any(bad):
        if bad.ndim == 0:
            raise ValueError(f"{name} must sum to 1 (atol={atol}); it sums to {float(sums):.12g}")
        idx = np.unravel_index(np.argmax(bad), bad.shape)
        where = idx[0] if len(idx) == 1 else tuple(int(i) for i in idx)
        raise ValueError(
            f"{name} rows must sum to 1 (atol={atol}); row {where} sums to {sums[idx]:.12g}"
        )
    return arr


def check_log_prob_rows(
    log_probs, name: str, *, atol: float = PROB_ATOL, ndim: int = 2
) -> np.ndarray:
    """Validate a table of log-probabilities (-inf allowed) whose rows normalise."""
    arr = np.asarray(log_probs, dtype=float)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions; got shape {arr.shape}")
    if arr.shape[-1] == 0 or arr.size == 0:
        raise ValueError(f"{name} must be non-empty; got shape {arr.shape}")
    top = arr.max(axis=-1, keepdims=True)  # NaN if any entry is NaN
    if np.any(np.isnan(top)) or np.any(top == np.inf):
        raise ValueError(f"{name} must not contain NaN or +inf")
    if np.any(top > atol):
        raise ValueError(f"{name} must be <= 0 (log-probabilities); max is {top.max()}")
    shift = np.where(top > -np.inf, top, 0.0)
    with np.errstate(divide="ignore"):
        # log-sum-exp with the row max subtracted: every exp is <= 1, so nothing overflows
        lse = np.log(np.sum(np.exp(arr - shift), axis=-1)) + shift[..., 0]
    bad = ~(np.abs(lse) <= atol)
    if np.any(bad):
        idx = np.unravel_index(np.argmax(bad), bad.shape)
        where = idx[0] if len(idx) == 1 else tuple(int(i) for i in idx)
        raise ValueError(
            f"{name} rows must log-sum-exp to 0 (atol={atol}); row {where} gives {lse[idx]:.12g}"
        )
    return arr


def check_mu(mu, n_contexts: int, *, name: str = "mu", atol: float = PROB_ATOL) -> np.ndarray:
    """Return the prompt distribution as a float array ``[n_contexts]``; None means uniform."""
    if mu is None:
        return np.full(n_contexts, 1.0 / n_contexts)
    arr = check_prob_rows(mu, name, atol=atol, ndim=1)
    if arr.shape[0] != n_contexts:
        raise ValueError(f"{name} must have length n_contexts={n_contexts}; got {arr.shape[0]}")
    return arr


def check_prompt_indices(x, n_contexts: int) -> np.ndarray:
    """``x`` as a 1-d int64 array of prompt indices in ``[0, n_contexts)``; ``ValueError`` otherwise.

    Example:
        >>> check_prompt_indices([0, 2], 3).tolist()
        [0, 2]
    """
    x = check_index_array(x, "x", n_contexts)
    if x.ndim != 1:
        raise ValueError(f"x must be a 1-d array of prompts; got shape {x.shape}")
    return x
