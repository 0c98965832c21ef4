"""Benchmark: faithful sample-and-evaluate queries against drawing raw uniforms.

Each result times ``x = oracle.draw_prompts(n); oracle.sample(x, N)`` (prompts
from μ, then N responses per prompt with their base log-likelihoods: m = n·N
queries of Definition 3.2) and, in the same run and interleaved with it,
``rng.random(m)``. ``ratio = oracle seconds / raw-uniform seconds`` — lower is
better; the target is at most 5 on the |X| = 10^3, |Y| = 10^4 world. Both
sides are the best of several repeats (``time.perf_counter``);
``cpu_time_ratio`` repeats the measure with ``time.process_time``.

Cases: N = 100 (the target), N = 1 (prompt draws as many as responses),
N = 10^4 (each prompt's table row reused from cache), a small world whose
tables fit in cache, and a stream of m = 10^8 queries (10^7 in quick mode)
through :meth:`~sharpsim.SampleEvaluateOracle.stream`, whose baseline draws
the same uniforms in chunks of the same size and whose peak traced memory is
reported. Building the alias tables is a one-time cost, reported in
``seconds`` and excluded from the ratios.
"""

from __future__ import annotations

import math
import time
import tracemalloc

import numpy as np

import sharpsim as ss

TARGET = 5.0
STREAM_CHUNK = 1 << 16


def _world(n_contexts: int, n_responses: int, seed: int) -> ss.TabularPolicy:
    logits = np.random.default_rng(seed).gumbel(size=(n_contexts, n_responses)) * 3.0
    return ss.TabularPolicy.from_logits(logits)


def _best_pair(first, second, repeats: int) -> tuple[list[float], list[float]]:
    """Best-of-``repeats`` wall seconds (``perf_counter``) of two callables, interleaved so both
    see the same load; also their best CPU seconds (``process_time``), less sensitive to a busy machine."""
    wall, cpu = [math.inf, math.inf], [math.inf, math.inf]
    for _ in range(repeats):
        for i, fn in enumerate((first, second)):
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            wall[i] = min(wall[i], time.perf_counter() - start)
            cpu[i] = min(cpu[i], time.process_time() - start_cpu)
    return wall, cpu


def _check(pi: ss.TabularPolicy, x: np.ndarray, y: np.ndarray, log_prob: np.ndarray) -> None:
    """Cheap correctness guard: returned log-likelihoods are the table's, on a sample of pairs."""
    rows = np.random.default_rng(0).integers(0, x.shape[0], 1000)
    if not np.array_equal(log_prob[rows], pi.log_probs[x[rows, None], y[rows]]):
        raise AssertionError("oracle log-likelihoods differ from the policy's table")


def _case(name: str, pi: ss.TabularPolicy, n: int, N: int, repeats: int, build_seconds: float) -> dict:
    oracle = ss.SampleEvaluateOracle(pi, rng=1)
    rng = np.random.default_rng(2)
    m = n * N

    def faithful():
        x = oracle.draw_prompts(n)
        y, log_prob = oracle.sample(x, N)
        return x, y, log_prob

    _check(pi, *faithful())
    (t_oracle, t_raw), (cpu_oracle, cpu_raw) = _best_pair(faithful, lambda: rng.random(m), repeats)
    return {
        "name": name,
        "ratio": t_oracle / t_raw,
        "cpu_time_ratio": cpu_oracle / cpu_raw,
        "baseline": f"rng.random({m}) in the same run",
        "target": TARGET,
        "better": "lower",
        "sizes": {"n_contexts": pi.n_contexts, "n_responses": pi.n_responses, "n": n, "N": N, "m": m},
        "seconds": {"oracle": t_oracle, "baseline": t_raw, "alias_build_once": build_seconds},
        "ns_per_query": 1e9 * t_oracle / m,
    }


def _stream_case(pi: ss.TabularPolicy, m: int, build_seconds: float) -> dict:
    N = 100
    oracle = ss.SampleEvaluateOracle(pi, rng=3)
    x = oracle.draw_prompts(m // N)
    rng = np.random.default_rng(4)
    tracemalloc.start()
    start = time.perf_counter()
    for _chunk in oracle.stream(x, N, chunk_size=STREAM_CHUNK):
        pass
    t_stream = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    if oracle.queries != m:
        raise AssertionError(f"stream counted {oracle.queries} queries, expected {m}")
    start = time.perf_counter()
    for done in range(0, m, STREAM_CHUNK):
        rng.random(min(STREAM_CHUNK, m - done))
    t_raw = time.perf_counter() - start
    return {
        "name": f"oracle/stream_m{m:.0e}".replace("+0", ""),
        "ratio": t_stream / t_raw,
        "baseline": f"rng.random in chunks of {STREAM_CHUNK}, {m} in all",
        "target": TARGET,
        "better": "lower",
        "sizes": {"n_contexts": pi.n_contexts, "n_responses": pi.n_responses, "N": N, "m": m,
                  "chunk_size": STREAM_CHUNK, "x_bytes": x.nbytes},
        "seconds": {"oracle": t_stream, "baseline": t_raw, "alias_build_once": build_seconds},
        "peak_traced_bytes_excluding_x": peak,
        "ns_per_query": 1e9 * t_stream / m,
    }


def run(quick: bool) -> list[dict]:
    """Time faithful oracle sampling against raw uniforms; one dict per measured ratio.

    Quick mode keeps the worlds and shrinks m (and uses fewer repeats).
    """
    scale = 10 if quick else 1
    repeats = 3 if quick else 5
    big = _world(10**3, 10**4, seed=0)
    start = time.perf_counter()
    big._alias_tables()
    build_big = time.perf_counter() - start
    small = _world(50, 200, seed=1)
    start = time.perf_counter()
    small._alias_tables()
    build_small = time.perf_counter() - start
    results = [
        _case("oracle/X1e3_Y1e4_N100", big, 10**5 // scale, 100, repeats, build_big),
        _case("oracle/X1e3_Y1e4_N1", big, 10**6 // scale, 1, repeats, build_big),
        _case("oracle/X1e3_Y1e4_N1e4", big, 10**3 // scale, 10**4, repeats, build_big),
        _case("oracle/X50_Y200_N100", small, 10**5 // scale, 100, repeats, build_small),
    ]
    results.append(_stream_case(big, 10**8 // scale, build_big))
    return results


if __name__ == "__main__":
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(f"{row['name']:<26} ratio {row['ratio']:6.2f}  target <= {row['target']}  {row['seconds']}")
