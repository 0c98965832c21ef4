"""Named toy worlds for ``sharpsim info WORLD``: small, embedded, seeded, exact.

Each world is a base model with a prompt distribution, built from
:mod:`sharpsim.theory.instances` (or the demo's Markov model) with fixed
parameters, so ``info`` prints the same numbers on every machine.
:func:`describe` computes its exact quantities: sizes, coverage ``C_cov``
(Eq. 6), adaptive coverage ``E_x[1/max_y π(y|x)]``, margin ``γ_margin``
(Assumption 4.2), the base model's mass on its mode and the size of the mode
set, plus the instance's own scalar claims.

Example:
    >>> info = describe("greedy-failure")
    >>> info["n_responses"], round(info["coverage"], 6), info["mode_set_mass_min"]
    (4, 2.5, 0.4)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class World:
    """A named world: ``build()`` returns ``(base, mu, reference, claims)``."""

    name: str
    description: str
    build: Callable[[], tuple]


def _instance(inst):
    return inst.base, np.asarray(inst.mu), inst.reference, dict(inst.claims)


def _demo():
    from ..demo import toy_markov_world

    return toy_markov_world(0), None, "the worked example (sharpsim demo)", {}


def _greedy_failure():
    from ..theory.instances import greedy_failure_example

    return _instance(greedy_failure_example())


def _power_pivot():
    from ..theory.instances import power_sampling_pivot_example

    return _instance(power_sampling_pivot_example())


def _lower_bound():
    from ..theory.instances import lower_bound_family

    return _instance(lower_bound_family(4, 8, 0.25, rng=0, build_class=False))


def _separation():
    from ..theory.instances import separation_instance

    return _instance(separation_instance(4, rng=0))


def _maxcut():
    from ..theory.instances import maxcut_instance

    pentagon = np.roll(np.eye(5, dtype=int), 1, axis=1)
    return _instance(maxcut_instance(pentagon + pentagon.T))


def _hidden_knowledge():
    from ..theory.instances import hidden_knowledge_task

    return _instance(hidden_knowledge_task(8, 4, bonus=1.0, rng=0))


WORLDS = {
    w.name: w
    for w in (
        World("demo", "the demo's seeded Markov model: 4 prompts, V = 4, H = 6", _demo),
        World(
            "greedy-failure",
            "Prop. 3.1 tightness: greedy misses a mode of mass 0.4",
            _greedy_failure,
        ),
        World("power-pivot", "sequence-level power vs token temperature disagree", _power_pivot),
        World(
            "lower-bound",
            "Thm 3.1' hard family: d = 4 prompts, M = 8 candidate modes, Delta = 1/4",
            _lower_bound,
        ),
        World("separation", "Example J.1: linear softmax on a sphere packing, d = 4", _separation),
        World(
            "maxcut",
            "Prop. E.1: the mode of a linear softmax model is a MAX-CUT of the 5-cycle",
            _maxcut,
        ),
        World(
            "hidden-knowledge",
            "App. A synthetic task: 8 prompts, 4 answers, bonus 1",
            _hidden_knowledge,
        ),
    )
}


def names() -> list[str]:
    """The world names ``sharpsim info`` accepts."""
    return list(WORLDS)


def describe(name: str) -> dict:
    """The exact quantities of world ``name`` (a flat dict; see the module docstring).

    Raises:
        KeyError: naming the known worlds when ``name`` is not one.
    """
    from ..measures import adaptive_coverage, coverage, margin, mode_mask, mode_mass
    from ..policies import as_tabular

    if name not in WORLDS:
        raise KeyError(f"no world named {name!r}; known: {', '.join(WORLDS)}")
    world = WORLDS[name]
    base, mu, reference, claims = world.build()
    table = as_tabular(base, "base")
    masses = mode_mass(table)
    info = {
        "world": name,
        "description": world.description,
        "reference": reference,
        "n_contexts": table.n_contexts,
        "n_responses": table.n_responses,
        "coverage": coverage(table, mu),
        "adaptive_coverage": adaptive_coverage(table, mu),
        "margin": margin(table, mu),
        "mode_set_mass_mean": float(np.average(masses, weights=mu)),
        "mode_set_mass_min": float(masses.min()),
        "modes_per_prompt_max": int(mode_mask(table).sum(axis=1).max()),
    }
    for key, value in claims.items():
        if (
            isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating))
            and key not in info
        ):
            info[f"claim.{key}"] = value.item() if hasattr(value, "item") else value
    return info


def format_info(info: dict) -> str:
    """``describe``'s dict as aligned ``key  value`` lines, numbers rounded to 6 significant digits."""

    def show(value):
        if isinstance(value, float):
            return f"{value:.6g}"
        return str(value)

    width = max(len(k) for k in info)
    return "\n".join(f"{k:{width}s}  {show(v)}" for k, v in info.items())
