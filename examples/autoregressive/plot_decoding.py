r"""
Greedy, beam, mode, best-of-N and power sampling (Prop. 3.1, E.1)
=================================================================

Which decoders find the most likely sequence, and at what cost.

Proposition 3.1: token-level heuristics (greedy, beam search) need not return the sequence-level
mode; Proposition E.1: finding it is NP-hard in general (MAX-CUT). The experiment compares, on
random Markov worlds and a MAX-CUT instance, how often each method returns the mode: greedy,
beam, the exact mode (Viterbi), best-of-N, exact and MCMC power sampling, and the SFT-amortized
model. See :ref:`theory-autoregressive`.

The script runs the registered experiment ``decoding`` on its *quick* grid (the one
``sharpsim reproduce`` uses) and draws its paper-style figure; ``sharpsim run decoding --full``
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

experiment = experiments.get("decoding")
print(experiment.description)
print("quick grid:", dict(experiment.quick_grid), "| seeds:", experiment.quick_seeds)
records = experiments.run("decoding", quick=True, progress=False)
print(len(records), "records")

# %%
# Look at the numbers
# -------------------
# The mean over seeds of the measured columns, for each world and method.
print(experiments.mean_table(records, by=("world", "method"), values=("hit_exact", "hit_mc")))

# %%
# The figure
# ----------
# Greedy, beam, exact mode, best-of-N, power sampling (exact, MCMC) and the SFT-amortized model on Markov worlds and MAX-CUT.
#
# Viterbi always hits; greedy and beam miss on some worlds; best-of-N and power sampling trade queries for hits.
out = plotting.figure("decoding", records, Path("sharpsim_figures"))
print("written:", *[p.name for p in out])
