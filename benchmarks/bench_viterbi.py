"""Benchmark: exact sequence mode of a Markov policy by Viterbi vs exhaustive enumeration.

``run(quick)`` times :meth:`sharpsim.MarkovPolicy.mode` (Viterbi, ``O(k H V²)``)
at V = 50, H = 50, where enumeration (50**50 sequences) is impossible, and, at
the largest horizon that enumeration still accepts (V = 50, H = 3: 125 000
sequences, under ``MAX_ENUMERATION``), times Viterbi against the generic
enumeration mode :meth:`sharpsim.AutoregressivePolicy.mode` on the same
policy and prompts. The ratio is ``enumeration seconds / Viterbi seconds``;
both answers are checked to be identical before any number is reported.
"""

from __future__ import annotations

import numpy as np
from _timing import best_time, rows_with_peak_rss

import sharpsim as ss
from sharpsim.policies.base import MAX_ENUMERATION

VOCAB = 50


def _random_markov(n_contexts: int, vocab: int, horizon: int, seed: int = 0) -> ss.MarkovPolicy:
    rng = np.random.default_rng(seed)
    initial = rng.dirichlet(np.full(vocab, 0.5), size=n_contexts)
    transition = rng.dirichlet(np.full(vocab, 0.5), size=(n_contexts, horizon - 1, vocab))
    return ss.MarkovPolicy(initial, transition)


def _largest_enumerable_horizon(vocab: int) -> int:
    horizon = 1
    while vocab ** (horizon + 1) <= MAX_ENUMERATION:
        horizon += 1
    return horizon


def run(quick: bool) -> list[dict]:
    """The two rows below, each with the peak resident memory of the whole measurement."""
    return rows_with_peak_rss(_run, quick)


def _run(quick: bool) -> list[dict]:
    """Time Viterbi at V = H = 50 and its speed-up over enumeration at the largest enumerable size.

    ``target`` for the ratio: Viterbi does ``H·V²`` work against enumeration's
    ``≈ V**H``, so at V = 50, H = 3 we expect well over an order of magnitude
    (target 10). At V = H = 50 enumeration is impossible, so the number that
    matters is Viterbi's own time; its ``ratio`` is the H = 3 enumeration time
    over the H = 50 Viterbi time, target 1: Viterbi solves the 50**50-sequence
    problem faster than enumeration solves the 125 000-sequence one.
    """
    n_contexts = 2 if quick else 8
    repeats = 2 if quick else 5
    x = np.arange(n_contexts)
    h_small = _largest_enumerable_horizon(VOCAB)
    small = _random_markov(n_contexts, VOCAB, h_small, seed=1)
    t_viterbi, mode_v = best_time(lambda: small.mode(x), repeats)
    t_enum, mode_e = best_time(lambda: ss.AutoregressivePolicy.mode(small, x), repeats)
    if not np.array_equal(mode_v, mode_e):
        raise AssertionError("Viterbi and enumeration modes differ")
    big = _random_markov(n_contexts, VOCAB, 50, seed=2)
    t_big, mode_big = best_time(lambda: big.mode(x), repeats)
    if not np.all(np.isfinite(big.log_prob(x, mode_big))):
        raise AssertionError("Viterbi mode at H = 50 has probability 0")
    note = "quick: 2 prompts, 2 repeats" if quick else "8 prompts, best of 5"
    return [
        {
            "name": "viterbi/vs_enumeration",
            "ratio": t_enum / t_viterbi,
            "baseline": f"generic enumeration mode over V**H = {VOCAB**h_small} sequences (prefix tree, log space)",
            "target": 10.0,
            "sizes": {
                "n_contexts": n_contexts,
                "vocab_size": VOCAB,
                "horizon": h_small,
                "note": note,
            },
            "seconds": {"viterbi": t_viterbi, "baseline": t_enum},
        },
        {
            "name": "viterbi/V50_H50",
            "ratio": t_enum / t_big,
            "baseline": f"enumeration mode at H = {h_small} (enumerating 50**50 sequences is impossible)",
            "target": 1.0,
            "sizes": {"n_contexts": n_contexts, "vocab_size": VOCAB, "horizon": 50, "note": note},
            "seconds": {"viterbi": t_big, "baseline": t_enum},
        },
    ]


if __name__ == "__main__":
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(
            f"{row['name']:<24} ratio {row['ratio']:10.2f}  target {row['target']:>6.2f}  {row['seconds']}"
        )
