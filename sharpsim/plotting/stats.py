"""Statistics behind the figures: seed aggregation, bootstrap bands and log-log slope fits.

Pure numpy/scipy (no matplotlib), so the numbers a figure shows can be
tested without drawing it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import NamedTuple

import numpy as np
from scipy import stats

#: Confidence level of every band and interval drawn.
LEVEL = 0.95
#: Bootstrap resamples and the fixed seed that makes every band reproducible.
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0


def bootstrap_ci(
    values, level: float = LEVEL, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
):
    """Mean and percentile-bootstrap interval ``(mean, lo, hi)`` of the mean of ``values``.

    One value gives a zero-width interval at it; the resampling is seeded so
    the band is the same on every run.

    Example:
      >>> m, lo, hi = bootstrap_ci([1.0, 2.0, 3.0])
      >>> m, lo <= m <= hi
      (2.0, True)
    """
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"values must be a non-empty 1-d sequence; got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError("values must be finite")
    mean = float(v.mean())
    if v.size == 1:
        return mean, mean, mean
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, size=(resamples, v.size))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return mean, float(lo), float(hi)


class Summary(NamedTuple):
    """Seed-aggregated curve: ``x`` sorted, the mean ``y`` and its bootstrap band ``[lo, hi]``."""

    x: np.ndarray
    y: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    count: np.ndarray  # type: ignore[assignment]  # shadows tuple.count on purpose


def summarize(records, x: str, y: str, where: dict | None = None, level: float = LEVEL) -> Summary:
    """Group ``records`` (dicts) matching ``where`` by ``x`` and bootstrap the mean of ``y`` in each group.

    Example:
      >>> recs = [{"N": 1, "v": 1.0}, {"N": 1, "v": 3.0}, {"N": 2, "v": 5.0}]
      >>> s = summarize(recs, "N", "v")
      >>> s.x.tolist(), s.y.tolist(), s.count.tolist()
      ([1, 2], [2.0, 5.0], [2, 1])
    """
    groups = defaultdict(list)
    for r in select(records, where):
        groups[r[x]].append(r[y])
    if not groups:
        raise ValueError(f"no records match {where!r} with keys {x!r}, {y!r}")
    keys = sorted(groups)
    means, lows, highs = (
        np.array(col) for col in zip(*(bootstrap_ci(groups[k], level) for k in keys))
    )
    return Summary(np.array(keys), means, lows, highs, np.array([len(groups[k]) for k in keys]))


def select(records, where: dict | None = None) -> list:
    """The records whose values equal every ``where`` item."""
    where = where or {}
    return [r for r in records if all(r.get(k) == v for k, v in where.items())]


def distinct(records, key: str) -> list:
    """Distinct values of ``key`` in first-seen order."""
    seen = []
    for r in records:
        if r[key] not in seen:
            seen.append(r[key])
    return seen


class SlopeFit(NamedTuple):
    """Least-squares fit ``log y = intercept + slope·log x`` with a ``level`` t-interval on the slope."""

    slope: float
    lo: float
    hi: float
    intercept: float
    n_points: int


def fit_loglog_slope(x, y, level: float = LEVEL) -> SlopeFit:
    """Slope of ``log y`` on ``log x`` and its two-sided Student-t confidence interval.

    With two points the slope is exact and the interval infinite (no residual
    degrees of freedom); it is reported as such rather than hidden.

    Example:
      >>> fit = fit_loglog_slope([1, 2, 4, 8], [3, 12, 48, 192])
      >>> round(fit.slope, 6), round(fit.lo, 6), round(fit.hi, 6)
      (2.0, 2.0, 2.0)
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise ValueError(f"x and y must be 1-d of equal length >= 2; got {x.shape}, {y.shape}")
    if not (np.all(np.isfinite(x) & (x > 0)) and np.all(np.isfinite(y) & (y > 0))):
        raise ValueError("x and y must be positive and finite for a log-log fit")
    lx, ly = np.log(x), np.log(y)
    fit = stats.linregress(lx, ly)
    dof = lx.size - 2
    if dof == 0:
        half = np.inf
    else:
        half = float(stats.t.ppf((1 + level) / 2, dof) * fit.stderr)
    return SlopeFit(
        float(fit.slope),
        float(fit.slope - half),
        float(fit.slope + half),
        float(fit.intercept),
        int(lx.size),
    )


def slope_label(fit: SlopeFit, level: float = LEVEL) -> str:
    """``"slope 1.98 [1.90, 2.06] (95% CI, k pts)"``; an infinite interval says so."""
    if not np.isfinite(fit.lo):
        return f"slope {fit.slope:.2f} (2 pts, no CI)"
    return (
        f"slope {fit.slope:.2f} [{fit.lo:.2f}, {fit.hi:.2f}] ({level:.0%} CI, {fit.n_points} pts)"
    )
