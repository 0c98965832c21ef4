"""Model classes ``Π`` and the problems the sharpening algorithms solve over them.

One module per class family; :mod:`~sharpsim.classes.base` defines the
objectives every class solves (MLE of Section 2.1, the DPO regression of
Eq. (4) / Eq. (8), the XPO step of Algorithm 1, logistic DPO) and the data
conventions (SPEC §1, §7):

- :mod:`~sharpsim.classes.base`: :class:`ModelClass`; ``_pairs``: the shared pair data and objectives.
- :mod:`~sharpsim.classes.finite`: :class:`FiniteClass` (enumeration; Theorem 4.1).
- :mod:`~sharpsim.classes.tabular`: :class:`TabularClass` (counts, exact least squares, L-BFGS-B).
- :mod:`~sharpsim.classes.linear`: :class:`LinearSoftmaxClass` (Definition J.3).
- :mod:`~sharpsim.classes.autoregressive`: :class:`PrefixTreeClass`, :class:`MarkovClass`.

Exact where possible: tabular MLE (counts), finite classes (enumeration),
tabular and linear-softmax DPO regression (the normalisers cancel in ``Δ_π``,
leaving linear least squares). Elsewhere iterative solvers with analytic
gradients (regularised Newton over the ball for the linear softmax class,
L-BFGS-B in a box for the row-softmax classes): the
linear-softmax MLE and logistic DPO (concave / convex), and XPO, whose
optimism term ``α log π(y'|x)`` is concave in the logits, so the minimised
objective is non-convex; it is solved from several starting points.
"""

from .autoregressive import MarkovClass, PrefixTreeClass
from .base import ModelClass
from .finite import FiniteClass
from .linear import LinearSoftmaxClass
from .tabular import TabularClass

__all__ = [
    "ModelClass",
    "FiniteClass",
    "TabularClass",
    "LinearSoftmaxClass",
    "PrefixTreeClass",
    "MarkovClass",
]
