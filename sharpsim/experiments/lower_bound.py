"""The Theorem 3.1′ phase transition on the lower-bound family (Appendix H, Lemma H.3).

``phase_transition`` records the Bayes-optimal sharpening error (exact,
``lower_bound_bayes_error``) and its Monte Carlo twin (the Bayes-optimal
learner fed through the sample-and-evaluate oracle,
``simulate_lower_bound_error``) at ``m = c·dM/Δ`` queries: it stays ``≍ Δ``
for ``c ≲ 1`` and vanishes beyond, whatever ``(d, M)``.
"""

from __future__ import annotations

import numpy as np

from ..theory.instances import lower_bound_bayes_error, simulate_lower_bound_error
from .registry import register

#: The ratios ``c = m / (dM/Δ)`` of the phase-transition curve.
PHASE_RATIOS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)


@register(
    "phase_transition",
    description="Thm 3.1' phase transition: Bayes-optimal error vs m/(dM/Delta), exact and Monte Carlo",
    grid={"d": [2, 4, 8], "M": [10, 40], "trials": [400]},
    quick_grid={"d": [2, 4], "M": [16], "trials": [40]},
    figures=("phase_transition",),
    seeds=3,
    quick_seeds=2,
)
def phase_transition(rng, d, M, trials, Delta=0.2, N=1):
    """Records per ratio ``c``: ``ratio`` (realised ``m/(dM/Δ)``), ``m``, ``Delta``, ``error_exact``
    (Bayes-optimal error), ``error_mc`` (mean over ``trials``) and ``error_mc_se`` (its standard error).
    """
    scale = d * M / Delta
    records = []
    for c in PHASE_RATIOS:
        n = max(1, int(round(c * scale / N)))
        exact = float(lower_bound_bayes_error(d, M, Delta, n, N))
        errs = simulate_lower_bound_error(d, M, Delta, n, N, trials, rng=rng)["errors"]
        records.append(
            {
                "ratio": n * N / scale,
                "m": n * N,
                "Delta": Delta,
                "error_exact": exact,
                "error_mc": float(errs.mean()),
                "error_mc_se": float(errs.std(ddof=1) / np.sqrt(trials)),
            }
        )
    return records
