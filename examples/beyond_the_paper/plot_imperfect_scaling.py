"""Best-of-N over-optimises an imperfect reward; χ²-pessimism does not
===================================================================

Best-of-N ranks ``N`` draws of ``π_ref`` by a proxy ``r̂`` whose error is
``ε² = E_{π_ref}(r̂ − r*)²``. Its output can reach responses of mass ``~1/N``,
where an error budget ``ε²`` can hide an error of size ``ε√N``: the true regret
first falls, then rises (reward hacking), and the best ``N`` moves left as
``ε`` grows. InferenceTimePessimism (ITP) targets the χ²-regularised law
``π_β = π_ref·max(0, (r̂ − λ)/β)`` by rejection sampling; its regret is
monotone in ``N``. Everything below is exact (Huang, Block, Liu, Jiang,
Krishnamurthy, Foster, ICML 2025).
"""

# %%
# The experiment: one prompt, 2000 responses with Zipf masses, an adversarial
# proxy that spends its error budget on the 1000 rarest responses.
import matplotlib.pyplot as plt
import numpy as np

from sharpsim import experiments

records = experiments.run("imperfect_scaling", quick=True)

# %%
# Regret under the true reward against ``N`` (log scale), best-of-N solid,
# ITP with ``β = ε/√C_1`` dashed; triangles mark best-of-N's best ``N``.
fig, ax = plt.subplots(figsize=(7, 4))
for i, eps in enumerate(sorted({r["eps"] for r in records})):
    for method, style in (("bon", "-"), ("itp", "--")):
        rows = sorted(
            (r for r in records if r["eps"] == eps and r["method"] == method), key=lambda r: r["n"]
        )
        n = np.array([r["n"] for r in rows])
        reg = np.array([r["regret"] for r in rows])
        ax.plot(
            n,
            reg,
            style,
            color=f"C{i}",
            label=f"{'best-of-N' if method == 'bon' else 'ITP'}, eps={rows[0]['eps_realised']:.2g}",
        )
        if method == "bon":
            ax.plot(n[reg.argmin()], reg.min(), "v", color=f"C{i}")
ax.set_xscale("log")
ax.set_xlabel("N")
ax.set_ylabel("regret under r*")
ax.set_title("Best-of-N's U-shape vs ITP's monotone curve")
ax.legend(fontsize=7, ncol=2)
plt.show()
