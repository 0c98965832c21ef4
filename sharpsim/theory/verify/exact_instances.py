"""Decoding and the named constructions checked: Prop. 3.1 (greedy), Prop. E.1 (MAX-CUT), Prop. E.2 (non-closure)."""

from __future__ import annotations

import numpy as np

from ...policies import all_sequences, encode_sequences
from ..instances import (
    greedy_failure_example,
    maxcut_instance,
    nonclosure_instance,
    nonclosure_max_mode_mass,
)
from .reference import ROUND_OFF
from .report import CheckResult
from .worlds import planted_mode_joint


def check_prop_3_1(tk, rng, quick: bool) -> CheckResult:
    """Prop. 3.1: greedy decoding returns a mode of mass > 1/2; the SPEC §2 example shows tightness."""
    cases = agree = 0
    for _ in range(15 if quick else 60):
        V, H = int(rng.integers(2, 4)), int(rng.integers(2, 5))
        policy, planted = planted_mode_joint(rng, V, H)
        greedy = tk.greedy_decode(policy, np.array([0]))
        cases += 1
        agree += int(encode_sequences(greedy, V)[0] == planted)
    example = greedy_failure_example()
    greedy = tk.greedy_decode(example.base, np.array([0]))[0]
    misses = not np.array_equal(greedy, example.claims["mode"])
    return CheckResult(
        "Prop. 3.1",
        f"greedy = mode when mass > 1/2 ({cases} joints); tightness",
        f"{agree}/{cases} agree; greedy misses mass-{example.claims['mode_mass']:.2f} mode: {misses}",
        f"{cases}/{cases}; True",
        agree == cases and misses,
        numbers={"cases": cases, "agree": agree, "tight_example_greedy_misses": misses},
    )


def check_prop_e2(tk, rng, quick: bool) -> CheckResult:
    """Prop. E.2: the base's mode has mass Ω(1) and π*_β puts > 1/2 on it, but no model of the class can.

    The mode is the construction's sequence (2, 1) (tokens (1, 0)), not ``mode_mask``'s.
    """
    n = 6
    inst = nonclosure_instance(n, rng=rng, restarts=2)
    best = nonclosure_max_mode_mass(
        n, float(inst.details["B"]), restarts=4 if quick else 16, rng=rng
    )
    table = inst.base.to_tabular()
    mode = int(
        encode_sequences(inst.claims["mode"], inst.base.vocab_size)
    )  # the construction's mode (1, 0)
    base_mass = float(table.probs[0, mode])
    sharpened = float(tk.tilted(table, 0.1).probs[0, mode])
    ok = best["max_mass"] <= 0.5 + ROUND_OFF and base_mass > 1 / 6 and sharpened > 0.5
    return CheckResult(
        "Prop. E.2",
        f"non-closure instance, n={n}: class max vs base",
        f"class max {best['max_mass']:.4f}; base {base_mass:.3f}; pi*_0.1 {sharpened:.3f}",
        "<= 1/2; > 1/6; > 1/2",
        ok,
        numbers={
            "class_max": best["max_mass"],
            "base_mode_mass": base_mass,
            "sharpened_mode_mass": sharpened,
        },
    )


def _random_graph(rng, n_vertices: int) -> np.ndarray:
    upper = np.triu(rng.random((n_vertices, n_vertices)) < 0.5, k=1)
    upper[0, 1] = True  # at least one edge
    return (upper | upper.T).astype(int)


def check_prop_e1(tk, rng, quick: bool) -> CheckResult:
    """Prop. E.1: the sequence mode of the MAX-CUT model is exactly the maximum cuts; greedy can miss it."""
    graphs = [_random_graph(rng, int(rng.integers(4, 7))) for _ in range(4 if quick else 12)]
    exact = 0
    for adjacency in graphs:
        n, n_edges = adjacency.shape[0], int(adjacency.sum()) // 2
        table = maxcut_instance(adjacency, coupling=1.0 / n_edges).base.to_tabular()
        spins = all_sequences(2, n)
        cuts = np.einsum(
            "ki,ij,kj->k", spins, adjacency, 1 - spins
        )  # edges with endpoints on both sides
        best = spins[cuts == cuts.max()]
        expected = np.zeros(table.n_responses, dtype=bool)
        expected[encode_sequences(np.c_[best, np.ones((best.shape[0], 2), dtype=np.int64)], 2)] = (
            True
        )
        exact += int(np.array_equal(tk.mode_mask(table)[0], expected))
    cycle = np.roll(np.eye(5, dtype=int), 1, axis=1) + np.roll(np.eye(5, dtype=int), -1, axis=1)
    inst = maxcut_instance(cycle)
    greedy = tk.greedy_decode(inst.base, np.array([0]))[0]
    greedy_misses = not bool(tk.mode_mask(inst.base.to_tabular())[0][encode_sequences(greedy, 2)])
    return CheckResult(
        "Prop. E.1",
        f"MAX-CUT model on {len(graphs)} random graphs; greedy on C5",
        f"{exact}/{len(graphs)} mode sets = max cuts; greedy misses: {greedy_misses}",
        f"{len(graphs)}/{len(graphs)}; True",
        exact == len(graphs) and greedy_misses,
        numbers={"graphs": len(graphs), "exact": exact, "greedy_misses_on_c5": greedy_misses},
    )
