"""Theory as code (SPEC §8, §9).

- ``sharpsim.theory.bounds``: one function per guarantee of Huang et al.
  (ICLR 2025), every constant the paper hides exposed as a keyword.
- ``sharpsim.theory.instances``: the paper's constructions (the lower-bound
  family, Example J.1, Prop. E.1, Prop. E.2, ...) with their claimed quantities.
- ``sharpsim.theory.verify``: ``run()`` / ``sharpsim verify``, every stated
  result checked numerically.

The public names of ``bounds`` and ``instances`` are also available here.
"""

from . import bounds, instances
from .bounds import *  # noqa: F403  (the names listed in bounds.__all__)
from .instances import *  # noqa: F403  (the names listed in instances.__all__)

__all__ = ["bounds", "instances", *bounds.__all__, *instances.__all__]
