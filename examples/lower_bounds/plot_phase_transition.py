r"""
The lower bound's phase transition (Thm 3.1')
=============================================

The lower-bound family: even the Bayes-optimal learner fails below a sample size.

Theorem 3.1′'s proof: on the lower-bound family (:func:`sharpsim.theory.lower_bound_family`),
even the Bayes-optimal learner fails with constant probability until the number of queries is of
order :math:`dM/\Delta`. The experiment computes its error exactly
(:func:`sharpsim.theory.lower_bound_bayes_error`) and by simulation, against :math:`m/(dM/\Delta)`.
See :ref:`theory-sft`.

The script runs the registered experiment ``phase_transition`` on its *quick* grid (the one
``sharpsim reproduce`` uses) and draws its paper-style figure; ``sharpsim run phase_transition --full``
runs the paper-scale grid.
"""

# %%
# Run the sweep
# -------------
# ``experiments.run`` evaluates each cell of the grid for each seed and returns tidy
# records, one dict per measured point; the same seed gives the same records whatever
# executor runs them.
from collections import defaultdict
from pathlib import Path

import numpy as np

from sharpsim import experiments, plotting

experiment = experiments.get("phase_transition")
print(experiment.description)
print("quick grid:", dict(experiment.quick_grid), "| seeds:", experiment.quick_seeds)
records = experiments.run("phase_transition", quick=True, progress=False)
print(len(records), "records")

# %%
# Look at the numbers
# -------------------
# The mean over seeds of the measured columns, for each d and ratio.
keys, values = ("d", "ratio"), ("error_exact", "error_mc")
table = defaultdict(list)
for record in records:
    if all(v in record for v in values):
        table[tuple(record[k] for k in keys)].append([record[v] for v in values])
print("  ".join(f"{k:>14s}" for k in keys + values))
for key, rows in sorted(table.items(), key=lambda kv: tuple(map(str, kv[0]))):
    means = np.mean(np.asarray(rows, dtype=float), axis=0)
    print("  ".join(f"{str(k):>14s}" for k in key) + "  " + "  ".join(f"{m:14.4g}" for m in means))

# %%
# The figure
# ----------
# Thm 3.1' phase transition: Bayes-optimal error vs m/(dM/Delta), exact and Monte Carlo.
#
# The error stays high below m ≈ dM/Δ and falls past it, for every d.
out = plotting.figure("phase_transition", records, Path("sharpsim_figures"))
print("written:", *[p.name for p in out])
