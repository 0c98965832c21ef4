"""Benchmark: measured log-log cost slopes of the core computations in |Y|, n, N, H and V.

For each (function, size variable) pair the function is timed (best of a few
repeats) at four geometric sizes (a factor 2 to 10 apart, listed in each row),
the other sizes fixed, and ``ratio`` is the least-squares slope of
``log CPU seconds`` (``process_time``: steadier than wall time on a shared
machine; the wall-time slope is kept as ``wall_slope``) against ``log size``: ``1`` is linear cost, ``2`` quadratic,
``0`` independent of that size. ``local_slope`` is the slope between the two
largest sizes (fixed per-call overheads flatten the small end). Slopes are
informational (``target None``); ``expected`` states what the algorithm's
cost should be. ``python benchmarks/bench_scaling.py --markdown`` prints the
table kept in ``benchmarks/README.md``.
"""

from __future__ import annotations

import numpy as np
from _timing import PeakRSS, best_times
from _worlds import random_world

import sharpsim as ss

COMMAND = "python benchmarks/run.py --only scaling"


def _world(
    n_contexts: int, n_responses: int, seed: int = 0, scale: float = 2.0
) -> ss.TabularPolicy:
    return random_world(
        n_contexts, n_responses, seed, scale
    )  # from_logits, built in blocks of rows


def _markov(n_contexts: int, vocab: int, horizon: int, seed: int = 0) -> ss.MarkovPolicy:
    rng = np.random.default_rng(seed)
    initial = rng.dirichlet(np.full(vocab, 0.5), size=n_contexts)
    transition = rng.dirichlet(np.full(vocab, 0.5), size=(n_contexts, horizon - 1, vocab))
    return ss.MarkovPolicy(initial, transition)


def _sft(n_y=1000, n=10**4, N=50, n_x=50):
    base = _world(n_x, n_y)
    cls = ss.TabularClass(n_x, n_y)
    return lambda: ss.sft_sharpening(base, n, N, cls, rng=0)


def _expected(n_y=1000, n=10**4, N=50, n_x=50):
    base = _world(n_x, n_y, scale=0.5)
    return lambda: ss.expected_sft_error(base, n, N, 0.37)


def _bon_law(n_y=10**4, N=8, n_x=4):
    base = _world(n_x, n_y)
    return lambda: ss.best_of_n_law(base, N)


def _coverage(n_y=10**4, n_x=100):
    base = _world(n_x, n_y)
    return lambda: ss.coverage(base, gamma=0.1)


def _mode(V=20, H=20, n_x=4):
    policy = _markov(n_x, V, H)
    x = np.arange(n_x)
    return lambda: policy.mode(x)


#: (function, variable, builder(size) -> callable, full sizes, quick sizes, expected cost in that variable)
CASES = [
    (
        "sft_sharpening",
        "|Y|",
        lambda s: _sft(n_y=s),
        [1000, 4000, 16000, 64000],
        [500, 2000, 8000, 32000],
        "~1: the exact-law picks sort each prompt's row once (|X|·|Y| log |Y|)",
    ),
    (
        "sft_sharpening",
        "n",
        lambda s: _sft(n=s),
        [10**4, 4 * 10**4, 16 * 10**4, 64 * 10**4],
        [10**4, 4 * 10**4, 16 * 10**4, 64 * 10**4],
        "<= 1: n draws from the law, plus a fixed table cost",
    ),
    (
        "sft_sharpening",
        "N",
        lambda s: _sft(N=s),
        [10, 100, 1000, 10**4],
        [10, 100, 1000, 10**4],
        "~0: the exact best-of-N law does not draw the N responses",
    ),
    (
        "expected_sft_error",
        "|Y|",
        lambda s: _expected(n_y=s),
        [1000, 4000, 16000, 64000],
        [500, 2000, 8000, 32000],
        "<= 1: passes over each row (mode masses, the law); per-call costs in n dominate at small |Y|",
    ),
    (
        "expected_sft_error",
        "n",
        lambda s: _expected(n=s),
        [10**3, 10**4, 10**5, 10**6],
        [10**3, 10**4, 10**5, 10**6],
        "<= 0.5: binomial sums over a window of visit counts of width ~sqrt(n)",
    ),
    (
        "expected_sft_error",
        "N",
        lambda s: _expected(N=s),
        [10, 100, 1000, 10**4],
        [10, 100, 1000, 10**4],
        "~0: N enters only through the closed-form best-of-N mode mass",
    ),
    (
        "best_of_n_law",
        "|Y|",
        lambda s: _bon_law(n_y=s),
        [10**4, 4 * 10**4, 16 * 10**4, 64 * 10**4],
        [10**4, 4 * 10**4, 16 * 10**4, 64 * 10**4],
        "~1 (times log |Y|): one sort per row",
    ),
    (
        "best_of_n_law",
        "N",
        lambda s: _bon_law(N=s),
        [2, 20, 200, 2000],
        [2, 20, 200, 2000],
        "~0: F^N - F_<^N in closed form",
    ),
    (
        "coverage",
        "|Y|",
        lambda s: _coverage(n_y=s),
        [10**4, 4 * 10**4, 16 * 10**4, 64 * 10**4],
        [2500, 10**4, 4 * 10**4, 16 * 10**4],
        "~1: one pass over the table",
    ),
    (
        "MarkovPolicy.mode",
        "V",
        lambda s: _mode(V=s),
        [50, 100, 200, 400],
        [40, 80, 160, 320],
        "2: Viterbi does H·V² work (per-call overhead flattens the small end, so fits come out below 2)",
    ),
    (
        "MarkovPolicy.mode",
        "H",
        lambda s: _mode(V=50, H=s),
        [25, 50, 100, 200],
        [20, 40, 80, 160],
        "1: Viterbi is one sweep over the H positions",
    ),
]


def _slope(sizes, seconds) -> tuple[float, float]:
    x, y = np.log(np.asarray(sizes, float)), np.log(np.asarray(seconds, float))
    fit = float(np.polyfit(x, y, 1)[0])
    local = float((y[-1] - y[-2]) / (x[-1] - x[-2]))
    return fit, local


def run(quick: bool) -> list[dict]:
    """One row per (function, variable): the fitted log-log slope of its cost."""
    repeats = 2 if quick else 3
    rows = []
    for function, variable, build, full, small, expected in CASES:
        sizes = small if quick else full
        seconds, wall = [], []
        with PeakRSS() as mem:
            for size in sizes:
                fn = build(size)
                fn()  # warm caches (alias tables, sorted rows) are not what we measure: first call untimed
                w, c = best_times(fn, repeats)
                wall.append(w)
                seconds.append(c)
        fit, local = _slope(sizes, seconds)
        rows.append(
            {
                "name": f"scaling/{function}/{variable}",
                "ratio": fit,
                "baseline": f"log-log slope of CPU seconds against {variable} over {sizes}",
                "target": None,
                "better": "lower",
                "expected": expected,
                "local_slope": local,
                "sizes": {variable: sizes},
                "seconds": seconds,
                "wall_seconds": wall,
                "wall_slope": _slope(sizes, wall)[0],
                "peak_rss_bytes": mem.bytes,
                "command": COMMAND + (" --quick" if quick else ""),
            }
        )
    return rows


def markdown(rows: list[dict]) -> str:
    """The README table: function, variable, sizes, fitted and local slopes, expected cost."""
    lines = [
        "| function | in | sizes | slope (fit) | slope (largest pair) | expected |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        _, function, variable = row["name"].split("/")
        sizes = next(iter(row["sizes"].values()))
        span = f"{sizes[0]:g} – {sizes[-1]:g}"
        cells = [
            f"`{function}`",
            variable,
            span,
            f"{row['ratio']:.2f}",
            f"{row['local_slope']:.2f}",
            row["expected"],
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    result = run(quick="--quick" in sys.argv)
    if "--markdown" in sys.argv:
        print(markdown(result))
    else:
        for row in result:
            print(
                f"{row['name']:<40} slope {row['ratio']:5.2f}  local {row['local_slope']:5.2f}  "
                f"{[f'{s:.3g}' for s in row['seconds']]}"
            )
