"""InferenceTimePessimism over (β, N)
==================================

The exact regret of ITP for every pair (β, N): each row (fixed β) is
monotone in ``N`` (scaling-monotonic), and the tuned ``β* = ε/√C_1`` sits in
the valley once ``N`` is large enough for the rejection sampler to accept.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from sharpsim import experiments

records = experiments.run("itp_heatmap", quick=True)
betas = np.array(sorted({r["beta"] for r in records}))
ns = np.array(sorted({r["n"] for r in records}))
grid = np.array(
    [
        [next(r["regret"] for r in records if r["beta"] == b and r["n"] == n) for n in ns]
        for b in betas
    ]
)

# %%
# The heatmap, with the tuned β marked.
fig, ax = plt.subplots(figsize=(6, 4))
mesh = ax.pcolormesh(ns, betas, grid, shading="nearest")
fig.colorbar(mesh, ax=ax, label="regret under r*")
ax.axhline(records[0]["beta_star"], color="white", ls="--", label="beta* = eps/sqrt(C1)")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("N")
ax.set_ylabel("beta")
ax.legend(loc="lower left")
plt.show()
