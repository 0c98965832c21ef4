"""Exact sample-size searches and slope fits shared by the rate rows (and the ``sample_size`` experiment).

The errors searched are exact (``expected_sft_error`` is a binomial sum), so a
found ``n`` carries no Monte Carlo noise; :func:`hard_world` is the worst-case
family of SPEC §8/§9 the rows measure on.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from ..instances import lower_bound_family

SLOPE_BANDS = {"C": (0.8, 1.25), "1/eps": (1.7, 2.3), "adaptive 1/eps": (0.7, 1.3)}


def fit_slope(x, y) -> tuple[float, float]:
    """Least-squares slope of ``log y`` on ``log x`` and its R²."""
    fit = stats.linregress(np.log(x), np.log(y))
    return float(fit.slope), float(fit.rvalue**2)


def min_n(
    error_at, target: float, n_max: int = 1 << 22, useless_from: float = math.inf
) -> int | None:
    """Smallest ``n <= n_max`` with ``error_at(n) <= target`` by doubling then bisection (None if none).

    Assumes ``error_at`` is non-increasing in ``n`` (true of the exact expected
    errors it is used on, up to rounding).

    ``useless_from``: the caller discards any answer ``>= useless_from``, so the
    doubling gives up once the bracket lies wholly at or above it (the answers
    below it are those of the full search).

    Example:
      >>> min_n(lambda n: 1.0 / n, 0.01)
      100
    """
    hi = 1
    while error_at(hi) > target:
        hi *= 2
        if hi > n_max or hi // 2 >= useless_from:
            return None
    lo = hi // 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if error_at(mid) <= target else (mid, hi)
    return hi


#: Largest ``n`` the sample-size searches try: 40x the largest the full rows need (n = 396).
N_MAX = 1 << 14


def sft_queries_needed(
    tk, base, mu, epsilon: float, delta: float, N_grid, n_max: int = N_MAX
) -> dict:
    """Smallest ``m = n·N`` over ``N_grid`` with exact expected SFT error ``<= ε`` (tabular class).

    Each ``N`` stops its doubling search once every ``n`` it could still return
    is ``>= best m / N`` (none of them can improve on the best so far); the
    result is that of the full search.
    """
    best: dict[str, Any] = {"m": math.inf, "n": None, "N": None}
    for N in N_grid:
        N = int(N)
        if tk.sft_error_plateau(base, N, delta, mu) > epsilon:
            continue  # the n → ∞ limit is above ε: no n reaches it at this N
        useless = best["m"] / N  # n >= best m / N cannot improve on the best so far
        n = min_n(lambda k: tk.expected_sft_error(base, k, N, delta, mu), epsilon, n_max, useless)
        if n is not None and n * N < best["m"]:
            best = {"m": n * N, "n": n, "N": N}
    return best


def hard_world(M: int, epsilon: float, d: int):
    """The worst-case family of SPEC §8/§9: Δ = 2ε of prompt mass on d prompts with mode mass 2/M."""
    inst = lower_bound_family(d, M, 2 * epsilon, index=np.arange(d) % M + 1, build_class=False)
    return inst.base, np.asarray(inst.mu)


def n_grid(M: int) -> np.ndarray:
    """Prompt counts searched for ``min n·N`` on the family with ``M`` responses (14 geometric points)."""
    return np.unique(np.round(np.geomspace(max(1, M // 8), 4 * M, 14)).astype(int))
