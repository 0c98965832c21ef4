r"""
The sample size to sharpen vs C_cov and 1/ε (Thms 3.1, 4.1)
===========================================================

The smallest number of queries that sharpens, against coverage and accuracy.

Theorems 3.1 and 4.1 together: on the worst-case family, the number of queries
:math:`m = nN` that SFT-sharpening needs grows linearly in :math:`C_{\mathrm{cov}}` and like
:math:`1/\varepsilon^2`, and no algorithm can do better in :math:`C_{\mathrm{cov}}`. The experiment searches the
exact smallest m reaching (ε, δ) and fits log-log slopes (theory: 1 and 2). See
:ref:`theory-sft`.

The script runs the registered experiment ``sample_size`` on its *quick* grid (the one
``sharpsim reproduce`` uses) and draws its paper-style figure; ``sharpsim run sample_size --full``
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

experiment = experiments.get("sample_size")
print(experiment.description)
print("quick grid:", dict(experiment.quick_grid), "| seeds:", experiment.quick_seeds)
records = experiments.run("sample_size", quick=True, progress=False)
print(len(records), "records")

# %%
# Look at the numbers
# -------------------
# The mean over seeds of the measured columns, for each sweep and k.
print(experiments.mean_table(records, by=("sweep", "k"), values=("C_cov", "epsilon", "m")))

# %%
# The figure
# ----------
# Exact sample size to (eps, delta)-sharpen vs C_cov and vs 1/eps on the lower-bound family, fitted slopes beside theory (1 and 2).
#
# The fitted slopes match the theory's 1 (vs C_cov) and 2 (vs 1/ε).
out = plotting.figure("sample_size", records, Path("sharpsim_figures"))
print("written:", *[p.name for p in out])
