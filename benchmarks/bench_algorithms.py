"""Benchmark: the training-time sharpening algorithms (SFT, exact SFT error, XPO).

``run(quick)`` returns one dict per measured ratio, each against a baseline
timed in the same run:

* ``sft/law_vs_faithful/N=…``: SFT-Sharpening with picks drawn from the exact
  best-of-N law against faithful best-of-N (all ``n·N`` responses drawn and
  scored), full size ``n = 10^4``, ``N = 10^3`` (and ``10^4``), ``|Y| = 10^4``;
  ratio = faithful seconds / law seconds. Both charge ``m = n·N`` queries.
* ``sft/exact_vs_monte_carlo_equal_precision``: :func:`sharpsim.expected_sft_error`
  against a Monte Carlo estimate of the same expectation *at equal precision*
  (SFT runs with the exact law, each scored exactly): ±1e-3 at 95% needs
  ``R = (1.96·σ/1e-3)²`` replicates (a few thousand here); 100 are timed (30
  quick) and the time scaled linearly to ``R``. ratio = Monte Carlo seconds /
  exact seconds. The timed Monte Carlo mean is checked to lie within 4
  standard errors of the exact value.
* ``sft/expected_sft_error_vs_v010``: the exact error now against 0.1.0 on the
  same world (a subprocess), values checked equal.
* ``xpo/solver_vs_sampling``: XPO (Algorithm 1) on Example J.1 with ``d = 10``;
  ratio = solver seconds / sampling seconds, with iterations per second in
  ``sizes``.

Quick mode shrinks every size and says so in ``sizes["note"]``.
"""

from __future__ import annotations

import math

import numpy as np
from _timing import PeakRSS, best_time
from _v010 import run_v010
from _worlds import random_world
from bench_xpo import _current

import sharpsim as ss


def _random_world(
    n_contexts: int, n_responses: int, seed: int, scale: float = 2.0
) -> ss.TabularPolicy:
    return random_world(
        n_contexts, n_responses, seed, scale
    )  # from_logits, built in blocks of rows


def _sft_law_vs_faithful(quick: bool, N_scale: int = 1) -> dict:
    n, N, n_y = (10**3, 10**2, 10**3) if quick else (10**4, 10**3, 10**4)
    N *= N_scale
    n_x = 100
    base = _random_world(n_x, n_y, seed=0)
    cls = ss.TabularClass(n_x, n_y)
    t_law, law = best_time(
        lambda: ss.sft_sharpening(base, n, N, cls, rng=1, bon_method="law"), repeats=3
    )
    t_faithful, faithful = best_time(
        lambda: ss.sft_sharpening(base, n, N, cls, rng=1, bon_method="faithful"), 2
    )
    if law.queries != faithful.queries or law.queries != n * N:
        raise AssertionError("both BoN methods must charge n·N queries")
    note = "full size" if not quick else "quick: n=1e3, |Y|=1e3 (full: n=1e4, |Y|=1e4)"
    return {
        "name": f"sft/law_vs_faithful/N={N}",
        "ratio": t_faithful / t_law,
        "baseline": "faithful best-of-N (every response drawn and scored)",
        "target": 1.0 if N_scale == 1 else 5.0,
        "sizes": {"n": n, "N": N, "n_contexts": n_x, "n_responses": n_y, "note": note},
        "seconds": {"law": t_law, "faithful": t_faithful},
    }


#: Equal precision: the Monte Carlo mean must match the exact value to ±HALF_WIDTH at 95% confidence.
HALF_WIDTH, Z95 = 1e-3, 1.959963984540054


def _exact_vs_monte_carlo(quick: bool) -> dict:
    """Exact expected SFT error against a Monte Carlo estimate of the same precision.

    A replicate is one SFT run (exact-law picks) scored exactly; its error has standard deviation ``σ``
    (estimated from the timed replicates). Matching the exact value to ``±1e-3`` at 95% needs
    ``R = ⌈(1.96·σ/1e-3)²⌉`` replicates; we time ``r`` of them and scale linearly to ``R`` (each replicate
    costs the same), saying so in the row.
    """
    n_x, n_y, n, N = (20, 200, 500, 20) if quick else (100, 1000, 10**4, 50)
    timed, delta = (30 if quick else 100), 0.37
    base = _random_world(
        n_x, n_y, seed=3, scale=0.5
    )  # flat enough that the expected error is not tiny
    mu = np.random.default_rng(4).dirichlet(np.ones(n_x))
    cls = ss.TabularClass(n_x, n_y, unseen="base", base=base)
    with PeakRSS() as mem:
        t_exact, exact = best_time(
            lambda: ss.expected_sft_error(base, n, N, delta, mu=mu), repeats=3
        )

        def monte_carlo():
            gen = np.random.default_rng(5)
            return np.array(
                [
                    ss.sharpening_error(
                        ss.sft_sharpening(base, n, N, cls, mu=mu, rng=gen).policy,
                        base,
                        delta,
                        mu=mu,
                    )
                    for _ in range(timed)
                ]
            )

        t_timed, errors = best_time(monte_carlo)
    sigma = float(errors.std(ddof=1))
    std_error = sigma / math.sqrt(timed)
    if abs(errors.mean() - exact) > 4 * std_error + 1e-12:
        raise AssertionError(
            f"Monte Carlo mean {errors.mean()} is not within 4 SE of the exact {exact}"
        )
    needed = max(1, math.ceil((Z95 * sigma / HALF_WIDTH) ** 2))
    t_equal = t_timed * needed / timed
    return {
        "name": "sft/exact_vs_monte_carlo_equal_precision",
        "ratio": t_equal / t_exact,
        "baseline": (
            f"Monte Carlo of SFT (exact-law picks) at equal precision: ±{HALF_WIDTH:g} at 95% needs "
            f"R = (1.96·σ/{HALF_WIDTH:g})² = {needed} replicates (σ = {sigma:.3g}); {timed} timed, "
            f"scaled linearly to R"
        ),
        "target": 10.0,
        "sizes": {
            "n": n,
            "N": N,
            "n_contexts": n_x,
            "n_responses": n_y,
            "replicates_timed": timed,
            "replicates_for_equal_precision": needed,
            "half_width_95": HALF_WIDTH,
            "sigma": sigma,
            "exact": exact,
            "monte_carlo_mean": float(errors.mean()),
            "note": "quick: |X|=20, |Y|=200, n=500, N=20 (full: 100, 1e3, 1e4, 50)"
            if quick
            else "full size",
        },
        "seconds": {
            "exact": t_exact,
            "monte_carlo_timed": t_timed,
            "monte_carlo_equal_precision": t_equal,
        },
        "ratio_at_timed_replicates": t_timed / t_exact,
        "peak_rss_bytes": mem.bytes,
    }


_V010_EXACT = """
import json, time, math
import numpy as np, sharpsim as ss
logits = np.random.default_rng(3).gumbel(size=({n_x}, {n_y})) * 0.5
base = ss.TabularPolicy.from_logits(logits)
mu = np.random.default_rng(4).dirichlet(np.ones({n_x}))
best = math.inf
for _ in range(3):
    start = time.perf_counter(); value = ss.expected_sft_error(base, {n}, {N}, {delta}, mu=mu)
    best = min(best, time.perf_counter() - start)
print(json.dumps({{"seconds": best, "value": float(value)}}))
"""


def _exact_vs_v010(quick: bool) -> dict:
    """:func:`sharpsim.expected_sft_error` now against 0.1.0 on the same world (subprocess)."""
    n_x, n_y, n, N = (20, 200, 500, 20) if quick else (100, 1000, 10**4, 50)
    # 1 - δ = 62999/100000 equals no count ratio K/v with v <= n, so 0.1.0's float comparison and
    # today's exact threshold rule (CONTRIBUTING, "Ties") decide every cell alike: same value.
    delta = 0.37001
    base = _random_world(n_x, n_y, seed=3, scale=0.5)
    mu = np.random.default_rng(4).dirichlet(np.ones(n_x))
    with PeakRSS() as mem:
        t_now, now = best_time(lambda: ss.expected_sft_error(base, n, N, delta, mu=mu), repeats=3)
    old = run_v010(_V010_EXACT.format(n_x=n_x, n_y=n_y, n=n, N=N, delta=delta))
    if not math.isclose(old["value"], now, rel_tol=1e-9, abs_tol=1e-12):
        raise AssertionError(f"expected_sft_error differs from 0.1.0: {now} vs {old['value']}")
    return {
        "name": "sft/expected_sft_error_vs_v010",
        "ratio": old["seconds"] / t_now,
        "baseline": "0.1.0 (commit 7df18a8) in a subprocess, same world, same value",
        "target": None,
        "sizes": {
            "n": n,
            "N": N,
            "delta": delta,
            "n_contexts": n_x,
            "n_responses": n_y,
            "value": now,
        },
        "seconds": {"now": t_now, "v010": old["seconds"]},
        "peak_rss_bytes": mem.bytes,
    }


def _xpo_iterations(quick: bool) -> dict:
    d, T, max_size = (10, 6, 1024) if quick else (10, 20, 4096)
    inst, beta, alpha, delta = _current(
        f"setup({d}, {T}, {max_size})"
    )  # bench_xpo's J.1 parameters
    n_y = inst.claims["n_responses"]
    t_total, res = best_time(
        lambda: ss.xpo_sharpening(inst.base, T, beta, alpha, inst.model_class, rng=0, delta=delta)
    )
    diag = res.diagnostics
    return {
        "name": "xpo/solver_vs_sampling",
        "ratio": diag["seconds_solver"] / diag["seconds_sampling"],
        "baseline": "time spent drawing and evaluating the pairs (oracle + own model)",
        "target": None,
        "sizes": {
            "d": d,
            "T": T,
            "n_responses": n_y,
            "iterations_per_second": T / t_total,
            "final_sharpening_error": float(diag["sharpening_error"][diag["selected"]]),
            "queries": res.queries,
            "note": "quick: T=6, |Y| capped at 1024 (full: T=20, |Y|=4096)"
            if quick
            else "full size",
        },
        "seconds": {
            "total": t_total,
            "sampling": diag["seconds_sampling"],
            "solver": diag["seconds_solver"],
            "diagnostics": diag["seconds_diagnostics"],
        },
    }


def run(quick: bool) -> list[dict]:
    """Time the algorithms against same-run baselines; one dict per measured ratio.

    Targets: faithful sampling draws ``n·N`` responses by alias sampling, fast
    enough (``10^7`` draws in well under a second) that at ``N = 10^3`` the exact
    law — a sort of the ``|X|×|Y|`` table plus ``n`` draws, independent of
    ``N`` — is only expected to break even (target 1); a second row at ``10N``
    shows the ratio growing with ``N`` (target 5). The exact error should beat
    an equal-precision Monte Carlo by at least 10x. The XPO split has no target:
    it reports where an iteration's time goes.
    """
    rows = []
    for case in (
        _sft_law_vs_faithful,
        lambda q: _sft_law_vs_faithful(q, N_scale=10),
        _exact_vs_monte_carlo,
        _exact_vs_v010,
        _xpo_iterations,
    ):
        with PeakRSS() as mem:
            row = case(quick)
        row.setdefault("peak_rss_bytes", mem.bytes)
        rows.append(row)
    return rows


if __name__ == "__main__":
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(
            f"{row['name']:<26} ratio {row['ratio']:9.2f}  target {row['target']}  {row['seconds']}  {row['sizes']}"
        )
