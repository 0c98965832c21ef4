"""Tuned regret against the √(Cε²) rate
====================================

With ``N`` tuned, best-of-N's regret bound is ``ε(√C_∞ + √N) + (1 − 1/C_∞)^N``;
ITP with ``β = ε/√C_1`` has regret at most ``2ε√C_1`` plus a term that vanishes
in ``N``; and no method that sees only ``r̂`` beats ``ε√C/2`` on a two-point
pair. Here both methods, tuned, on a world whose best response has mass
``~1/C`` and is under-rated by the proxy, laid beside ``√(C_1 ε²)``.
"""

# %%
import matplotlib.pyplot as plt

from sharpsim import experiments

records = experiments.run("imperfect_rates", quick=True)

# %%
# Left: against ``ε`` at the middle coverage; right: against ``C_1`` at the middle ``ε``.
fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
covs, epss = sorted({r["coverage"] for r in records}), sorted({r["eps"] for r in records})
for ax, fixed, key in (
    (axes[0], ("coverage", covs[1]), "eps_realised"),
    (axes[1], ("eps", epss[1]), "c_1"),
):
    rows = sorted((r for r in records if r[fixed[0]] == fixed[1]), key=lambda r: r[key])
    x = [r[key] for r in rows]
    ax.loglog(x, [r["bon_tuned"] for r in rows], "o", label="best-of-N, best N")
    ax.loglog(x, [r["itp_tuned"] for r in rows], "s", label="ITP, beta = eps/sqrt(C1)")
    ax.loglog(x, [r["rate"] for r in rows], "-k", label="sqrt(C1 eps^2)")
    ax.set_xlabel(key)
    ax.set_ylabel("regret under r*")
    ax.set_title(f"{fixed[0]} = {fixed[1]:g}")
axes[1].legend(fontsize=8)
plt.show()
