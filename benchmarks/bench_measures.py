"""Benchmark: vectorised coverage / mode sets against a per-prompt Python loop.

``run(quick)`` times :func:`sharpsim.coverage` (and :func:`sharpsim.mode_mask`)
on a random world and, on the same world in the same run, a straightforward
per-prompt loop computing the same numbers; each result is the ratio
``loop seconds / vectorised seconds``. The full run uses the |X| = 10^3,
|Y| = 10^5 world; quick mode shrinks |Y| to 10^4 and says so in ``sizes``. A
second case with many prompts and few responses is where a Python loop over
prompts hurts most.
"""

from __future__ import annotations

import math

import numpy as np
from _timing import best_time, rows_with_peak_rss
from _worlds import random_world
from scipy.special import logsumexp

import sharpsim as ss

GAMMA = 0.1


def _random_world(n_contexts: int, n_responses: int, seed: int = 0) -> ss.TabularPolicy:
    return random_world(
        n_contexts, n_responses, seed, scale=3.0
    )  # from_logits, built in blocks of rows


def _loop_coverage(log_probs: np.ndarray, mu: np.ndarray, gamma: float) -> float:
    """The baseline: one prompt at a time, same log-space arithmetic."""
    total = 0.0
    for x in range(log_probs.shape[0]):
        row = log_probs[x]
        in_set = row >= row.max() + math.log1p(-gamma)
        total += mu[x] * math.exp(-logsumexp(row[in_set]))
    return total


def _loop_mode_mask(log_probs: np.ndarray, gamma: float) -> np.ndarray:
    out = np.empty(log_probs.shape, dtype=bool)
    for x in range(log_probs.shape[0]):
        row = log_probs[x]
        out[x] = row >= row.max() + math.log1p(-gamma)
    return out


def _case(name, pi, target, repeats, note):
    return rows_with_peak_rss(_measure, name, pi, target, repeats, note)


def _measure(name, pi, target, repeats, note):
    lp = pi.log_probs
    mu = np.random.default_rng(2).dirichlet(np.ones(pi.n_contexts))
    t_vec, c_vec = best_time(lambda: ss.coverage(pi, mu, gamma=GAMMA), repeats)
    t_loop, c_loop = best_time(lambda: _loop_coverage(lp, mu, GAMMA), repeats)
    if not math.isclose(c_vec, c_loop, rel_tol=1e-9):
        raise AssertionError(f"{name}: vectorised {c_vec} != loop {c_loop}")
    tm_vec, m_vec = best_time(lambda: ss.mode_mask(pi, GAMMA), repeats)
    tm_loop, m_loop = best_time(lambda: _loop_mode_mask(lp, GAMMA), repeats)
    if not np.array_equal(m_vec, m_loop):
        raise AssertionError(f"{name}: mode masks differ")
    sizes = {"n_contexts": pi.n_contexts, "n_responses": pi.n_responses, "note": note}
    return [
        {
            "name": f"coverage/{name}",
            "ratio": t_loop / t_vec,
            "baseline": "per-prompt Python loop (same log-space arithmetic)",
            "target": target,
            "sizes": sizes,
            "seconds": {"vectorised": t_vec, "baseline": t_loop},
        },
        {
            "name": f"mode_mask/{name}",
            "ratio": tm_loop / tm_vec,
            "baseline": "per-prompt Python loop",
            "target": target,
            "sizes": sizes,
            "seconds": {"vectorised": tm_vec, "baseline": tm_loop},
        },
    ]


def run(quick: bool) -> list[dict]:
    """Time coverage and mode_mask against per-prompt loops; one dict per measured ratio.

    ``target`` is the ratio we expect at least: on wide tables (|Y| = 10^5) the
    loop's per-prompt overhead is small next to the row work, so parity (1) is
    the honest target; on tall tables (many prompts, few responses) the
    vectorised code should win by well over an order of magnitude.
    """
    n_wide = 10**4 if quick else 10**5
    note = "quick: |Y| reduced from 1e5 to 1e4" if quick else "full size"
    wide = _random_world(10**3, n_wide, seed=0)
    tall = _random_world(10**4 if quick else 10**5, 10, seed=1)
    repeats = 2 if quick else 3
    results = _case("wide", wide, 1.0, repeats, note)
    results += _case("tall", tall, 10.0, repeats, "many prompts, few responses")
    return results


if __name__ == "__main__":
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(
            f"{row['name']:<20} ratio {row['ratio']:8.2f}  target {row['target']:>5}  {row['seconds']}"
        )
