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


@st.composite
def prob_tables_of_shape(draw, n_contexts, n_responses, allow_zeros=True):
    """A ``[n_contexts, n_responses]`` table built like :func:`prob_tables` (ties, zeros, tiny masses)."""
    rows = []
    for _ in range(n_contexts):
        w = np.array(
            draw(
                st.lists(
                    st.integers(0 if allow_zeros else 1, 4),
                    min_size=n_responses,
                    max_size=n_responses,
                )
            ),
            dtype=float,
        )
        if w.sum() == 0:
            w[draw(st.integers(0, n_responses - 1))] = 1.0
        for j in draw(st.lists(st.integers(0, n_responses - 1), max_size=2)):
            w[j] = draw(st.sampled_from([1e-12, 1e-30, 1e-200]))
        rows.append(w / w.sum())
    return np.array(rows)


@st.composite
def unique_mode_tables(draw, **kwargs):
    """Like :func:`prob_tables`, but each row's first maximiser is boosted by a drawn factor.

    Every row then has a unique mode, and the γ = 0 margin is at least ``factor - 1``
    (exactly that when the row had a tie at the top).
    """
    probs = draw(prob_tables(**kwargs))
    factor = draw(st.sampled_from([1.01, 1.25, 2.0, 5.0, 30.0]))
    rows = []
    for row in probs:
        w = row.copy()
        w[int(np.argmax(w))] *= factor
        rows.append(w / w.sum())
    return np.array(rows)


@st.composite
def markov_policies(draw, max_contexts=2, max_vocab=3, max_horizon=3):
    """A random :class:`~sharpsim.MarkovPolicy`; rows have ties, zeros and tiny masses."""
    n_x, vocab, horizon = (
        draw(st.integers(1, max_contexts)),
        draw(st.integers(1, max_vocab)),
        draw(st.integers(1, max_horizon)),
    )
    initial = draw(prob_tables_of_shape(n_x, vocab))
    rows = draw(prob_tables_of_shape(n_x * (horizon - 1) * vocab, vocab))
    return ss.MarkovPolicy(initial, rows.reshape(n_x, horizon - 1, vocab, vocab))


@st.composite
def joint_autoregressive_policies(draw, max_contexts=2, max_vocab=3, max_horizon=3):
    """A random :class:`~sharpsim.JointAutoregressivePolicy` from a joint table with ties, zeros, tiny masses."""
    n_x, vocab, horizon = (
        draw(st.integers(1, max_contexts)),
        draw(st.integers(1, max_vocab)),
        draw(st.integers(1, max_horizon)),
    )
    return ss.JointAutoregressivePolicy(
        draw(prob_tables_of_shape(n_x, vocab**horizon)), vocab, horizon
    )


def autoregressive_policies(**kwargs):
    """Either kind of random autoregressive policy."""
    return st.one_of(markov_policies(**kwargs), joint_autoregressive_policies(**kwargs))


@st.composite
def feature_tables(
    draw, max_contexts=3, max_responses=5, max_dim=3, min_responses=1, allow_tiny=True
):
    """Features ``φ [X, Y, d]`` with ``‖φ(x,y)‖₂ ≤ 1`` (Definition J.3).

    Random directions with drawn norms, plus deliberate edge cases: exactly unit
    norm, the zero vector, tiny vectors (``allow_tiny``) and duplicated
    responses (exact ties).
    """
    n_x = draw(st.integers(1, max_contexts))
    n_y = draw(st.integers(min_responses, max_responses))
    dim = draw(st.integers(1, max_dim))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    raw = rng.standard_normal((n_x, n_y, dim))
    raw /= np.maximum(np.linalg.norm(raw, axis=-1, keepdims=True), 1e-300)
    norms = [1.0, 0.7, 0.3, 0.0] + ([1e-12] if allow_tiny else [])
    scale = np.array(
        draw(st.lists(st.sampled_from(norms), min_size=n_x * n_y, max_size=n_x * n_y))
    ).reshape(n_x, n_y, 1)
    phi = raw * scale
    if n_y > 1 and draw(st.booleans()):
        phi[:, -1] = phi[:, 0]  # an exact tie between two responses
    return phi


@st.composite
def linear_softmax_policies(draw, max_norm=3.0, **kwargs):
    """A random :class:`~sharpsim.LinearSoftmaxPolicy` with ``‖θ‖ ≤ max_norm``."""
    phi = draw(feature_tables(**kwargs))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    theta = rng.standard_normal(phi.shape[-1])
    theta *= draw(st.floats(0.0, max_norm)) / max(np.linalg.norm(theta), 1e-300)
    return ss.LinearSoftmaxPolicy(phi, theta)


@st.composite
def reward_tables(draw, n_contexts, n_responses):
    """A reward table ``[n_contexts, n_responses]`` with many exact ties and some ``-inf`` entries."""
    values = draw(
        st.lists(
            st.sampled_from([-np.inf, -1.5, 0.0, 0.0, 2.0, 7.25]),
            min_size=n_contexts * n_responses,
            max_size=n_contexts * n_responses,
        )
    )
    return np.array(values, dtype=float).reshape(n_contexts, n_responses)
