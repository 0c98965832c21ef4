"""Named experiments (grid × seeds → tidy records), the sweep runner and its executors.

``experiments.list()`` lists the registered experiments; ``experiments.run``
runs one over its grid × seeds (see :mod:`sharpsim.experiments.runner`) on an
executor from :mod:`sharpsim.experiments.executors`; ``read_results`` reads a
saved ``results.csv`` back with its types.
"""

# --- experiment definitions (importing a module registers its experiments) ---
from . import (
    decoding,
    imperfect,
    inference,
    lm_study,  # the real-LM study (backend "torch"; torch imported only when it runs)
    lower_bound,
    power_chain,
    rlhf,
    sft,
)
from .drive import Interrupted, TaskError
from .lock import FolderLockedError
from .registry import Experiment, get, list_experiments, register
from .results import CorruptResultsError, read_results
from .runner import ResultsMismatchError, Sweep, run
from .sizes import SweepTooLargeError
from .tables import mean_table

list = list_experiments  # the DESIGN.md name: ``experiments.list()``

__all__ = [
    "CorruptResultsError",
    "Experiment",
    "FolderLockedError",
    "Interrupted",
    "ResultsMismatchError",
    "Sweep",
    "SweepTooLargeError",
    "TaskError",
    "get",
    "list",
    "list_experiments",
    "mean_table",
    "read_results",
    "register",
    "run",
]
