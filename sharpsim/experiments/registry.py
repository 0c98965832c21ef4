"""The registry of named experiments.

A named experiment is a pure function ``func(rng, **params) -> list[dict]``:
one grid cell's parameters and a ``numpy.random.Generator`` in, tidy records
out (one flat dict of scalars per measured point). It declares a default
(paper-scale) grid and a ``quick`` grid; a grid maps parameter names to lists
of values and its cells are their Cartesian product, in key order. The runner
(``sharpsim.experiments.runner``) runs grid × seeds; ``sharpsim.plotting``
turns the records into the figures named in ``figures``.

Example:
    >>> from sharpsim.experiments.registry import Experiment
    >>> exp = Experiment("toy", lambda rng, a, b: [{"y": a * b}], "a toy",
    ...                  grid={"a": [1, 2], "b": [3]}, quick_grid={"a": [1], "b": [3]})
    >>> exp.cells(quick=False)
    [{'a': 1, 'b': 3}, {'a': 2, 'b': 3}]
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

_REGISTRY: dict[str, Experiment] = {}


@dataclass(frozen=True)
class Experiment:
    """A named experiment: ``func(rng, **params) -> list[dict]`` plus its grids.

    Attributes:
        name: registry key, also the ``sharpsim run NAME`` argument.
        func: ``func(rng, **cell) -> list[dict]``; each dict one measured point
            whose values are ``int``, ``float``, ``bool`` or ``str``.
        description: one line for ``sharpsim list``.
        grid: the paper-scale grid, ``{param: [values, ...]}``.
        quick_grid: the small grid used by ``quick=True`` (the main job).
        figures: names of the figures (``sharpsim.plotting``) this experiment feeds.
        seeds: default number of seeds for the full grid.
        quick_seeds: default number of seeds for the quick grid.
        backend: ``"numpy"``, or ``"torch"`` for a real-LM experiment (it needs the
            torch extra; the main job leaves it out and ``sharpsim lm reproduce`` runs it).
    """

    name: str
    func: Callable[..., list]
    description: str
    grid: Mapping[str, Sequence] = field(default_factory=dict)
    quick_grid: Mapping[str, Sequence] = field(default_factory=dict)
    figures: tuple[str, ...] = ()
    seeds: int = 5
    quick_seeds: int = 3
    backend: str = "numpy"

    def cells(self, quick: bool = True) -> list[dict]:
        """The grid's cells (parameter dicts) in a fixed order: Cartesian product in key order."""
        grid = self.quick_grid if quick else self.grid
        keys = list(grid)
        return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


def register(
    name: str,
    *,
    description: str,
    grid: Mapping[str, Sequence],
    quick_grid: Mapping[str, Sequence],
    figures: Sequence[str] = (),
    seeds: int = 5,
    quick_seeds: int = 3,
    backend: str = "numpy",
):
    """Decorator registering ``func(rng, **params) -> list[dict]`` as experiment ``name``.

    Example:
        >>> from sharpsim.experiments.registry import register, get, _REGISTRY
        >>> @register("doc-toy", description="a toy", grid={"a": [1, 2]}, quick_grid={"a": [1]})
        ... def toy(rng, a):
        ...     return [{"value": a + rng.random()}]
        >>> get("doc-toy").cells(quick=True)
        [{'a': 1}]
        >>> del _REGISTRY["doc-toy"]
    """
    if backend not in ("numpy", "torch"):
        raise ValueError(f"backend must be 'numpy' or 'torch'; got {backend!r}")
    if name in _REGISTRY:
        raise ValueError(f"experiment {name!r} is already registered")

    def decorate(func):
        _REGISTRY[name] = Experiment(
            name,
            func,
            description,
            dict(grid),
            dict(quick_grid),
            tuple(figures),
            seeds,
            quick_seeds,
            backend,
        )
        return func

    return decorate


def get(name: str) -> Experiment:
    """The registered experiment called ``name``; ``KeyError`` listing the known names otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(
            f"no experiment named {name!r}; known: {', '.join(sorted(_REGISTRY))}"
        ) from None


def list_experiments() -> list[Experiment]:
    """Every registered experiment, sorted by name."""
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]
