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
from collections import defaultdict
from pathlib import Path

import numpy as np

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
keys, values = ("d", "method"), ("queries", "C_cov")
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
# Example J.1: queries to reach eps for SFT, DPO and XPO as d grows.
#
# SFT's query count grows with C_cov (exponentially in d); DPO's and XPO's stay polynomial.
out = plotting.figure("separation", records, Path("sharpsim_figures"))
print("written:", *[p.name for p in out])
