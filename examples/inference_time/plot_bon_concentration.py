r"""
Best-of-N concentrates on the mode (Prop. C.1)
==============================================

How fast best-of-N finds the mode, and why token temperature is not power sampling.

Proposition C.1: best-of-N misses the mode with probability exactly
:math:`(1-\pi_{\mathrm{base}}(y^\star\mid x))^N`, so :math:`N \ge \log(1/\rho)/\pi_{\mathrm{base}}(y^\star\mid x)`
suffices for confidence :math:`1-\rho`. The left panel draws P[best-of-N returns the mode] against N
for three mode masses (exact law, Monte Carlo, the bound); the right panel shows that token-level
temperature :math:`1/\alpha` is *not* the sequence-level power law
:math:`\pi^\alpha/Z` (total variation between them). See :ref:`theory-inference`.

The script runs the registered experiment ``bon_concentration`` on its *quick* grid (the one
``sharpsim reproduce`` uses) and draws its paper-style figure; ``sharpsim run bon_concentration --full``
runs the paper-scale grid.
"""

# %%
# Run the sweep
# -------------
# ``experiments.run`` evaluates each cell of the grid for each seed and returns tidy
# records, one dict per measured point; the same seed gives the same records whatever
# executor runs them.
from collections import defaultdict
from pathlib import Path

import numpy as np

from sharpsim import experiments, plotting

experiment = experiments.get("bon_concentration")
print(experiment.description)
print("quick grid:", dict(experiment.quick_grid), "| seeds:", experiment.quick_seeds)
records = experiments.run("bon_concentration", quick=True, progress=False)
print(len(records), "records")

# %%
# Look at the numbers
# -------------------
# The mean over seeds of the measured columns, for each panel and world.
keys, values = ("panel", "world"), ("exact", "mc", "bound")
table = defaultdict(list)
for record in records:
    if all(v in record for v in values):
        table[tuple(record[k] for k in keys)].append([record[v] for v in values])
print("  ".join(f"{k:>14s}" for k in keys + values))
for key, rows in sorted(table.items(), key=lambda kv: tuple(map(str, kv[0]))):
    means = np.mean(np.asarray(rows, dtype=float), axis=0)
    print("  ".join(f"{str(k):>14s}" for k in key) + "  " + "  ".join(f"{m:14.4g}" for m in means))

# %%
# The figure
# ----------
# P[BoN returns the mode] vs N with Prop. C.1's bound; token temperature vs sequence-level power law (TV).
#
# Exact, sampled and bound agree where the bound is tight; the power-law panel's TV is non-zero.
out = plotting.figure("bon_concentration", records, Path("sharpsim_figures"))
print("written:", *[p.name for p in out])
