"""Benchmark: XPO (Algorithm 1) on Example J.1 against 0.1.0, timed in the same run.

``run(quick)`` returns one dict per measured ratio:

* ``xpo/j1/d=5`` and ``xpo/j1/d=10``: ``xpo_sharpening`` on the separation
  instance of Example J.1 (``separation_instance(d, rng=0, B=2000)``, ``|Y|``
  up to 4096, ``T = 20``, ``rng=0``, β and α as Theorems J.2/J.3 set them, the
  default :class:`~sharpsim.LinearSoftmaxClass`), now and under 0.1.0 (commit
  7df18a8, in a subprocess: ``benchmarks/_v010.py``); ratio = 0.1.0 seconds /
  current seconds, target 4. ``sizes`` carries both runs' per-iteration
  sharpening errors, exact ``J_β`` and whether the current errors are no worse
  at every iteration. The 0.1.0 class drew its restarts from fresh OS entropy,
  so its time and iterates vary a little from run to run (the reason for
  issue 7 §4); the current run is reproducible byte for byte.
* ``xpo/j1/warm_start/d=10``: the current XPO with ``warm_start=True`` against
  the default (cold and random restarts every iteration); ratio = default
  seconds / warm seconds, no target (informational), with the largest relative
  difference in ``J_β`` of the iterates in ``sizes`` — why warm starts are
  not the default.
* ``verify/example_j1``: the Example J.1 row of ``sharpsim verify --quick``
  (``run(quick=True, only=["check_separation"])``), now against 0.1.0;
  ratio = 0.1.0 seconds / current seconds, target 3.

Quick mode uses ``T = 6`` and ``|Y| ≤ 1024`` for the XPO rows (``sizes["note"]``).
"""

from __future__ import annotations

import math
import time

import numpy as np
from _v010 import run_v010

SETUP = """
import json, math, time
import numpy as np
import sharpsim as ss
from sharpsim.theory import bounds
from sharpsim.theory.instances import separation_instance

def setup(d, T, max_size):
    epsilon = delta = 0.1
    inst = separation_instance(d, rng=0, B=2000.0, max_size=max_size)
    n_y = inst.claims["n_responses"]
    plan = bounds.xpo_linear_softmax_plan(epsilon, delta, 0.1, inst.claims["gamma_margin"], d, inst.claims["B"],
                                          math.log(n_y))
    sec = bounds.linear_softmax_sec_bound(d, T)
    log_net = bounds.linear_softmax_log_covering_number(d, inst.claims["B"],
                                                        bounds.xpo_discretization(epsilon, delta, sec, T))
    alpha = bounds.xpo_alpha(T, sec, log_net, 0.1, plan.R_max, plan.beta * plan.R_max, plan.beta)
    return inst, plan.beta, alpha, delta

def xpo(d, T, max_size, **options):
    inst, beta, alpha, delta = setup(d, T, max_size)
    start = time.perf_counter()
    res = ss.xpo_sharpening(inst.base, T, beta, alpha, inst.model_class, rng=0, delta=delta, **options)
    seconds = time.perf_counter() - start
    diag = res.diagnostics
    return {"seconds": seconds, "n_responses": int(inst.base.n_responses),
            "error": diag["sharpening_error"].tolist(), "objective": diag["objective"].tolist(),
            "queries": int(res.queries)}
"""


def _current(code: str) -> dict:
    scope: dict = {}
    exec(SETUP, scope)
    return eval(code, scope)


def _xpo_row(d: int, quick: bool) -> dict:
    T, max_size = (6, 1024) if quick else (20, 4096)
    call = f"xpo({d}, {T}, {max_size})"
    old = run_v010(SETUP + f"print(json.dumps({call}))")
    new = _current(call)
    no_worse = bool(np.all(np.array(new["error"]) <= np.array(old["error"])))
    return {
        "name": f"xpo/j1/d={d}",
        "ratio": old["seconds"] / new["seconds"],
        "baseline": "0.1.0 (7df18a8) xpo_sharpening, same instance and seed, SLSQP with 4 random restarts",
        "target": 4.0,
        "sizes": {
            "d": d,
            "T": T,
            "n_responses": new["n_responses"],
            "queries": new["queries"],
            "error_now": new["error"],
            "error_v010": old["error"],
            "error_no_worse": no_worse,
            "objective_now": new["objective"],
            "objective_v010": old["objective"],
            "note": "quick: T=6, |Y|<=1024 (full: T=20, |Y|<=4096)" if quick else "full size",
        },
        "seconds": {"now": new["seconds"], "v010": old["seconds"]},
    }


def _warm_row(quick: bool) -> dict:
    d = 10
    T, max_size = (6, 1024) if quick else (20, 4096)
    cold = _current(f"xpo({d}, {T}, {max_size})")
    warm = _current(f"xpo({d}, {T}, {max_size}, warm_start=True)")
    a, b = np.array(cold["objective"]), np.array(warm["objective"])
    rel = np.abs(b - a) / np.abs(a)
    return {
        "name": f"xpo/j1/warm_start/d={d}",
        "ratio": cold["seconds"] / warm["seconds"],
        "baseline": "the default XPO (cold, regression, previous-iterate, random and dominant starts every iteration)",
        "target": None,
        "sizes": {
            "d": d,
            "T": T,
            "max_relative_objective_difference": float(rel.max()),
            "iterations_differing_over_1e-6": np.flatnonzero(rel > 1e-6).tolist(),
            "error_cold": cold["error"],
            "error_warm": warm["error"],
            "note": "warm_start=True is several times faster but its iterates' J_beta differ before the "
            "data span R^d, so it is an option, not the default",
        },
        "seconds": {"cold": cold["seconds"], "warm": warm["seconds"]},
    }


VERIFY = """
import json, time
from sharpsim.theory.verify import run
start = time.perf_counter()
report = run(quick=True, only=["check_separation"])
row = report.rows[0]
print(json.dumps({"seconds": time.perf_counter() - start, "passed": bool(row.passed), "measured": row.measured}))
"""


def _verify_row() -> dict:
    old = run_v010(VERIFY)
    start = time.perf_counter()
    from sharpsim.theory.verify import run as verify_run

    report = verify_run(quick=True, only=["check_separation"])
    seconds = time.perf_counter() - start
    row = report.rows[0]
    if not row.passed:
        raise AssertionError(f"the Example J.1 verify row fails now: {row.measured}")
    return {
        "name": "verify/example_j1",
        "ratio": old["seconds"] / seconds,
        "baseline": "0.1.0 (7df18a8) sharpsim verify --quick, Example J.1 row only",
        "target": 3.0,
        "sizes": {
            "passed_now": bool(row.passed),
            "passed_v010": old["passed"],
            "measured_now": row.measured,
            "measured_v010": old["measured"],
        },
        "seconds": {"now": seconds, "v010": old["seconds"]},
    }


def run(quick: bool) -> list[dict]:
    """XPO on Example J.1 (d = 5, 10) and the Example J.1 verify row, each against 0.1.0 in the same run."""
    return [_xpo_row(5, quick), _xpo_row(10, quick), _warm_row(quick), _verify_row()]


if __name__ == "__main__":
    import sys

    for row in run(quick="--quick" in sys.argv):
        ratio = (
            "n/a"
            if row["ratio"] is None or not math.isfinite(row["ratio"])
            else f"{row['ratio']:.2f}"
        )
        print(
            f"{row['name']:<26} ratio {ratio:>8}  target {row['target']}  seconds {row['seconds']}"
        )
