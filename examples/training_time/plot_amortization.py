r"""
Amortization: the SFT-sharpened model vs best-of-N (Table 1)
============================================================

Training on best-of-N picks: how much of inference-time sharpening a new model keeps.

Table 1 and Figs. 7–9 of the paper: after SFT-sharpening, greedy decoding of the *trained* model
is more accurate and more likely than greedy decoding of the base model, larger N helps, and
training does not fully reach inference-time best-of-N. The simulator trains on best-of-N picks of
the hidden-knowledge task and compares. See :ref:`theory-sft`.

The script runs the registered experiment ``amortization`` on its *quick* grid (the one
``sharpsim reproduce`` uses) and draws its paper-style figure; ``sharpsim run amortization --full``
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

experiment = experiments.get("amortization")
print(experiment.description)
print("quick grid:", dict(experiment.quick_grid), "| seeds:", experiment.quick_seeds)
records = experiments.run("amortization", quick=True, progress=False)
print(len(records), "records")

# %%
# Look at the numbers
# -------------------
# The mean over seeds of the measured columns, for each N.
print(
    experiments.mean_table(
        records, by=("N",), values=("accuracy_sft", "accuracy_greedy", "accuracy_bon", "loglik_sft")
    )
)

# %%
# The figure
# ----------
# Amortization: accuracy and log-likelihood lift of the SFT-sharpened model over greedy vs N and n, against inference-time BoN (Table 1 / Figs. 7-9 analogue).
#
# Accuracy of the SFT model rises with N toward best-of-N's.
out = plotting.figure("amortization", records, Path("sharpsim_figures"))
print("written:", *[p.name for p in out])
