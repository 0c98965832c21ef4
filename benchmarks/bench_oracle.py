"""Benchmark: faithful sample-and-evaluate queries against their memory floor, raw uniforms and 0.1.0.

Each case times ``x = oracle.draw_prompts(n); oracle.sample(x, N)`` (prompts
from μ, then N responses per prompt with their base log-likelihoods: m = n·N
queries of Definition 3.2) and, in the same run and interleaved with it
(best of several repeats, ``time.perf_counter``):

* ``floor``: what any exact sampler must at least do per query — one
  uniform, one random 8-byte read from a table as large as the oracle's
  alias tables, and the two output arrays (response, log-likelihood),
  vectorised in the same chunks. The table read is a word of the alias
  tables themselves, so no extra memory is used. ``ratio = oracle / floor``,
  target ``<= 1.5`` (issue 8, target 3).
* ``raw``: ``rng.random(m)`` alone. Reported beside the floor ratio
  (``ratio_vs_raw_rng``), with the floor's own ratio to raw uniforms.
* ``policy-table floor``: the same floor with the table only as large as
  the policy (``|X|·|Y|`` doubles, 80 MB here, which fits the 260 MB L3 cache
  of the reference machine while the 524 MB alias tables do not), as a
  stricter reference (``ratio_vs_policy_table_floor``).
* ``0.1.0``: the same calls under 0.1.0 in a subprocess (``_v010.run_v010``)
  with its own raw-uniform timing; ``speedup_vs_v010`` compares the two
  normalised by their same-process raw uniforms, so machine load cancels.

Cases: N = 100 (the target), N = 1 (prompt draws as many as responses),
N = 10^4 (a prompt's table row reused while cached), a small world whose
tables fit in cache, and a stream of m = 10^8 queries (10^7 in quick mode)
through :meth:`~sharpsim.SampleEvaluateOracle.stream`, whose peak traced
memory is reported. Building the alias tables is a one-time cost, reported
in ``seconds`` and excluded from the ratios. Each row reports the peak
resident memory of its case (``peak_rss_bytes``, tables included).
"""

from __future__ import annotations

import math
import time
import tracemalloc

import numpy as np
from _timing import PeakRSS
from _v010 import run_v010
from _worlds import random_world

import sharpsim as ss
from sharpsim.policies.alias import SAMPLE_CHUNK

TARGET_VS_FLOOR = 1.5
#: Alternating rounds of the 0.1.0 subprocess and the current code (best of each kept).
V010_ROUNDS = 2
STREAM_CHUNK = 1 << 16
COMMAND = "python benchmarks/run.py --only oracle"


def _world(n_contexts: int, n_responses: int, seed: int) -> ss.TabularPolicy:
    return random_world(
        n_contexts, n_responses, seed, scale=3.0
    )  # from_logits, built in blocks of rows


def _floor(table: np.ndarray, m: int, rng: np.random.Generator):
    """m uniforms, one random 8-byte read each from ``table``, written to two output arrays, in chunks."""
    y = np.empty(m, dtype=np.int64)
    value = np.empty(m)
    for start in range(0, m, SAMPLE_CHUNK):
        stop = min(start + SAMPLE_CHUNK, m)
        u = rng.random(stop - start)
        u *= table.shape[0]
        np.copyto(y[start:stop], u, casting="unsafe")
        np.take(table, y[start:stop], out=value[start:stop], mode="clip")
    return y, value


def _best(fns: dict, repeats: int) -> tuple[dict, dict]:
    """Best-of-``repeats`` wall and CPU seconds of each callable, interleaved so all see the same load."""
    wall = {k: math.inf for k in fns}
    cpu = {k: math.inf for k in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            wall[key] = min(wall[key], time.perf_counter() - start)
            cpu[key] = min(cpu[key], time.process_time() - start_cpu)
    return wall, cpu


def _check(pi: ss.TabularPolicy, x: np.ndarray, y: np.ndarray, log_prob: np.ndarray) -> None:
    """Cheap correctness guard: returned log-likelihoods are the table's, on a sample of pairs."""
    rows = np.random.default_rng(0).integers(0, x.shape[0], 1000)
    if not np.array_equal(log_prob[rows], pi.log_probs[x[rows, None], y[rows]]):
        raise AssertionError("oracle log-likelihoods differ from the policy's table")
    if not np.all(np.isfinite(log_prob[rows])):
        raise AssertionError("the oracle drew a zero-mass response")


_V010_CODE = """
import json, math, time
import numpy as np, sharpsim as ss
pi = ss.TabularPolicy.from_logits(np.random.default_rng({seed}).gumbel(size=({X}, {Y})) * 3.0)
pi._alias_tables()
oracle, rng = ss.SampleEvaluateOracle(pi, rng=1), np.random.default_rng(2)
def faithful():
    oracle.sample(oracle.draw_prompts({n}), {N})
best = [math.inf, math.inf]
for _ in range({repeats}):
    for i, fn in enumerate((faithful, lambda: rng.random({m}))):
        start = time.perf_counter(); fn(); best[i] = min(best[i], time.perf_counter() - start)
hwm = [int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmHWM")]
print(json.dumps({{"oracle": best[0], "raw": best[1], "peak_rss_bytes": hwm[0] if hwm else None}}))
"""


def _v010(seed: int, pi: ss.TabularPolicy, n: int, N: int, repeats: int) -> dict:
    code = _V010_CODE.format(
        seed=seed, X=pi.n_contexts, Y=pi.n_responses, n=n, N=N, m=n * N, repeats=repeats
    )
    return run_v010(code)


def _case(
    name: str,
    pi: ss.TabularPolicy,
    seed: int,
    n: int,
    N: int,
    repeats: int,
    build_seconds: float,
    compare_v010: bool,
    target: float | None = None,
) -> list[dict]:
    with PeakRSS() as mem:
        oracle = ss.SampleEvaluateOracle(pi, rng=1)
        rng = np.random.default_rng(2)
        m = n * N
        same_bytes = pi._alias_tables().records.view(np.float64)  # the alias tables' own words
        policy_table = pi.log_probs.reshape(-1)

        def faithful():
            x = oracle.draw_prompts(n)
            y, log_prob = oracle.sample(x, N)
            return x, y, log_prob

        _check(pi, *faithful())
        wall, cpu = _best(
            {
                "oracle": faithful,
                "floor": lambda: _floor(same_bytes, m, rng),
                "policy_table_floor": lambda: _floor(policy_table, m, rng),
                "raw": lambda: rng.random(m),
            },
            repeats,
        )
    sizes = {
        "n_contexts": pi.n_contexts,
        "n_responses": pi.n_responses,
        "n": n,
        "N": N,
        "m": m,
        "alias_table_bytes": same_bytes.nbytes,
        "policy_table_bytes": policy_table.nbytes,
    }
    seconds = {**wall, "alias_build_once": build_seconds}
    row = {
        "name": f"{name}/vs_floor",
        "ratio": wall["oracle"] / wall["floor"],
        "baseline": (
            f"floor in the same run: {m} uniforms, one random 8-byte read each from a table of "
            f"{same_bytes.nbytes / 2**20:.0f} MiB (the alias tables' size), two output arrays"
        ),
        "target": target,
        "better": "lower",
        "ratio_vs_raw_rng": wall["oracle"] / wall["raw"],
        "floor_vs_raw_rng": wall["floor"] / wall["raw"],
        "ratio_vs_policy_table_floor": wall["oracle"] / wall["policy_table_floor"],
        "cpu_time_ratio_vs_floor": cpu["oracle"] / cpu["floor"],
        "sizes": sizes,
        "seconds": seconds,
        "ns_per_query": 1e9 * wall["oracle"] / m,
        "peak_rss_bytes": mem.bytes,
        "command": COMMAND,
    }
    rows = [row]
    if compare_v010:
        # Not interleavable (another process): alternate rounds of 0.1.0 and a re-timing of now, keep the best.
        old = _v010(seed, pi, n, N, repeats)
        for _ in range(V010_ROUNDS - 1):
            again, _ = _best({"oracle": faithful, "raw": lambda: rng.random(m)}, repeats)
            wall["oracle"], wall["raw"] = (
                min(wall["oracle"], again["oracle"]),
                min(wall["raw"], again["raw"]),
            )
            newer = _v010(seed, pi, n, N, repeats)
            old = {k: min(old[k], newer[k]) if k != "peak_rss_bytes" else old[k] for k in old}
        rows.append(
            {
                "name": f"{name}/vs_v010",
                "ratio": (old["oracle"] / old["raw"]) / (wall["oracle"] / wall["raw"]),
                "baseline": "0.1.0 (commit 7df18a8) in a subprocess, each side normalised by its own rng.random(m)",
                "target": 1.0,
                "better": "higher",
                "v010_ratio_vs_raw_rng": old["oracle"] / old["raw"],
                "ratio_vs_raw_rng": wall["oracle"] / wall["raw"],
                "sizes": sizes,
                "seconds": {
                    "oracle": wall["oracle"],
                    "raw": wall["raw"],
                    "v010_oracle": old["oracle"],
                    "v010_raw": old["raw"],
                },
                "peak_rss_bytes": mem.bytes,
                "v010_peak_rss_bytes": old["peak_rss_bytes"],
                "command": COMMAND,
            }
        )
    return rows


def _stream_case(pi: ss.TabularPolicy, m: int, build_seconds: float) -> dict:
    N = 100
    with PeakRSS() as mem:
        oracle = ss.SampleEvaluateOracle(pi, rng=3)
        x = oracle.draw_prompts(m // N)
        rng = np.random.default_rng(4)
        table = pi._alias_tables().records.view(np.float64)
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
            _floor(table, min(STREAM_CHUNK, m - done), rng)
        t_floor = time.perf_counter() - start
        start = time.perf_counter()
        for done in range(0, m, STREAM_CHUNK):
            rng.random(min(STREAM_CHUNK, m - done))
        t_raw = time.perf_counter() - start
    return {
        "name": f"oracle/stream_m{m:.0e}/vs_floor".replace("+0", ""),
        "ratio": t_stream / t_floor,
        "baseline": f"the floor (see vs_floor rows) in chunks of {STREAM_CHUNK}, {m} in all",
        "target": None,
        "better": "lower",
        "ratio_vs_raw_rng": t_stream / t_raw,
        "sizes": {
            "n_contexts": pi.n_contexts,
            "n_responses": pi.n_responses,
            "N": N,
            "m": m,
            "chunk_size": STREAM_CHUNK,
            "x_bytes": x.nbytes,
        },
        "seconds": {
            "oracle": t_stream,
            "floor": t_floor,
            "raw": t_raw,
            "alias_build_once": build_seconds,
        },
        "peak_traced_bytes_excluding_x": peak,
        "peak_rss_bytes": mem.bytes,
        "ns_per_query": 1e9 * t_stream / m,
        "command": COMMAND,
    }


def run(quick: bool) -> list[dict]:
    """Time faithful oracle sampling against its floor, raw uniforms and 0.1.0; one dict per ratio.

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
    # The target (issue 8) is the N = 100 case; the others show where the floor stops being the cost
    # (N = 1: a prompt draw per query too; a cache-sized world: compute-bound, no memory latency to hide).
    results = _case(
        "oracle/X1e3_Y1e4_N100",
        big,
        0,
        10**5 // scale,
        100,
        repeats + 2,
        build_big,
        True,
        target=TARGET_VS_FLOOR,
    )
    results += _case("oracle/X1e3_Y1e4_N1", big, 0, 10**6 // scale, 1, repeats, build_big, False)
    results += _case(
        "oracle/X1e3_Y1e4_N1e4", big, 0, 10**3 // scale, 10**4, repeats, build_big, False
    )
    results += _case(
        "oracle/X50_Y200_N100", small, 1, 10**5 // scale, 100, repeats, build_small, False
    )
    results.append(_stream_case(big, 10**8 // scale, build_big))
    return results


if __name__ == "__main__":
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(
            f"{row['name']:<34} ratio {row['ratio']:6.2f}  target {row['target']}  "
            f"vs raw {row.get('ratio_vs_raw_rng', float('nan')):6.2f}  {row['seconds']}"
        )
