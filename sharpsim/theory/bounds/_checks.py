"""Shared argument validators and float-range helpers of :mod:`sharpsim.theory.bounds`.

Thin wrappers over :func:`sharpsim._validation.check_real` that name the
interval each argument must lie in, plus the helpers that turn a result too
large for a float into ``OverflowError`` and combine sizes in log space
(``log(|Π|/ρ) = log|Π| - log ρ``).
"""

from __future__ import annotations

import math

import numpy as np

from ..._validation import check_real


def _unit_open(value, name: str) -> float:
    return check_real(value, name, low=0.0, high=1.0, low_open=True, high_open=True)


def _positive(value, name: str) -> float:
    return check_real(value, name, low=0.0, low_open=True)


def _non_negative(value, name: str) -> float:
    return check_real(value, name, low=0.0)


def _at_least_one(value, name: str) -> float:
    return check_real(value, name, low=1.0)


def _constant(value, name: str = "constant") -> float:
    return _positive(value, name)


def _finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise OverflowError(
            f"{what} does not fit in a float (got {value}); the inputs are too extreme"
        )
    return float(value)


def _exp_finite(log_value: float, what: str) -> float:
    """``exp(log_value)``, raising the same ``OverflowError`` as :func:`_finite` past float range."""
    if log_value > math.log(np.finfo(float).max):
        raise OverflowError(
            f"{what} does not fit in a float (its log is {log_value:.6g}); the inputs are too extreme"
        )
    return math.exp(log_value)


def _log_over_rho(log_size: float, rho: float) -> float:
    """``log(size/ρ)`` from ``log size`` (stays finite however large the size)."""
    return log_size - math.log(rho)
