r"""
The best-of-N pick's log-likelihood rises with N (Fig. 4)
=========================================================

How the likelihood of the best-of-N pick grows with the number of candidates.

Fig. 4 of the paper: the average log-likelihood of the best-of-N response rises with N —
best-of-N *sharpens* the base model. Here the mean of :math:`\log\pi_{\mathrm{base}}(y\mid x)`
under the exact best-of-N law (:func:`sharpsim.best_of_n_law`) is drawn beside its sampled
estimate, on the hidden-knowledge task of ``bon_lift``. See :ref:`theory-inference`.

The script runs the registered experiment ``bon_loglik`` on its *quick* grid (the one
``sharpsim reproduce`` uses) and draws its paper-style figure; ``sharpsim run bon_loglik --full``
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

experiment = experiments.get("bon_loglik")
print(experiment.description)
print("quick grid:", dict(experiment.quick_grid), "| seeds:", experiment.quick_seeds)
records = experiments.run("bon_loglik", quick=True, progress=False)
print(len(records), "records")

# %%
# Look at the numbers
# -------------------
# The mean over seeds of the measured columns, for each reward and N.
print(experiments.mean_table(records, by=("reward", "N"), values=("loglik_exact", "loglik_mc")))

# %%
# The figure
# ----------
# Mean log-likelihood of the best-of-N pick vs N, exact law and sampled (Fig. 4).
#
# The exact curve and the sampled points agree; both rise toward the mode's log-likelihood.
out = plotting.figure("bon_loglik", records, Path("sharpsim_figures"))
print("written:", *[p.name for p in out])
