"""Seeded random worlds for the checks: ties, zeros and tiny masses on purpose."""

from __future__ import annotations

import numpy as np

from ...policies import JointAutoregressivePolicy, TabularPolicy


def random_tabular(
    rng: np.random.Generator, max_contexts: int = 4, max_responses: int = 7
) -> TabularPolicy:
    """A table from small integer weights (exact ties), some zeros and a few 1e-12..1e-200 masses."""
    n_x = int(rng.integers(1, max_contexts + 1))
    n_y = int(rng.integers(2, max_responses + 1))
    weights = rng.integers(0, 5, size=(n_x, n_y)).astype(float)
    dead = weights.sum(axis=1) == 0
    weights[dead, 0] = 1.0
    tiny = rng.random((n_x, n_y)) < 0.1
    weights[tiny] = rng.choice([1e-12, 1e-30, 1e-200], size=int(tiny.sum()))
    return TabularPolicy(weights / weights.sum(axis=1, keepdims=True))


def random_tabular_worlds(rng: np.random.Generator, count: int, **kwargs) -> list:
    return [random_tabular(rng, **kwargs) for _ in range(count)]


def unique_mode_world(
    rng: np.random.Generator, n_contexts: int = 3, n_responses: int = 6
) -> TabularPolicy:
    """Dirichlet rows with a strictly largest entry (unique modes, positive margin)."""
    probs = rng.dirichlet(np.ones(n_responses), size=n_contexts)
    top = np.sort(probs, axis=1)
    if np.any(top[:, -1] <= top[:, -2] * (1 + 1e-6)):
        return unique_mode_world(rng, n_contexts, n_responses)
    return TabularPolicy(probs)


def planted_mode_joint(rng: np.random.Generator, vocab_size: int, horizon: int):
    """A joint over ``V^H`` whose mode is a random sequence with mass ``> 1/2`` (Prop. 3.1's premise)."""
    size = vocab_size**horizon
    weight = rng.uniform(0.5 + 1e-3, 0.95)
    planted = int(rng.integers(size))
    joint = (1.0 - weight) * rng.dirichlet(np.ones(size))
    joint[planted] += weight
    return JointAutoregressivePolicy(joint[None, :], vocab_size, horizon), planted


def planted_margin_world(
    rng: np.random.Generator, gamma_margin: float, n_contexts: int = 3, max_responses: int = 8
) -> tuple:
    """A table whose modes are planted with margin exactly ``gamma_margin`` at prompt 0, ``>=`` elsewhere.

    Each row: runner-up weight 1, the others uniform in ``[0, 1]``, the mode
    ``(1 + γ_x)`` with ``γ_0 = gamma_margin`` and ``γ_x`` up to twice it.

    Returns:
      ``(TabularPolicy, modes)`` with ``modes`` the int array ``[n_contexts]`` of planted modes.
    """
    n_y = int(rng.integers(2, max_responses + 1))
    gammas = gamma_margin * np.r_[1.0, rng.uniform(1.0, 2.0, size=n_contexts - 1)]
    weights = rng.random((n_contexts, n_y))
    runner_up = rng.integers(n_y, size=n_contexts)
    modes = (runner_up + 1 + rng.integers(n_y - 1, size=n_contexts)) % n_y
    rows = np.arange(n_contexts)
    weights[rows, runner_up] = 1.0
    weights[rows, modes] = 1.0 + gammas
    return TabularPolicy(weights / weights.sum(axis=1, keepdims=True)), modes
