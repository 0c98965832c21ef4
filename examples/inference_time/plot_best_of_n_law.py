r"""
The exact law of best-of-N
==========================

The exact law of the best-of-N pick, checked against sampled picks.

Best-of-N draws :math:`y_1,\dots,y_N \sim \pi_{\mathrm{base}}(\cdot\mid x)` and returns the one with the
largest self-reward. With distinct rewards its law is exact and cheap (SPEC §6): ordering the
responses by reward, :math:`\pi^{\mathrm{BoN}}_N(y\mid x) = G(y)^N - (G(y) - \pi_{\mathrm{base}}(y\mid x))^N`
with :math:`G(y) = \sum_{y': r(y') \le r(y)} \pi_{\mathrm{base}}(y'\mid x)`. :func:`sharpsim.best_of_n_law`
computes it (ties by one documented rule); :func:`sharpsim.best_of_n` samples it through the
counted sample-and-evaluate oracle. This script compares the two and shows the law sharpening as N
grows. See :ref:`theory-inference`.
"""

# %%
# One prompt, twelve responses
# ----------------------------
import matplotlib.pyplot as plt
import numpy as np

import sharpsim as ss

rng = np.random.default_rng(3)
base = ss.TabularPolicy(rng.dirichlet(np.full(12, 0.8), size=1))
order = np.argsort(-base.probs[0])  # responses from most to least likely

# %%
# Exact law against 20 000 sampled picks
# --------------------------------------
# The sampled frequencies fall inside the binomial bands of the exact law.
N, draws = 4, 20_000
law = ss.best_of_n_law(base, N).probs[0]
picks = ss.best_of_n(base, np.zeros(draws, dtype=int), N, rng=1).responses
freq = np.bincount(picks, minlength=12) / draws
band = 3 * np.sqrt(law * (1 - law) / draws)
print(
    "max |freq - law| / (3 sd):",
    float(np.max(np.abs(freq - law) / np.maximum(band, 1e-12))).__round__(3),
)

fig, ax1 = plt.subplots(figsize=(6, 3.6))
pos = np.arange(12)
ax1.bar(pos - 0.2, base.probs[0][order], 0.4, label=r"$\pi_{\rm base}$")
ax1.bar(pos + 0.2, law[order], 0.4, label=f"exact BoN law, N={N}")
ax1.errorbar(pos + 0.2, freq[order], yerr=band[order], fmt="k.", label="sampled ± 3 sd")
ax1.set(xlabel="response (by decreasing likelihood)", ylabel="probability", title="best-of-N law")
ax1.legend()
fig.tight_layout()

# %%
# The mode's mass rises with N
# ----------------------------
# Prop. C.1: the pick misses the mode with probability exactly :math:`(1-\pi(y^\star))^N`.
Ns = np.arange(1, 65)
mode_mass = [float(ss.mode_mass(ss.best_of_n_law(base, n))[0]) for n in Ns]
fig, ax2 = plt.subplots(figsize=(6, 3.6))
ax2.plot(Ns, mode_mass, label="exact")
ax2.plot(Ns, 1 - (1 - base.probs[0].max()) ** Ns, "k--", label=r"$1-(1-\pi(y^\star))^N$")
ax2.set(xlabel="N", ylabel="P[BoN returns the mode]", title="concentration on the mode")
ax2.legend()
fig.tight_layout()
plt.show()
