"""The record every named instance constructor returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np


def _freeze(value):
    """Read-only view of arrays, dicts and lists, so an instance cannot drift after construction."""
    if isinstance(value, np.ndarray):
        value = value.view()
        value.setflags(write=False)
        return value
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


@dataclass(frozen=True)
class Instance:
    """A construction from the paper, with the quantities the paper states about it.

    Attributes:
      name: short identifier, e.g. ``"lower_bound_family"``.
      base: the base model ``π_base`` (a policy).
      mu: prompt distribution ``[n_contexts]``.
      model_class: the class ``Π`` the construction is about, or ``None``.
      claims: the paper's statements about the instance, each computed exactly
        (floats, booleans, arrays); the tests check them independently.
      reference: where in the paper it comes from (``"Example J.1"``).
      details: everything else the construction defines (features, the hidden
        index, the graph, the answer map, ...).

    Example:
      >>> import numpy as np, sharpsim as ss
      >>> inst = Instance("toy", ss.TabularPolicy([[1.0]]), np.ones(1), None, {"c": 1.0}, "none")
      >>> inst.claims["c"]
      1.0
    """

    name: str
    base: Any
    mu: np.ndarray
    model_class: Any
    claims: Mapping[str, Any]
    reference: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "mu", _freeze(np.asarray(self.mu, dtype=float)))
        object.__setattr__(self, "claims", _freeze(dict(self.claims)))
        object.__setattr__(self, "details", _freeze(dict(self.details)))

    def __repr__(self) -> str:
        return f"Instance(name={self.name!r}, reference={self.reference!r}, claims={sorted(self.claims)})"
