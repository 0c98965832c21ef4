"""Named experiments (grid × seeds → tidy records), the sweep runner and its executors.

``experiments.list()`` lists the registered experiments; ``experiments.run``
runs one (see ``sharpsim.experiments.runner``).
"""

from .registry import Experiment, get, list_experiments, register

# --- experiment definitions (importing a module registers its experiments) ---
from . import decoding, inference, lower_bound, rlhf, sft  # noqa: F401,E402

list = list_experiments  # the DESIGN.md name: ``experiments.list()``

__all__ = ["Experiment", "get", "list", "list_experiments", "register"]
