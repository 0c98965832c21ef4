r"""
SFT-sharpening error vs n (Thm 4.1')
====================================

The sharpening error of SFT on best-of-N picks, against prompts and candidates.

Theorem 4.1′: SFT-sharpening — maximum likelihood on best-of-N picks — reaches sharpening error
:math:`\lesssim \frac{1}{\delta}\frac{\log(|\Pi|/\rho)}{n} + \frac{C_{\mathrm{cov}}}{N^\star}`. The experiment
runs :func:`sharpsim.sft_sharpening` on a tabular class for several N and prompt counts n,
beside the *exact* expected error (:func:`sharpsim.expected_sft_error`) and the bound
(:func:`sharpsim.theory.sft_error_bound`). See :ref:`theory-sft`.

The script runs the registered experiment ``sft_error`` on its *quick* grid (the one
``sharpsim reproduce`` uses) and draws its paper-style figure; ``sharpsim run sft_error --full``
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

experiment = experiments.get("sft_error")
print(experiment.description)
print("quick grid:", dict(experiment.quick_grid), "| seeds:", experiment.quick_seeds)
records = experiments.run("sft_error", quick=True, progress=False)
print(len(records), "records")

# %%
# Look at the numbers
# -------------------
# The mean over seeds of the measured columns, for each N and n.
print(experiments.mean_table(records, by=("N", "n"), values=("error_mc", "error_exact", "bound")))

# %%
# The figure
# ----------
# SFT-sharpening error vs n for several N: Monte Carlo, exact expected error, Thm 4.1' bound.
#
# The Monte Carlo error follows the exact curve; larger N lowers the plateau the bound predicts.
out = plotting.figure("sft_error", records, Path("sharpsim_figures"))
print("written:", *[p.name for p in out])
