r"""
XPO's iterates approach π*_β (Thm J.1)
======================================

XPO iteration by iteration: the objective gap, the KL to the target and the queries.

Theorem J.1: XPO (Algorithm 1) drives the regret :math:`J_\beta(\pi^\star_\beta) - J_\beta(\hat\pi)
= \beta\,\mathrm{KL}(\hat\pi\,\|\,\pi^\star_\beta)` down at rate :math:`\sqrt{\mathrm{SEC}\,\log(\cdot)/T}`. The
experiment runs :func:`sharpsim.xpo_sharpening` on Example J.1 and records, per iteration, the
:math:`J_\beta` gap, the KL to the tilted model, the sharpening error and the queries, with the rate of
:func:`sharpsim.theory.xpo_regret_bound`. See :ref:`theory-rlhf`.

The script runs the registered experiment ``xpo_dynamics`` on its *quick* grid (the one
``sharpsim reproduce`` uses) and draws its paper-style figure; ``sharpsim run xpo_dynamics --full``
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

experiment = experiments.get("xpo_dynamics")
print(experiment.description)
print("quick grid:", dict(experiment.quick_grid), "| seeds:", experiment.quick_seeds)
records = experiments.run("xpo_dynamics", quick=True, progress=False)
print(len(records), "records")

# %%
# Look at the numbers
# -------------------
# The mean over seeds of the measured columns, for each t.
print(experiments.mean_table(records, by=("t",), values=("gap", "beta_kl", "error", "queries")))

# %%
# The figure
# ----------
# XPO per-iteration J_beta gap, KL to pi*_beta, sharpening error and queries, Thm J.1 bound.
#
# The gap equals β·KL (the identity of Thm J.1's proof) and falls with t.
out = plotting.figure("xpo_dynamics", records, Path("sharpsim_figures"))
print("written:", *[p.name for p in out])
