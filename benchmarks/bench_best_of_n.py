"""Benchmark: best-of-N by its exact law against the faithful sampler and a per-prompt loop.

``run(quick)`` returns one dict per measured ratio, each against a baseline
timed in the same run:

* ``bon/law_vs_faithful``: best-of-``N`` picks for ``k = 10^5`` prompts with
  ``N = 1000`` on a world ``|X| = 100``, ``|Y| = 1000`` (an SFT-sized data
  set). Baseline: the faithful sampler (``k·N = 10^8`` responses drawn through
  the oracle and scored, in chunks); measured: :func:`sharpsim.best_of_n_law`
  on the distinct prompts drawn plus one draw per prompt from it
  (``method="law"``). Same world, prompts and query count. Target 50×. The
  faithful cost grows like ``k·N``, the law's like ``|X|·|Y|·log|Y| + k``, so
  the ratio grows with ``k`` and ``N``.
* ``bon/law_vectorised_vs_loop``: :func:`sharpsim.best_of_n_law` on
  ``|X| = 10^3``, ``|Y| = 10^5`` (``N = 64``) against a Python loop over
  prompts applying the same per-row computation and building the same
  validated ``TabularPolicy``; the two tables are checked to agree. Ratio =
  loop seconds / vectorised seconds. With ``10^5`` responses per row each
  loop iteration is itself a large vectorised call, so parity is expected.
* ``bon/law_vectorised_vs_loop_many_prompts``: the same comparison where the
  loop over prompts does cost: ``|X| = 10^5``, ``|Y| = 100``.

Quick mode shrinks the sizes and says so in ``sizes["note"]``.
"""

from __future__ import annotations


import numpy as np

import sharpsim as ss
from _timing import best_time
from sharpsim.inference.bon_law import _bon_log_law


def _random_world(n_contexts: int, n_responses: int, seed: int) -> ss.TabularPolicy:
    logits = 2.0 * np.random.default_rng(seed).gumbel(size=(n_contexts, n_responses))
    return ss.TabularPolicy.from_logits(logits)




def _law_vs_faithful(quick: bool) -> dict:
    n_x, n_y, N = 100, 1000, 1000
    k = 10**4 if quick else 10**5
    base = _random_world(n_x, n_y, seed=0)
    x = np.random.default_rng(1).integers(0, n_x, size=k)
    t_faithful, faithful = best_time(lambda: ss.best_of_n(base, x, N, method="faithful", rng=2))
    t_law, law = best_time(lambda: ss.best_of_n(base, x, N, method="law", rng=3), repeats=5)
    if faithful.queries != law.queries or law.queries != k * N:
        raise AssertionError("both methods must charge k·N queries")
    return {
        "name": "bon/law_vs_faithful",
        "ratio": t_faithful / t_law,
        "baseline": "faithful best-of-N sampler (k·N responses drawn through the oracle and scored)",
        "target": 50.0,
        "sizes": {"n_contexts": n_x, "n_responses": n_y, "N": N, "prompts": k,
                  "note": "quick: 1e4 prompts (full: 1e5)" if quick else "full size"},
        "seconds": {"law": t_law, "faithful": t_faithful},
    }


def _per_prompt_loop(pi: ss.TabularPolicy, N: int) -> ss.TabularPolicy:
    law = np.empty(pi.log_probs.shape)
    for x in range(pi.n_contexts):
        law[x : x + 1] = _bon_log_law(pi.log_probs[x : x + 1], pi.log_probs[x : x + 1], float(N), "first")
    return ss.TabularPolicy.from_log_probs(law)


def _vectorised_vs_loop(quick: bool, many_prompts: bool = False) -> dict:
    if many_prompts:
        name, (n_x, n_y), full = "bon/law_vectorised_vs_loop_many_prompts", (10**4, 100) if quick else (10**5, 100), "1e5, 100"
    else:
        name, (n_x, n_y), full = "bon/law_vectorised_vs_loop", (100, 10**4) if quick else (10**3, 10**5), "1e3, 1e5"
    N = 64
    base = _random_world(n_x, n_y, seed=4)
    repeats = 3 if quick else 1
    t_vec, law = best_time(lambda: ss.best_of_n_law(base, N), repeats)
    t_loop, looped = best_time(lambda: _per_prompt_loop(base, N), repeats)
    if not np.array_equal(law.log_probs, looped.log_probs):
        raise AssertionError("vectorised and per-prompt laws differ")
    return {
        "name": name,
        "ratio": t_loop / t_vec,
        "baseline": "Python loop over prompts, same per-row kernel and validation",
        "target": 1.0,
        "sizes": {"n_contexts": n_x, "n_responses": n_y, "N": N,
                  "note": f"quick: |X|={n_x}, |Y|={n_y} (full: {full})" if quick else "full size"},
        "seconds": {"vectorised": t_vec, "loop": t_loop},
    }


def run(quick: bool) -> list[dict]:
    """Measured ratios (see the module docstring)."""
    return [_law_vs_faithful(quick), _vectorised_vs_loop(quick), _vectorised_vs_loop(quick, many_prompts=True)]


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(quick="--full" not in sys.argv), indent=2))
