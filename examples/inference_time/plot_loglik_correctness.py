r"""
Correct answers are more likely (Figs. 1c, 6)
=============================================

Why self-reward works: correct responses are the more likely ones.

Figs. 1c/6 of the paper: the sequence log-likelihood of correct responses sits above that of
incorrect ones — the reason the self-reward :math:`\log\pi_{\mathrm{base}}` can select correct
answers at all. The experiment bins :math:`\log\pi_{\mathrm{base}}(y\mid x)` exactly (``source = exact``)
and from samples, split by correctness. See :ref:`theory-setting`.

The script runs the registered experiment ``loglik_correctness`` on its *quick* grid (the one
``sharpsim reproduce`` uses) and draws its paper-style figure; ``sharpsim run loglik_correctness --full``
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

experiment = experiments.get("loglik_correctness")
print(experiment.description)
print("quick grid:", dict(experiment.quick_grid), "| seeds:", experiment.quick_seeds)
records = experiments.run("loglik_correctness", quick=True, progress=False)
print(len(records), "records")

# %%
# Look at the numbers
# -------------------
# The mean over seeds of the measured columns, for each source and correct.
print(experiments.mean_table(records, by=("source", "correct"), values=("mean",)))

# %%
# The figure
# ----------
# Distribution of log pi_base(y|x) given correct / incorrect, exact and sampled (Figs. 1c/6 analogue).
#
# Correct responses have the higher mean log-likelihood, exactly and in the samples.
out = plotting.figure("loglik_correctness", records, Path("sharpsim_figures"))
print("written:", *[p.name for p in out])
