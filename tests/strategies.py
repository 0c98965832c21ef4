"""Hypothesis strategies for random worlds: tabular policies with ties, zeros and tiny masses."""

import numpy as np
from hypothesis import strategies as st

import sharpsim as ss


@st.composite
def prob_tables(draw, max_contexts=4, max_responses=6, min_responses=1, allow_zeros=True):
    """A ``[X, Y]`` probability table with deliberate ties, zeros and tiny entries.

    Built from integer weights (so ties are exact) plus occasional tiny masses,
    normalised exactly row by row.
    """
    n_x = draw(st.integers(1, max_contexts))
    n_y = draw(st.integers(min_responses, max_responses))
    rows = []
    for _ in range(n_x):
        low = 0 if allow_zeros else 1
        w = np.array(draw(st.lists(st.integers(low, 4), min_size=n_y, max_size=n_y)), dtype=float)
        if w.sum() == 0:
            w[draw(st.integers(0, n_y - 1))] = 1.0
        tiny_at = draw(st.lists(st.integers(0, n_y - 1), max_size=2))
        for j in tiny_at:
            w[j] = draw(st.sampled_from([1e-12, 1e-30, 1e-200]))
        rows.append(w / w.sum())
    return np.array(rows)


@st.composite
def tabular_policies(draw, **kwargs):
    return ss.TabularPolicy(draw(prob_tables(**kwargs)))


@st.composite
def prompt_distributions(draw, n_contexts):
    """``None`` (uniform) or an explicit distribution over prompts, possibly with zeros."""
    if draw(st.booleans()):
        return None
    w = np.array(draw(st.lists(st.integers(0, 3), min_size=n_contexts, max_size=n_contexts)), float)
    if w.sum() == 0:
        w[0] = 1.0
    return w / w.sum()
