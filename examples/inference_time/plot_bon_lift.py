r"""
Best-of-N lifts accuracy over greedy (Figs. 1a, 2, 3)
=====================================================

How much more often best-of-N is right than greedy decoding, for three self-rewards.

The paper's first experiment (App. A, Figs. 1a/2/3): on real LMs, picking the most likely of
N sampled answers (best-of-N with the log-likelihood self-reward) is more often correct than
greedy decoding, and other self-rewards (length-normalised likelihood, majority vote) do too;
pass@N, which peeks at the true answer, is the skyline. The simulator's analogue is a
*hidden-knowledge* task: a base model whose correct answers carry extra likelihood
(``bonus``), so self-reward carries signal about correctness. The accuracy of best-of-N is
computed from its exact law (:func:`sharpsim.best_of_n_law`) and checked by sampling.
See :ref:`theory-inference`.

The script runs the registered experiment ``bon_lift`` on its *quick* grid (the one
``sharpsim reproduce`` uses) and draws its paper-style figure; ``sharpsim run bon_lift --full``
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

experiment = experiments.get("bon_lift")
print(experiment.description)
print("quick grid:", dict(experiment.quick_grid), "| seeds:", experiment.quick_seeds)
records = experiments.run("bon_lift", quick=True, progress=False)
print(len(records), "records")

# %%
# Look at the numbers
# -------------------
# The mean over seeds of the measured columns, for each reward and N.
print(
    experiments.mean_table(
        records,
        by=("reward", "N"),
        values=("accuracy_exact", "accuracy_mc", "greedy_accuracy", "pass_at_n"),
    )
)

# %%
# The figure
# ----------
# Accuracy lift of best-of-N over greedy vs N for three self-rewards, pass@N skyline (Figs. 1a/2/3 analogue).
#
# The lift of best-of-N over greedy grows with N for every self-reward, and stays below pass@N.
out = plotting.figure("bon_lift", records, Path("sharpsim_figures"))
print("written:", *[p.name for p in out])
