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
from collections import defaultdict
from pathlib import Path

import numpy as np

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
keys, values = ("sweep", "k"), ("C_cov", "epsilon", "m")
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
# Exact sample size to (eps, delta)-sharpen vs C_cov and vs 1/eps on the lower-bound family, fitted slopes beside theory (1 and 2).
#
# The fitted slopes match the theory's 1 (vs C_cov) and 2 (vs 1/ε).
out = plotting.figure("sample_size", records, Path("sharpsim_figures"))
print("written:", *[p.name for p in out])
