"""Rates checked empirically: bounds against measured errors, fitted log-log slopes.

The sample sizes here are found exactly (``expected_sft_error`` and
``expected_adaptive_sft_error`` are exact binomial sums), so a fitted slope
carries no Monte Carlo noise; the bands around the slopes the theorems
predict allow for the log factors the rates hide and are fixed in advance
(SPEC §8, "Reading rates numerically").
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from ...classes import FiniteClass, TabularClass
from ...inference import best_of_n_law
from ...policies import TabularPolicy
from ..bounds import sft_error_bound
from ..instances import (
    lower_bound_coverage,
    lower_bound_family,
    simulate_lower_bound_error,
)
from .reference import ROUND_OFF
from .report import CheckResult
from .search import (
    N_MAX,
    SLOPE_BANDS,
    fit_slope,
    hard_world,
    min_n,
    n_grid,
    sft_queries_needed,
)
from .separation import check_separation


def check_sft_slopes(tk, rng, quick: bool) -> CheckResult:
    """Thm 4.1′ / Thm 3.1: SFT's queries grow like C_cov and like 1/ε² on the hard family."""
    d, delta = 4, 0.5
    Ms = [100, 400, 1600] if quick else [100, 200, 400, 800, 1600]
    eps = 0.05
    m_C, cov, cov_err = [], [], 0.0
    for M in Ms:
        base, mu = hard_world(M, eps, d)
        cov.append(tk.coverage(base, mu))
        cov_err = max(
            cov_err, abs(cov[-1] / lower_bound_coverage(M, 2 * eps) - 1.0)
        )  # (1-Δ) + ΔM/2
        m_C.append(sft_queries_needed(tk, base, mu, eps, delta, n_grid(M))["m"])
    C = 5.0
    epsilons = [0.1, 0.05, 0.025] if quick else [0.1, 0.05, 0.025, 0.0125, 0.00625]
    m_eps = []
    for e in epsilons:
        M = int(round(C / e))
        base, mu = hard_world(M, e, d)
        m_eps.append(sft_queries_needed(tk, base, mu, e, delta, n_grid(M))["m"])
    finite = bool(np.all(np.isfinite(m_C)) and np.all(np.isfinite(m_eps)))
    slope_C = fit_slope(cov, m_C)[0] if finite else math.nan
    slope_e = fit_slope(1 / np.array(epsilons), m_eps)[0] if finite else math.nan
    band_C, band_e = SLOPE_BANDS["C"], SLOPE_BANDS["1/eps"]
    ok = (
        band_C[0] <= slope_C <= band_C[1]
        and band_e[0] <= slope_e <= band_e[1]
        and cov_err <= ROUND_OFF
    )
    return CheckResult(
        "Thm 4.1' rates",
        f"exact min m=nN, hard family d={d}, delta=1/2",
        f"slope vs C_cov {slope_C:.2f}; vs 1/eps {slope_e:.2f}; C_cov vs (1-D)+DM/2 {cov_err:.1e}",
        f"~1 {band_C}; ~2 {band_e}; <= {ROUND_OFF:g}",
        ok,
        kind="rate",
        numbers={
            "coverage": cov,
            "coverage_error": cov_err,
            "m_vs_C": m_C,
            "epsilons": epsilons,
            "m_vs_eps": m_eps,
            "slope_C": slope_C,
            "slope_eps": slope_e,
        },
    )


def check_adaptive_slope(tk, rng, quick: bool, level: float = 1e-3) -> CheckResult:
    """Thm D.1 vs Thm 4.1′: adaptive SFT's E[m] grows like 1/ε, plain SFT's like 1/ε²; runs match the exact error.

    Rate: exact ``E[m]`` (``expected_adaptive_sft_error``) against exact plain
    SFT on the hard family. Runs: on one prompt with the tabular class, the
    model ``adaptive_sft_sharpening`` *returns* misses ``1 − δ`` on the planted
    mode with probability exactly ``expected_adaptive_sft_error``; the count of
    such runs must be consistent with ``Binomial(reps, that)`` (two-sided,
    level ``level``, Bonferroni over the points). ``(1 − δ)·n`` is never an
    integer here, so no run sits on the boundary.
    """
    d, delta, C = 4, 0.5, 5.0
    epsilons = [0.1, 0.05, 0.025] if quick else [0.1, 0.05, 0.025, 0.0125, 0.00625]
    m_ad, m_plain = [], []
    for e in epsilons:
        M = int(round(C / e))
        base, mu = hard_world(M, e, d)
        n = min_n(lambda k: tk.expected_adaptive_sft_error(base, k, delta, mu)[0], e, N_MAX)
        m_ad.append(
            math.inf if n is None else tk.expected_adaptive_sft_error(base, n, delta, mu)[1]
        )
        m_plain.append(sft_queries_needed(tk, base, mu, e, delta, n_grid(M))["m"])
    finite = bool(np.all(np.isfinite(m_ad)) and np.all(np.isfinite(m_plain)))
    slope_ad = fit_slope(1 / np.array(epsilons), m_ad)[0] if finite else math.nan
    slope_plain = fit_slope(1 / np.array(epsilons), m_plain)[0] if finite else math.nan
    band, band_plain = SLOPE_BANDS["adaptive 1/eps"], SLOPE_BANDS["1/eps"]
    runs = _adaptive_runs(tk, rng, reps=200 if quick else 2000)
    threshold = level / len(runs)
    ok = (
        finite
        and band[0] <= slope_ad <= band[1]
        and band_plain[0] <= slope_plain <= band_plain[1]
        and m_ad[-1] < m_plain[-1]
        and min(r["p_value"] for r in runs) > threshold
    )
    return CheckResult(
        "Thm D.1 rate",
        f"exact E[m] of adaptive vs plain SFT, hard family, C={C:g}; runs vs exact error",
        f"adaptive slope {slope_ad:.2f}, plain {slope_plain:.2f}; E[m] {m_ad[-1]:.0f} < "
        f"{m_plain[-1]}; runs min p {min(r['p_value'] for r in runs):.3g}",
        f"~1 {band}; ~2 {band_plain}; adaptive cheaper; p > {threshold:.2g}",
        ok,
        kind="rate",
        numbers={
            "epsilons": epsilons,
            "m_adaptive": m_ad,
            "m_plain": m_plain,
            "slope_adaptive": slope_ad,
            "slope_plain": slope_plain,
            "runs": runs,
        },
    )


def _adaptive_runs(tk, rng, reps: int, delta: float = 0.2) -> list:
    """Failed adaptive-SFT runs (returned model below ``1 − δ`` on the mode) against the exact probability."""
    base = TabularPolicy([[0.3, 0.25, 0.2, 0.15, 0.1]])  # the mode is response 0
    runs = []
    for n in (1, 3, 7):  # (1 − δ)·n = 0.8, 2.4, 5.6: never on the boundary
        exact = float(tk.expected_adaptive_sft_error(base, n, delta)[0])
        failed = sum(
            float(
                tk.adaptive_sft_sharpening(
                    base, n, delta, TabularClass(1, 5), rng=rng
                ).policy.probs[0, 0]
            )
            < 1 - delta
            for _ in range(reps)
        )
        p_value = float(stats.binomtest(int(failed), reps, min(max(exact, 0.0), 1.0)).pvalue)
        runs.append({"n": n, "exact": exact, "measured": failed / reps, "p_value": p_value})
    return runs


def check_sft_bound(tk, rng, quick: bool, rho: float = 0.05, level: float = 1e-3) -> CheckResult:
    """Thm 4.1′ where the bound binds, and SFT's error against its exact expectation.

    Bound: world the lower-bound family (d=2, M=6, Δ=1/2: the largest possible
    error is Δ), class the best-of-N laws of all ``M^d`` members (realizable,
    ``log|Π| = d log M``), points ``(n, N)`` where the bound (constant 1) is
    below Δ, so a learner that stays at ``π_base`` (error Δ at threshold
    ``1−2δ``) breaks it. The theorem says ``P(error > bound) <= ρ``: the number
    of replicates above the bound must not be improbably large for
    ``Binomial(reps, ρ)`` (one-sided, level ``level``, Bonferroni over points).
    ``C_cov`` is checked against the family's closed form ``(1−Δ) + ΔM/2``.

    Exact curve: one prompt, tabular class; the sharpening error of one run is
    Bernoulli with mean :func:`expected_sft_error`, so the count of failed
    replicates is exactly ``Binomial(reps, E[err])`` (two-sided test, level
    ``level``, Bonferroni over points). At ``n = 10``, ``δ = 0.2`` a fit with
    ``K = 8`` picks on the mode sits exactly on ``1 − δ``: the fitted model,
    ``sharpening_error`` and ``expected_sft_error`` must agree that it is sharpened.
    """
    d, M, Delta, delta = 2, 6, 0.5, 0.2
    reps = 40 if quick else 200
    inst = lower_bound_family(d, M, Delta, rng=rng)
    base, mu = inst.base, np.asarray(inst.mu)
    c_cov = tk.coverage(base, mu)
    cov_err = abs(c_cov / lower_bound_coverage(M, Delta) - 1.0)
    points = ((300, 32), (1000, 16), (1000, 64))
    rows, p_bound = [], []
    for n, N in points:
        cls = FiniteClass([best_of_n_law(p, N) for p in inst.model_class.policies])
        bound = sft_error_bound(n, N, delta, max(c_cov, 1.0), d * math.log(M), rho)
        errs = np.array(
            [
                tk.sharpening_error(
                    tk.sft_sharpening(base, n, N, cls, mu, rng=rng).policy, base, 2 * delta, mu
                )
                for _ in range(reps)
            ]
        )
        above = int(np.count_nonzero(errs > bound))
        p_bound.append(float(stats.binom.sf(above - 1, reps, rho)))  # P(Bin(reps, ρ) >= above)
        rows.append(
            {"n": n, "N": N, "bound": bound, "mean_error": float(errs.mean()), "above_bound": above}
        )
    curve_base = TabularPolicy([[0.3, 0.25, 0.2, 0.15, 0.1]])
    curve_delta, curve_reps = 0.2, (200 if quick else 2000)
    curve, p_curve = [], []
    for n, N in (
        (1, 4),
        (4, 6),
        (10, 5),
    ):  # n = 10: K = 8 = (1-δ)n is on the knife edge (not an error)
        exact = float(tk.expected_sft_error(curve_base, n, N, curve_delta))
        failed = sum(
            tk.sharpening_error(
                tk.sft_sharpening(curve_base, n, N, TabularClass(1, 5), rng=rng).policy,
                curve_base,
                curve_delta,
            )
            > 0.5
            for _ in range(curve_reps)
        )
        p_curve.append(
            float(stats.binomtest(int(failed), curve_reps, min(max(exact, 0.0), 1.0)).pvalue)
        )
        curve.append({"n": n, "N": N, "exact": exact, "measured": failed / curve_reps})
    ok = (
        cov_err <= ROUND_OFF
        and all(max(r["bound"] + rho, 0.0) < Delta for r in rows)
        and min(p_bound) > level / len(points)
        and min(p_curve) > level / len(curve)
    )
    return CheckResult(
        "Thm 4.1' bound",
        f"bound < Delta={Delta} (d={d}, M={M}, {reps} reps/pt); exact curve, {curve_reps} reps/pt",
        f"above bound {[r['above_bound'] for r in rows]}/{reps} (min p {min(p_bound):.3g}); "
        f"curve min p {min(p_curve):.3g}",
        f"p > {level / len(points):.2g} (rho={rho}); p > {level / len(curve):.2g}",
        ok,
        kind="statistical",
        numbers={
            "coverage": c_cov,
            "coverage_error": cov_err,
            "points": rows,
            "p_bound": p_bound,
            "curve": curve,
            "p_curve": p_curve,
        },
    )


def check_lower_bound_phase(tk, rng, quick: bool, level: float = 1e-3) -> CheckResult:
    """Thm 3.1′ (Lemma H.3): the Bayes-optimal error stays ≍ Δ below m ≍ dM/Δ and vanishes after."""
    d, M, Delta = 4, 20, 0.2
    scale = d * M / Delta
    cs = np.array([0.02, 0.1, 1.0, 10.0, 50.0])
    N = 1
    errors = tk.lower_bound_bayes_error(
        d, M, Delta, np.maximum(1, np.round(cs * scale)).astype(int), N
    )
    trials = 300 if quick else 2000
    n_mc = int(round(0.5 * scale))
    sim = simulate_lower_bound_error(d, M, Delta, n_mc, N, trials, rng=rng)
    exact = float(tk.lower_bound_bayes_error(d, M, Delta, n_mc, N))
    z = abs(sim["errors"].mean() - exact) / (sim["errors"].std(ddof=1) / math.sqrt(trials))
    z_max = stats.norm.ppf(1 - level / 2)
    ok = (
        errors[0] >= Delta / 2
        and errors[1] >= Delta / 4
        and errors[-1] <= Delta / 20
        and z <= z_max
    )
    return CheckResult(
        "Thm 3.1' phase",
        f"Bayes error at m = c dM/Delta, c in {cs.tolist()}",
        f"err/Delta {np.round(errors / Delta, 3).tolist()}; MC z={z:.2f}",
        f"~1 below c~0.1, -> 0 after; |z| <= {z_max:.2f}",
        ok,
        kind="rate",
        numbers={
            "c": cs.tolist(),
            "errors": errors.tolist(),
            "mc_mean": float(sim["errors"].mean()),
            "exact_at_mc": exact,
            "z": float(z),
        },
    )


RATE_CHECKS = (
    check_sft_slopes,
    check_adaptive_slope,
    check_sft_bound,
    check_lower_bound_phase,
    check_separation,
)
