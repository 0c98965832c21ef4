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
from pathlib import Path

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
print(experiments.mean_table(records, by=("d", "ratio"), values=("error_exact", "error_mc")))

# %%
# The figure
# ----------
# Thm 3.1' phase transition: Bayes-optimal error vs m/(dM/Delta), exact and Monte Carlo.
#
# The error stays high below m ≈ dM/Δ and falls past it, for every d.
out = plotting.figure("phase_transition", records, Path("sharpsim_figures"))
print("written:", *[p.name for p in out])
