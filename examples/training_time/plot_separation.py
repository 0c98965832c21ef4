r"""
XPO beats SFT exponentially (Example J.1)
=========================================

The example where XPO needs exponentially fewer queries than SFT-sharpening.

Example J.1: on a linear-softmax class over a packing of the sphere, coverage is
:math:`C_{\mathrm{cov}} = e^{\Omega(d)}` while the margin stays :math:`\Omega(1)`. SFT-sharpening needs about
:math:`C_{\mathrm{cov}}\log(2/\delta)` responses; XPO (and, with the exact self-reward, DPO) needs about
:math:`d`. The experiment counts the queries each needs to reach ε as d grows. See
:ref:`theory-rlhf`.

The script runs the registered experiment ``separation`` on its *quick* grid (the one
``sharpsim reproduce`` uses) and draws its paper-style figure; ``sharpsim run separation --full``
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

experiment = experiments.get("separation")
print(experiment.description)
print("quick grid:", dict(experiment.quick_grid), "| seeds:", experiment.quick_seeds)
records = experiments.run("separation", quick=True, progress=False)
print(len(records), "records")

# %%
# Look at the numbers
# -------------------
# The mean over seeds of the measured columns, for each d and method.
print(experiments.mean_table(records, by=("d", "method"), values=("queries", "C_cov")))

# %%
# The figure
# ----------
# Example J.1: queries to reach eps for SFT, DPO and XPO as d grows.
#
# SFT's query count grows with C_cov (exponentially in d); DPO's and XPO's stay polynomial.
out = plotting.figure("separation", records, Path("sharpsim_figures"))
print("written:", *[p.name for p in out])
